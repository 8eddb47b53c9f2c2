package spillring

var _ Spout[int] = (*BatchSpout[int])(nil)

// BatchSpout groups items into batches of n for an inner Spout[[]T]. Only
// Flush emits a batch shorter than n. A SendBatch emits all the full
// batches it completes in one SendBatch call to the inner spout.
//
// Who owns an emitted batch depends on the constructor:
//   - Batch gives each batch to the inner spout to keep. Its storage is
//     allocated by the spout and never written again (the full batches of
//     one SendBatch call share one allocation, each capped at its own
//     length so an append cannot reach its neighbour).
//   - BatchBorrowed lends each batch for the duration of the inner call
//     only: the inner spout must copy what it keeps, as the Spout contract
//     already requires of vs itself. The full batches of a SendBatch are
//     then views of the caller's slice and nothing is copied: no allocation
//     per batch, which makes it the cheap path.
//
// When the inner spout fails, the spout keeps the batches it did not take
// (a borrowed batch is copied first) and offers them first on the next
// Send, SendBatch or Flush; until they are taken, those calls take nothing
// new and return the inner error. It holds at most the batches formed by
// one call plus one partial batch.
type BatchSpout[T any] struct {
	n      int
	inner  Spout[[]T]
	borrow bool
	cur    []T   // the partial batch, capacity n; reused only when borrowing
	ready  [][]T // batches the spout owns that the inner spout has not taken
	views  [][]T // the batches of one borrowed SendBatch, reused
}

// Batch returns a spout that groups items into batches of n for inner, and
// gives each batch to inner to keep. n must be positive and inner not nil.
func Batch[T any](n int, inner Spout[[]T]) (*BatchSpout[T], error) {
	return newBatch(n, inner, false)
}

// BatchBorrowed returns a spout that groups items into batches of n for
// inner, and lends each batch to inner only for the call that passes it:
// inner must not keep a batch, or any part of it, after that call returns.
// n must be positive and inner not nil.
func BatchBorrowed[T any](n int, inner Spout[[]T]) (*BatchSpout[T], error) {
	return newBatch(n, inner, true)
}

func newBatch[T any](n int, inner Spout[[]T], borrow bool) (*BatchSpout[T], error) {
	if n <= 0 {
		return nil, invalidSpout("Batch", "batch size %d, want > 0", n)
	}
	if inner == nil {
		return nil, invalidSpout("Batch", "nil inner spout")
	}
	return &BatchSpout[T]{n: n, inner: inner, borrow: borrow}, nil
}

// Send adds v to the current batch and emits the batch once it is full.
func (s *BatchSpout[T]) Send(v T) error {
	if len(s.ready) > 0 {
		if err := s.emitReady(); err != nil {
			return err
		}
	}
	if s.cur == nil {
		s.cur = make([]T, 0, s.n)
	}
	s.cur = append(s.cur, v)
	if len(s.cur) < s.n {
		return nil
	}
	if !s.borrow {
		s.ready = append(s.ready, s.cur)
		s.cur = nil
		s.emitReady() // v is taken either way; a failure shows on the next call
		return nil
	}
	if s.inner.Send(s.cur) != nil {
		s.ready = append(s.ready, s.cur) // the spout's own storage: keep it as it is
		s.cur = nil
		return nil // v is taken; the failure shows on the next call
	}
	clear(s.cur)
	s.cur = s.cur[:0]
	return nil
}

// SendBatch takes vs, completes the current batch, and emits every full
// batch in one SendBatch call to the inner spout. The rest of vs starts
// the next batch.
func (s *BatchSpout[T]) SendBatch(vs []T) (int, error) {
	if len(s.ready) > 0 {
		if err := s.emitReady(); err != nil {
			return 0, err
		}
	}
	if s.borrow {
		return s.sendBorrowed(vs), nil
	}
	taken := 0
	if len(s.cur) > 0 {
		taken = min(s.n-len(s.cur), len(vs))
		s.cur = append(s.cur, vs[:taken]...)
		if len(s.cur) < s.n {
			return taken, nil
		}
		s.ready = append(s.ready, s.cur)
		s.cur = nil
	}
	if full := (len(vs) - taken) / s.n; full > 0 {
		// One allocation for all the full batches of this call.
		buf := make([]T, full*s.n)
		copy(buf, vs[taken:])
		for i := 0; i < len(buf); i += s.n {
			s.ready = append(s.ready, buf[i:i+s.n:i+s.n])
		}
		taken += len(buf)
	}
	if taken < len(vs) {
		s.cur = append(make([]T, 0, s.n), vs[taken:]...)
	}
	if len(s.ready) > 0 {
		s.emitReady() // vs is taken either way; a failure shows on the next call
	}
	return len(vs), nil
}

// sendBorrowed is SendBatch for BatchBorrowed, with nothing held: the full
// batches are views of vs, and only what the inner spout refuses is copied.
func (s *BatchSpout[T]) sendBorrowed(vs []T) int {
	taken := 0
	views := s.views[:0]
	if len(s.cur) > 0 {
		taken = min(s.n-len(s.cur), len(vs))
		s.cur = append(s.cur, vs[:taken]...)
		if len(s.cur) < s.n {
			return taken
		}
		views = append(views, s.cur)
	}
	for ; len(vs)-taken >= s.n; taken += s.n {
		views = append(views, vs[taken:taken+s.n:taken+s.n])
	}
	rest := vs[taken:]
	if len(views) > 0 {
		n, _ := s.inner.SendBatch(views) // a failure shows on the next call
		curSent := len(s.cur) == s.n
		for i, b := range views[n:] {
			if curSent && n+i == 0 {
				s.ready = append(s.ready, b) // s.cur: already the spout's own
				s.cur = nil
				continue
			}
			s.ready = append(s.ready, append([]T(nil), b...))
		}
		if len(s.cur) == s.n { // taken by the inner spout: reuse it
			clear(s.cur)
			s.cur = s.cur[:0]
		}
		clear(views)
		s.views = views[:0]
	}
	if len(rest) > 0 {
		if s.cur == nil {
			s.cur = make([]T, 0, s.n)
		}
		s.cur = append(s.cur, rest...)
	}
	return len(vs)
}

// Flush emits the batches the inner spout has not taken yet and the
// current partial batch, then flushes the inner spout.
func (s *BatchSpout[T]) Flush() error {
	if len(s.cur) > 0 {
		s.ready = append(s.ready, s.cur)
		s.cur = nil
	}
	if len(s.ready) > 0 {
		if err := s.emitReady(); err != nil {
			return err
		}
	}
	return s.inner.Flush()
}

// Pending returns how many items the spout holds: the current partial
// batch plus full batches the inner spout has not taken yet.
func (s *BatchSpout[T]) Pending() int {
	n := len(s.cur)
	for _, b := range s.ready {
		n += len(b)
	}
	return n
}

// emitReady offers the held batches to the inner spout in one call and
// keeps those it does not take.
func (s *BatchSpout[T]) emitReady() error {
	var err error
	s.ready, err = emitKeep(s.inner, s.ready)
	return err
}

// emitKeep offers vs to inner in one SendBatch call and returns what inner
// did not take, moved to the front of vs's storage (which the caller owns
// and reuses), and inner's error.
func emitKeep[T any](inner Spout[T], vs []T) ([]T, error) {
	n, err := inner.SendBatch(vs)
	if n >= len(vs) {
		clear(vs) // release what the inner spout now owns
		return vs[:0], nil
	}
	if err == nil {
		err = errShortSend
	}
	m := copy(vs, vs[n:])
	clear(vs[m:])
	return vs[:m], err
}
