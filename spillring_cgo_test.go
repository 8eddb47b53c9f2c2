//go:build cgo && linux && !purego

package spillring

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spillring/spillring/internal/cspill"
)

// C-owner tests: a plain C thread from internal/cspill (its own private copy
// of csrc/spill.c, built against csrc/spill.h) takes a C-backend SpillRing
// over, pushes into it past its capacity, and hands it back; Go then checks
// that every item arrives exactly once, in push order, split between the
// spout and the ring.

func newCSpill(t *testing.T, capacity, spillBuffer int, spout Spout[uint64]) (*SpillRing[uint64], unsafe.Pointer) {
	t.Helper()
	r, err := NewSpillRing(SpillConfig[uint64]{Capacity: capacity, Spout: spout, Backend: BackendC, SpillBuffer: spillBuffer})
	require.NoError(t, err)
	p, err := r.CSpill()
	require.NoError(t, err)
	return r, p
}

func TestSpillRingCOwnerOverflow(t *testing.T) {
	n := uint64(20_000)
	if testing.Short() {
		n = 5_000
	}
	for _, burst := range []int{0, 1, 7, cspill.MaxBurst} {
		t.Run(fmt.Sprintf("burst%d", burst), func(t *testing.T) {
			out := &srCollect[uint64]{}
			r, cring := newCSpill(t, 8, 16, out)
			var next uint64
			var popped []uint64
			for step := 0; next < n; step++ {
				// C owns the ring: it pushes until its spill area is full
				// (or it is done) and hands the ring back.
				k, err := cspill.Push(cring, next, min(n-next, 100), burst)
				next += k
				if err != nil {
					require.ErrorIs(t, err, syscall.ENOBUFS)
					require.Equal(t, 16, r.Pending(), "C stops when the spill area is full")
				}
				l, p := cspill.Counts(cring)
				require.EqualValues(t, r.Len(), l)
				require.EqualValues(t, r.Pending(), p)
				srCheckCounts(t, r)

				// Go owns it again. Vary how the pending items leave:
				// an explicit Forward (one batch), or a Go push that
				// spills, which must forward them first.
				batches, sends := out.batches, out.sends
				pending := r.Pending()
				switch step % 3 {
				case 0:
					require.NoError(t, r.Forward())
					if pending > 0 {
						assert.Equal(t, batches+1, out.batches, "the spill area leaves in one batch")
					}
					assert.Equal(t, sends, out.sends)
				case 1:
					if next < n {
						require.NoError(t, r.Push(next))
						next++
					}
				case 2:
					if v, ok := r.Pop(); ok {
						popped = append(popped, v)
					}
					require.NoError(t, r.Forward())
				}
				assert.Zero(t, r.Pending())
				srCheckCounts(t, r)
			}
			require.NoError(t, r.Forward())
			assert.True(t, slices.IsSorted(out.items), "spilled items arrive in push order")
			assert.True(t, slices.IsSorted(popped))
			all := slices.Concat(out.items, popped, srContents(r))
			slices.Sort(all)
			require.Equal(t, srSeq(0, int(n)), all, "every item exactly once")
			assert.EqualValues(t, n, r.Pushed())
			assert.EqualValues(t, len(out.items), r.Spilled())
			assert.Greater(t, len(out.items), int(n)/2)
		})
	}
}

func TestSpillRingCOwnerRefusedForward(t *testing.T) {
	out := &srFailing[uint64]{budget: 0}
	r, cring := newCSpill(t, 4, 4, out)
	k, err := cspill.Push(cring, 0, 20, 0)
	assert.ErrorIs(t, err, syscall.ENOBUFS)
	assert.EqualValues(t, 8, k, "4 in the ring, 4 in the spill area")
	assert.Equal(t, 4, r.Pending())
	assert.Equal(t, srSeq(4, 4), srContents(r))
	assert.EqualValues(t, 4, r.Spilled(), "pending items count as spilled")
	srCheckCounts(t, r)

	// The spout refuses: Push takes nothing, and nothing moves.
	assert.ErrorIs(t, r.Push(8), errSrRefused)
	n, err := r.PushSlice(srSeq(8, 2))
	assert.ErrorIs(t, err, errSrRefused)
	assert.Zero(t, n)
	assert.ErrorIs(t, r.Flush(), errSrRefused)
	assert.Equal(t, 4, r.Pending())
	assert.Equal(t, srSeq(4, 4), srContents(r))
	v, ok := r.Pop() // pops never need the spout
	assert.True(t, ok)
	assert.EqualValues(t, 4, v)

	// It takes 3 of the 4: the fourth stays pending, first in line.
	out.budget = 3
	assert.ErrorIs(t, r.Forward(), errSrRefused)
	assert.Equal(t, 1, r.Pending())
	assert.Equal(t, srSeq(0, 3), out.items)

	// C may push again: the area has room for 3 more once the ring is
	// full. It settles the pending run at the start of the area.
	k, err = cspill.Push(cring, 8, 10, 3)
	assert.ErrorIs(t, err, syscall.ENOBUFS)
	assert.EqualValues(t, 4, k, "1 slot free, then 3 more spills")
	assert.Equal(t, 4, r.Pending())

	out.budget = -1
	require.NoError(t, r.Push(12)) // forwards 3,5,6,7, then spills 8
	assert.Equal(t, srSeq(0, 4), out.items[:4])
	assert.Equal(t, []uint64{5, 6, 7, 8}, out.items[4:])
	assert.Equal(t, srSeq(9, 4), srContents(r))
	srCheckCounts(t, r)
}

func TestSpillRingCOwnerDiscard(t *testing.T) {
	// A ring with the default spout lets Go pushes run past the full
	// ring; C settles that before it pushes.
	r, cring := newCSpill(t, 8, 0, nil)
	for v := range uint64(100) {
		require.NoError(t, r.Push(v))
	}
	k, err := cspill.Push(cring, 100, 12, 0)
	require.ErrorIs(t, err, syscall.ENOBUFS, "the spill area holds Capacity items by default")
	assert.EqualValues(t, 8, k)
	assert.Equal(t, 8, r.Pending())
	assert.Equal(t, srSeq(100, 8), srContents(r))
	assert.EqualValues(t, 100, r.Spilled())
	srCheckCounts(t, r)
	require.NoError(t, r.Push(108))
	assert.Zero(t, r.Pending())
	assert.EqualValues(t, 101, r.Spilled())
	assert.Equal(t, srSeq(101, 8), srContents(r))
	srCheckCounts(t, r)
}

func TestSpillRingCOwnerChain(t *testing.T) {
	// C spills in ring A; A forwards into ring B (Go backend), whose own
	// spills go to the collector: order holds across the chain.
	out := &srCollect[uint64]{}
	rb := newSR[uint64](t, 4, out, BackendGo)
	ra, cring := newCSpill(t, 4, 8, rb)
	var next uint64
	for range 50 {
		k, err := cspill.Push(cring, next, 13, 5)
		next += k
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOBUFS)
		}
		require.NoError(t, ra.Push(next))
		next++
	}
	require.NoError(t, ra.Flush())
	assert.Equal(t, srSeq(0, int(next)), out.items)
}
