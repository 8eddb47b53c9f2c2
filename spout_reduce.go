package spillring

var _ Spout[int] = (*ReduceSpout[int, int])(nil)

// ReduceSpout groups items by n and sends one value per group, computed by
// a function, to an inner Spout[R]: a sum, a summary, an encoded block.
//
// The function sees each group as a slice it must not keep or modify: a
// group that lies whole in one SendBatch call is a view of the caller's
// slice, and other groups are built in a buffer the spout reuses.
//
// When the inner spout fails, the spout keeps the values it did not take
// and offers them first on the next Send, SendBatch or Flush; until they
// are taken, those calls take nothing new and return the inner error.
type ReduceSpout[T, R any] struct {
	n     int
	fn    func([]T) R
	inner Spout[R]
	cur   []T // the partial group, reused
	ready []R // values the inner spout has not taken yet, reused
}

// Reduce returns a spout that sends fn of every n items to inner. n must be
// positive, fn and inner not nil.
func Reduce[T, R any](n int, fn func([]T) R, inner Spout[R]) (*ReduceSpout[T, R], error) {
	if n <= 0 {
		return nil, invalidSpout("Reduce", "group size %d, want > 0", n)
	}
	if fn == nil {
		return nil, invalidSpout("Reduce", "nil reduce function")
	}
	if inner == nil {
		return nil, invalidSpout("Reduce", "nil inner spout")
	}
	return &ReduceSpout[T, R]{n: n, fn: fn, inner: inner}, nil
}

// Send adds v to the current group and sends the group's value once the
// group is full.
func (s *ReduceSpout[T, R]) Send(v T) error {
	if len(s.ready) > 0 {
		if err := s.emit(); err != nil {
			return err
		}
	}
	if s.cur == nil {
		s.cur = make([]T, 0, s.n)
	}
	s.cur = append(s.cur, v)
	if len(s.cur) == s.n {
		s.reduceCur()
		s.emit() // v is taken either way; a failure shows on the next call
	}
	return nil
}

// SendBatch takes vs, reduces every complete group, and sends the values in
// one SendBatch call to the inner spout. The rest of vs starts the next
// group.
func (s *ReduceSpout[T, R]) SendBatch(vs []T) (int, error) {
	if len(s.ready) > 0 {
		if err := s.emit(); err != nil {
			return 0, err
		}
	}
	taken := 0
	if len(s.cur) > 0 {
		taken = min(s.n-len(s.cur), len(vs))
		s.cur = append(s.cur, vs[:taken]...)
		if len(s.cur) < s.n {
			return taken, nil
		}
		s.reduceCur()
	}
	for ; len(vs)-taken >= s.n; taken += s.n {
		// Whole groups are reduced in place: no copy.
		s.ready = append(s.ready, s.fn(vs[taken:taken+s.n:taken+s.n]))
	}
	if taken < len(vs) {
		if s.cur == nil {
			s.cur = make([]T, 0, s.n)
		}
		s.cur = append(s.cur, vs[taken:]...)
	}
	if len(s.ready) > 0 {
		s.emit() // vs is taken either way; a failure shows on the next call
	}
	return len(vs), nil
}

// Flush sends the values the inner spout has not taken yet and the value of
// the current partial group, then flushes the inner spout.
func (s *ReduceSpout[T, R]) Flush() error {
	if len(s.cur) > 0 {
		s.reduceCur()
	}
	if len(s.ready) > 0 {
		if err := s.emit(); err != nil {
			return err
		}
	}
	return s.inner.Flush()
}

// Pending returns how many items wait in the current partial group and how
// many reduced values wait for the inner spout.
func (s *ReduceSpout[T, R]) Pending() (items, values int) {
	return len(s.cur), len(s.ready)
}

func (s *ReduceSpout[T, R]) reduceCur() {
	s.ready = append(s.ready, s.fn(s.cur))
	clear(s.cur) // drop references the reused buffer would keep alive
	s.cur = s.cur[:0]
}

func (s *ReduceSpout[T, R]) emit() error {
	var err error
	s.ready, err = emitKeep(s.inner, s.ready)
	return err
}
