package spillring

import "sync/atomic"

var (
	_ Spout[int] = (*DropSpout[int])(nil)
	_ Spout[int] = (*CollectSpout[int])(nil)
	_ Spout[int] = (*FuncSpout[int])(nil)
)

// DropSpout discards every item and counts them. Its methods may be called
// from any number of goroutines at once.
type DropSpout[T any] struct {
	dropped atomic.Uint64
}

// Drop returns a spout that takes and discards every item.
func Drop[T any]() *DropSpout[T] { return new(DropSpout[T]) }

// Send discards v.
func (s *DropSpout[T]) Send(T) error {
	s.dropped.Add(1)
	return nil
}

// SendBatch discards vs and returns len(vs).
func (s *DropSpout[T]) SendBatch(vs []T) (int, error) {
	// One atomic add per batch, not per item: the batch path stays cheap.
	s.dropped.Add(uint64(len(vs)))
	return len(vs), nil
}

// Flush does nothing.
func (s *DropSpout[T]) Flush() error { return nil }

// Dropped returns how many items the spout has discarded. It may be called
// from any goroutine while others send.
func (s *DropSpout[T]) Dropped() uint64 { return s.dropped.Load() }

// CollectSpout appends every item to a slice, in order: a sink for tests and
// for gathering results. It copies the items, never the caller's slice.
type CollectSpout[T any] struct {
	items []T
}

// Collect returns an empty collecting spout.
func Collect[T any]() *CollectSpout[T] { return new(CollectSpout[T]) }

// Send appends v.
func (s *CollectSpout[T]) Send(v T) error {
	s.items = append(s.items, v)
	return nil
}

// SendBatch appends the items of vs and returns len(vs).
func (s *CollectSpout[T]) SendBatch(vs []T) (int, error) {
	s.items = append(s.items, vs...)
	return len(vs), nil
}

// Flush does nothing.
func (s *CollectSpout[T]) Flush() error { return nil }

// Items returns the items collected so far. The slice is the spout's own: it
// is valid until the next Send, SendBatch or Reset, and must not be
// modified. Take hands over the items instead.
func (s *CollectSpout[T]) Items() []T { return s.items }

// Len returns how many items the spout holds.
func (s *CollectSpout[T]) Len() int { return len(s.items) }

// Take returns the items collected so far and empties the spout. The slice
// is the caller's: the spout starts a new one.
func (s *CollectSpout[T]) Take() []T {
	items := s.items
	s.items = nil
	return items
}

// Reset empties the spout and keeps its storage for the next items, so a
// slice from Items is overwritten by later sends.
func (s *CollectSpout[T]) Reset() {
	clear(s.items) // drop references the storage would otherwise keep alive
	s.items = s.items[:0]
}

// FuncSpout calls a function for every item.
type FuncSpout[T any] struct {
	send  func(T) error
	flush func() error
}

// Func returns a spout that hands each item to send, and whose Flush calls
// flush; a nil flush makes Flush a no-op. The item is taken when send
// returns nil and stays the caller's when send returns an error. send must
// not be nil.
func Func[T any](send func(T) error, flush func() error) (*FuncSpout[T], error) {
	if send == nil {
		return nil, invalidSpout("Func", "nil send function")
	}
	return &FuncSpout[T]{send: send, flush: flush}, nil
}

// Send calls the send function with v.
func (s *FuncSpout[T]) Send(v T) error { return s.send(v) }

// SendBatch calls the send function for each item of vs in order, stops at
// the first error, and returns how many items the function took.
func (s *FuncSpout[T]) SendBatch(vs []T) (int, error) {
	for i, v := range vs {
		if err := s.send(v); err != nil {
			return i, err
		}
	}
	return len(vs), nil
}

// Flush calls the flush function, if there is one.
func (s *FuncSpout[T]) Flush() error {
	if s.flush == nil {
		return nil
	}
	return s.flush()
}
