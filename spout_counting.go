package spillring

import "sync/atomic"

var _ Spout[int] = (*CountingSpout[int])(nil)

// SpoutStats are the counters of a CountingSpout. Refused counts the
// backpressure: items offered that the inner spout did not take and that
// went back to the caller.
type SpoutStats struct {
	Items   uint64 // items the inner spout took
	Refused uint64 // items offered but not taken
	Sends   uint64 // Send calls
	Batches uint64 // SendBatch calls
	Flushes uint64 // Flush calls
	Errors  uint64 // calls (Send, SendBatch, Flush) that returned an error
}

// CountingSpout passes everything to an inner spout and counts items,
// calls and errors. Its counters may be read from any goroutine while the
// spout is in use; the spout itself is as safe for concurrent use as its
// inner spout.
type CountingSpout[T any] struct {
	inner          Spout[T]
	items, refused atomic.Uint64
	sends, batches atomic.Uint64
	flushes, errs  atomic.Uint64
}

// Counting returns a spout that counts what passes through it to inner.
// inner must not be nil.
func Counting[T any](inner Spout[T]) (*CountingSpout[T], error) {
	if inner == nil {
		return nil, invalidSpout("Counting", "nil inner spout")
	}
	return &CountingSpout[T]{inner: inner}, nil
}

// Send passes v to the inner spout.
func (s *CountingSpout[T]) Send(v T) error {
	err := s.inner.Send(v)
	s.sends.Add(1)
	if err != nil {
		s.refused.Add(1)
		s.errs.Add(1)
		return err
	}
	s.items.Add(1)
	return nil
}

// SendBatch passes vs to the inner spout in one call.
func (s *CountingSpout[T]) SendBatch(vs []T) (int, error) {
	n, err := s.inner.SendBatch(vs)
	s.batches.Add(1)
	s.items.Add(uint64(n))
	if err != nil {
		s.refused.Add(uint64(len(vs) - n))
		s.errs.Add(1)
	}
	return n, err
}

// Flush flushes the inner spout.
func (s *CountingSpout[T]) Flush() error {
	err := s.inner.Flush()
	s.flushes.Add(1)
	if err != nil {
		s.errs.Add(1)
	}
	return err
}

// Stats returns the counters. Each counter is read atomically, but not all
// at one instant: while another goroutine sends, the fields may come from
// slightly different moments.
func (s *CountingSpout[T]) Stats() SpoutStats {
	return SpoutStats{
		Items:   s.items.Load(),
		Refused: s.refused.Load(),
		Sends:   s.sends.Load(),
		Batches: s.batches.Load(),
		Flushes: s.flushes.Load(),
		Errors:  s.errs.Load(),
	}
}
