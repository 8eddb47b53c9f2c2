package spillring

import "sync"

var _ Spout[int] = (*LockedSpout[int])(nil)

// LockedSpout guards an inner spout with a mutex, so any number of
// goroutines may use it at once. Each call holds the lock for its whole
// length, so a SendBatch reaches the inner spout whole, never interleaved
// with another goroutine's items. An unlock of one call synchronizes
// before the next call's lock, so the inner spout sees the writes its
// callers made before sending.
type LockedSpout[T any] struct {
	mu    sync.Mutex
	inner Spout[T]
}

// Locked returns a spout that serializes every call to inner. inner must
// not be nil, and must not be used other than through the returned spout.
func Locked[T any](inner Spout[T]) (*LockedSpout[T], error) {
	if inner == nil {
		return nil, invalidSpout("Locked", "nil inner spout")
	}
	return &LockedSpout[T]{inner: inner}, nil
}

// Send passes v to the inner spout under the lock.
func (s *LockedSpout[T]) Send(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Send(v)
}

// SendBatch passes vs to the inner spout under the lock.
func (s *LockedSpout[T]) SendBatch(vs []T) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.SendBatch(vs)
}

// Flush flushes the inner spout under the lock.
func (s *LockedSpout[T]) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Flush()
}
