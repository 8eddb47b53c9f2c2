package spillring

// A FanIn is a spout, so a pool's output composes with the spout
// combinators: pool -> FanIn -> Batch -> Framed(conn).
var _ Spout[int] = (*FanIn[int, struct{}])(nil)

// FanIn is a WorkerPool's collection as a Spout: Flush collects every batch
// the workers have published into the inner spout (WorkerPool.Collect),
// then flushes the inner spout; Send and SendBatch forward an item from
// outside the pool to the inner spout, in the order of the calls. So
//
//	framed, _ := spillring.Framed(conn, id, codec)
//	fan, _ := pool.FanIn(framed)
//	pool.Run(args)
//	fan.Flush() // every worker's items, framed onto conn
//
// is plain composition: the inner spout never knows a pool is behind it,
// and a FanIn goes wherever a spout does (the Overflow of another pool's
// rings, a SpillRing's spout, a Counting or Locked wrapper).
//
// A FanIn is the pool's collector: its calls and the pool's Collect
// serialize (one collects at a time). It holds no memory of the pool's
// own: after the pool's Close, Flush returns ErrClosed and touches nothing
// (Send and SendBatch still forward, since they do not use the pool).
type FanIn[T, A any] struct {
	pool  *WorkerPool[T, A]
	inner Spout[T]
}

// FanIn returns the pool's collection as a spout into inner, or
// ErrNilSpout for a nil inner.
func (p *WorkerPool[T, A]) FanIn(inner Spout[T]) (*FanIn[T, A], error) {
	if inner == nil {
		return nil, ErrNilSpout
	}
	return &FanIn[T, A]{pool: p, inner: inner}, nil
}

// Send forwards v, an item from outside the pool, to the inner spout.
func (f *FanIn[T, A]) Send(v T) error { return f.inner.Send(v) }

// SendBatch forwards vs, items from outside the pool, to the inner spout.
func (f *FanIn[T, A]) SendBatch(vs []T) (int, error) { return f.inner.SendBatch(vs) }

// Flush collects every published batch into the inner spout, then flushes
// it, and returns the first error. Items the inner spout refused stay with
// the pool, which offers them again at the next Flush or Collect (see
// WorkerPool.Collect): nothing is lost.
func (f *FanIn[T, A]) Flush() error {
	if _, err := f.pool.Collect(f.inner); err != nil {
		return err
	}
	return f.inner.Flush()
}

// Pool returns the pool the FanIn collects from.
func (f *FanIn[T, A]) Pool() *WorkerPool[T, A] { return f.pool }
