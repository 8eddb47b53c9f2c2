//go:build !linux

package spillring

// gettid: no thread ids here (TestPoolCloseLeavesNothing skips without
// /proc/self/task).
func gettid() int { return 1 }
