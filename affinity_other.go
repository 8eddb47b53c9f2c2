//go:build !linux

package spillring

import "errors"

// affinityCPUs: this system has no thread affinity that Go can set.
func affinityCPUs() ([]int, bool) { return nil, false }

// pinThread is never called here (poolCPUs refuses CPUs).
func pinThread(int) error { return errors.New("spillring: no thread affinity on this system") }

// isMainThread is never called here: workers are not pinned, so not locked.
func isMainThread() bool { return false }
