//go:build !cgo || !linux || purego

package spillring

// newSpillC: this build has no C backend (NewSpillRing's validation already
// refuses BackendC here; Auto never picks it).
func newSpillC[T any](*SpillRing[T], int) error { return ErrBackendUnavailable }

// freeC: no C block in this build (Close drops the Go slots).
func (*SpillRing[T]) freeC() {}
