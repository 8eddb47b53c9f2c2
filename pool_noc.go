//go:build !cgo || !linux || purego

package spillring

// newPoolC: this build has no C backend (NewPool's validation refuses
// BackendC here; Auto never picks it).
func newPoolC[T, A any](*WorkerPool[T, A], poolStart) error { return ErrBackendUnavailable }
