//go:build !unix

package spillring

import "time"

// processCPU: no getrusage here, so the CPU checks are skipped.
func processCPU() (time.Duration, bool) { return 0, false }
