package bench

import (
	"runtime"

	"github.com/puzpuzpuz/xsync/v4"
	"github.com/spillring/spillring"
)

// Impls are all implementations, in table order.
var Impls = []Impl{
	{"spillring-c", openSpillring(spillring.BackendC)},
	{"spillring-go", openSpillring(spillring.BackendGo)},
	{"spillring-c-spinyield", openSpillringWait(spillring.BackendC, spillring.SpinYield(spillring.DefaultSpins))},
	{"spillring-go-spinyield", openSpillringWait(spillring.BackendGo, spillring.SpinYield(spillring.DefaultSpins))},
	{"spillring-c-pushbatch", openSpillringPushBatch(spillring.BackendC)},
	{"spillring-go-pushbatch", openSpillringPushBatch(spillring.BackendGo)},
	{"chan", openChan},
	{"xsync", openXsync},
	{"workiva", openWorkiva},
	{"c11-loop", openC11},
	{"go-slice", openGoSlice},
}

// openSpillring opens a channel with the default Config (Block,
// Adaptive(DefaultSpinTime)): what a user gets without tuning.
func openSpillring(backend spillring.Backend) func(Scenario) (ops, error) {
	open := openChannel(backend, spillring.WaitStrategy{})
	return func(sc Scenario) (ops, error) {
		if sc.Spill {
			return openSpillRing(sc, backend)
		}
		return open(sc)
	}
}

// openSpillringWait opens a channel with the wait strategy w, for the
// cross-thread scenarios only, where the strategy matters: the *-spinyield
// impls, SpinYield(100), the default before Adaptive, for comparison.
func openSpillringWait(backend spillring.Backend, w spillring.WaitStrategy) func(Scenario) (ops, error) {
	open := openChannel(backend, w)
	return func(sc Scenario) (ops, error) {
		if !sc.Cross || sc.Chunk > 0 {
			return ops{}, ErrUnsupported
		}
		return open(sc)
	}
}

func openChannel(backend spillring.Backend, w spillring.WaitStrategy) func(Scenario) (ops, error) {
	return func(sc Scenario) (ops, error) {
		if sc.Wide {
			return chunkWide(sc, backend, true)
		}
		p, c, err := spillring.New[uint64](spillring.Config{Capacity: Capacity, Backend: backend, Wait: w})
		if err != nil {
			return ops{}, err
		}
		o := ops{close: func() { p.Close(); c.Close() }}
		if sc.Chunk > 0 {
			return chunkSpillring(sc, p, c, true)
		}
		if sc.Producers > 0 {
			return mpSpillring(sc, p, c, o)
		}
		o.single = func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				if err := p.Push(want); err != nil {
					return err
				}
				v, err := c.Pop()
				if err != nil {
					return err
				}
				if v != want {
					bad = mismatch(bad, v, want)
				}
			}
			return bad
		}
		if !sc.Batch {
			o.produce = func(seq uint64, k int) {
				for v := seq; v < seq+uint64(k); v++ {
					if p.Push(v) != nil {
						return // closed by stop after a failed round
					}
				}
			}
			o.consume = func(seq uint64, k int) error {
				var bad error
				for want := seq; want < seq+uint64(k); want++ {
					v, err := c.Pop()
					if err != nil {
						return err
					}
					if v != want {
						bad = mismatch(bad, v, want)
					}
				}
				return bad
			}
			return o, nil
		}
		// Buffers are made once per benchmark: a round allocates nothing.
		in, out := make([]uint64, Batch), make([]uint64, Batch)
		o.produce = func(seq uint64, k int) {
			for off := 0; off < k; off += Batch {
				vs := in[:min(Batch, k-off)]
				for j := range vs {
					vs[j] = seq + uint64(off+j)
				}
				if _, err := p.PushBatch(vs); err != nil {
					return // closed by stop after a failed round
				}
			}
		}
		o.consume = func(seq uint64, k int) error {
			var bad error
			for got := 0; got < k; {
				n, err := c.PopBatch(out[:min(Batch, k-got)])
				if err != nil {
					return err
				}
				for j, v := range out[:n] {
					if want := seq + uint64(got+j); v != want {
						bad = mismatch(bad, v, want)
					}
				}
				got += n
			}
			return bad
		}
		return o, nil
	}
}

// openChan: a buffered channel has no batches, so spsc-batch256 moves the
// same items one by one.
func openChan(sc Scenario) (ops, error) {
	if sc.Spill {
		return ops{}, ErrUnsupported
	}
	if sc.Wide {
		return openChanWide(sc)
	}
	if sc.Producers > 0 {
		return mpChan(sc), nil
	}
	ch := make(chan uint64, Capacity)
	return ops{
		single: func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				ch <- want
				if v := <-ch; v != want {
					bad = mismatch(bad, v, want)
				}
			}
			return bad
		},
		produce: func(seq uint64, k int) {
			for v := seq; v < seq+uint64(k); v++ {
				ch <- v
			}
		},
		consume: func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				if v := <-ch; v != want {
					bad = mismatch(bad, v, want)
				}
			}
			return bad
		},
		close: func() {},
	}, nil
}

// xsyncSpins is how often a failed xsync try is retried before a Gosched:
// the spin of SpinYield(100), spillring's default until Adaptive (the
// *-spinyield impls), so the table compares queues more than wait policies
// (xsync itself has only Try calls).
const xsyncSpins = 100

// openXsync: no batches either, so spsc-batch256 moves items one by one.
func openXsync(sc Scenario) (ops, error) {
	if sc.Spill || sc.Wide {
		return ops{}, ErrUnsupported
	}
	if sc.Producers > 0 {
		return mpXsync(sc), nil
	}
	q := xsync.NewSPSCQueue[uint64](Capacity)
	pop := func() uint64 {
		for n := 1; ; n++ {
			if v, ok := q.TryDequeue(); ok {
				return v
			}
			if n%xsyncSpins == 0 {
				runtime.Gosched()
			}
		}
	}
	push := func(v uint64) {
		for n := 1; !q.TryEnqueue(v); n++ {
			if n%xsyncSpins == 0 {
				runtime.Gosched()
			}
		}
	}
	return ops{
		single: func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				push(want)
				if v := pop(); v != want {
					bad = mismatch(bad, v, want)
				}
			}
			return bad
		},
		produce: func(seq uint64, k int) {
			for v := seq; v < seq+uint64(k); v++ {
				push(v)
			}
		},
		consume: func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				if v := pop(); v != want {
					bad = mismatch(bad, v, want)
				}
			}
			return bad
		},
		close: func() {},
	}, nil
}
