//go:build !cgo || !linux || purego

package spillring

// cBackendAvailable: this build has no C backend (no cgo, not Linux, or the
// purego tag); Auto always picks the Go backend.
const cBackendAvailable = false

func newCRing[T any](Config) (*ring[T], error) { return nil, ErrBackendUnavailable }

// reclaim does nothing: without the C backend every ring is Go memory, which
// the GC sees and frees once the handles are unreachable (see the C build's
// reclaim).
func (*ring[T]) reclaim() {}
