//go:build !cgo || !linux || purego

package spillring

// cBackendAvailable: this build has no C backend (no cgo, not Linux, or the
// purego tag); Auto always picks the Go backend.
const cBackendAvailable = false

func newCRing[T any](Config) (*ring[T], error) { return nil, ErrBackendUnavailable }
