//go:build cgo && linux && !purego

package spillring

import (
	"slices"
	"testing"

	"github.com/spillring/spillring/internal/cwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newCSeqHarness makes a pool whose C work function (internal/cwork's
// cw_seq) pushes worker<<40 | n, n counting up, spill areas of spill items.
func newCSeqHarness(t *testing.T, workers, capacity, spill int, overflow Spout[uint64], sink Spout[uint64]) poolHarness {
	cw := cwork.NewSeq(workers)
	fn, ctx := cw.Work()
	p, err := NewPool(PoolConfig[uint64, cwork.Args]{
		Workers: workers, RingCapacity: capacity, SpillBuffer: spill, Overflow: overflow,
		CWork: CWork{Fn: fn, Ctx: ctx},
	})
	require.NoError(t, err)
	require.Equal(t, BackendC, p.Backend())
	return poolHarness{
		run:     func(n uint64) error { return p.Run(cwork.Args{Count: n}) },
		pushed:  cw.Next,
		close:   func() error { err := p.Close(); cw.Free(); return err },
		stats:   p.Stats,
		collect: func() (int, error) { return p.Collect(sink) },
		drain:   func() { drainPool(t, p, sink) },
	}
}

// TestPoolCWorkFailure: a C work function's nonzero return comes back from
// Join as a *WorkerError with the code, and the next round is clean.
func TestPoolCWorkFailure(t *testing.T) {
	cw := cwork.NewSeq(2)
	defer cw.Free()
	fn, ctx := cw.Work()
	p, err := NewPool(PoolConfig[uint64, cwork.Args]{Workers: 2, CWork: CWork{Fn: fn, Ctx: ctx}})
	require.NoError(t, err)
	defer p.Close()
	err = p.Run(cwork.Args{Count: 2, Fail: 2})
	var we *WorkerError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 1, we.Worker)
	assert.Equal(t, 101, we.Code)
	assert.Contains(t, err.Error(), "worker 1: work function returned 101")
	require.NoError(t, p.Run(cwork.Args{Count: 2}))
	sink := newRecSpout(0)
	drainPool(t, p, sink)
	checkPoolItems(t, 2, cw.Next, sink, nil, p.Stats())
}

// newCOrdered is an ordered pool of C work (internal/cwork's cw_seq, which
// pushes worker<<40 | n, n counting up): round r pushes cOrdCount(r) items
// per worker, and key maps an item back to its ordKey.
func newCOrdered(t *testing.T, workers, capacity, window int, overflow Spout[uint64]) ordHarness {
	cw := cwork.NewSeq(workers)
	fn, ctx := cw.Work()
	p, err := NewPool(PoolConfig[uint64, cwork.Args]{
		Workers: workers, RingCapacity: capacity, SpillBuffer: 1 << 16, OrderWindow: window,
		Overflow: overflow, CWork: CWork{Fn: fn, Ctx: ctx},
	})
	require.NoError(t, err)
	count := func(r uint64) uint64 { return (r * 7) % 13 }
	cum := []uint64{0} // cum[r]: each worker's items in rounds 1..r
	for r := uint64(1); r <= 10000; r++ {
		cum = append(cum, cum[r-1]+count(r))
	}
	return ordHarness{
		dispatch: func(r uint64) error { return p.Dispatch(cwork.Args{Count: count(r)}) },
		join:     p.Join,
		collect:  p.Collect,
		key: func(v uint64) uint64 {
			w, n := int(v>>40), v&(1<<40-1)
			r, _ := slices.BinarySearch(cum, n+1) // the first round whose items reach past n
			return ordKey(uint64(r), w, n-cum[r-1])
		},
		keys: func(rounds uint64) []uint64 {
			var ks []uint64
			for r := uint64(1); r <= rounds; r++ {
				for w := range workers {
					for i := range count(r) {
						ks = append(ks, ordKey(r, w, i))
					}
				}
			}
			return ks
		},
		stats: p.Stats,
		close: func() error { err := p.Close(); cw.Free(); return err },
	}
}
