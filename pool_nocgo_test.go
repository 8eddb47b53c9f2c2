//go:build !cgo || !linux || purego

package spillring

import "testing"

// newCSeqHarness: no C work functions in this build (poolCases has none).
func newCSeqHarness(t *testing.T, _, _, _ int, _, _ Spout[uint64]) poolHarness {
	t.Fatal("no C backend in this build")
	return poolHarness{}
}
