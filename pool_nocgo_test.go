//go:build !cgo || !linux || purego

package spillring

import "testing"

// newCSeqHarness: no C work functions in this build (poolCases has none).
func newCSeqHarness(t *testing.T, _, _, _ int, _, _ Spout[uint64]) poolHarness {
	t.Fatal("no C backend in this build")
	return poolHarness{}
}

// newCOrdered: no C work functions in this build (ordCases has none).
func newCOrdered(t *testing.T, _, _, _ int, _ Spout[uint64]) ordHarness {
	t.Fatal("no C backend in this build")
	return ordHarness{}
}
