package spillring

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpillRingClose: after Close every method answers cleanly from Go
// memory: errors say ErrClosed, the rest is the zero result.
func TestSpillRingClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r, err := NewSpillRing(SpillConfig[uint64]{Capacity: 8, Spout: out, Backend: b})
		require.NoError(t, err)
		for i := range uint64(10) {
			require.NoError(t, r.Push(i)) // two spill
		}
		require.Equal(t, 8, r.Len())

		require.NoError(t, r.Close())
		assert.Equal(t, []uint64{0, 1}, out.items, "Close does not flush")
		assert.Equal(t, 0, out.flushes, "Close leaves the spout alone")

		assert.ErrorIs(t, r.Push(1), ErrClosed)
		assert.ErrorIs(t, r.Send(1), ErrClosed)
		n, err := r.PushSlice([]uint64{1, 2, 3})
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, ErrClosed)
		n, err = r.SendBatch(make([]uint64, 100)) // more than the capacity
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, r.Flush(), ErrClosed)
		assert.ErrorIs(t, r.Forward(), ErrClosed)

		_, ok := r.Pop()
		assert.False(t, ok)
		assert.Equal(t, 0, r.PopSlice(make([]uint64, 4)))
		_, ok = r.Peek()
		assert.False(t, ok)
		_, ok = r.PeekBack()
		assert.False(t, ok)
		_, ok = r.Get(0)
		assert.False(t, ok)
		assert.Empty(t, slices.Collect(r.All()))
		assert.Empty(t, slices.Collect(r.Drain()))
		r.Clear()

		assert.Equal(t, 0, r.Len())
		assert.True(t, r.IsEmpty())
		assert.False(t, r.IsFull())
		assert.Equal(t, 0, r.Pending())
		assert.Zero(t, r.Pushed())
		assert.Zero(t, r.Popped())
		assert.Zero(t, r.Spilled())
		assert.Equal(t, 8, r.Cap(), "Cap still describes the ring")
		assert.Equal(t, b, r.Backend(), "so does Backend")
		_, err = r.CSpill()
		if b == BackendC {
			assert.ErrorIs(t, err, ErrClosed)
		} else {
			assert.ErrorIs(t, err, ErrNotC)
		}

		assert.ErrorIs(t, r.Close(), ErrClosed, "second Close")
		assert.Equal(t, []uint64{0, 1}, out.items, "nothing reached the spout after Close")
	})
}

// TestSpillRingCloseDefaultSpout: a closed discarding ring (whose Push never
// stops at a full ring) refuses pushes too.
func TestSpillRingCloseDefaultSpout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r, err := NewSpillRing(SpillConfig[uint64]{Capacity: 4, Backend: b})
		require.NoError(t, err)
		for i := range uint64(100) {
			require.NoError(t, r.Push(i))
		}
		require.NoError(t, r.Close())
		for range 10 {
			assert.ErrorIs(t, r.Push(1), ErrClosed)
		}
		assert.Equal(t, 0, r.Len())
		assert.Zero(t, r.Spilled())
	})
}

// TestSpillRingChainIntoClosed: a ring that spills into a closed ring gets
// ErrClosed from it and keeps its items, as with any refusing spout.
func TestSpillRingChainIntoClosed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		down, err := NewSpillRing(SpillConfig[uint64]{Capacity: 4, Backend: b})
		require.NoError(t, err)
		up, err := NewSpillRing(SpillConfig[uint64]{Capacity: 2, Spout: Spout[uint64](down), Backend: b})
		require.NoError(t, err)
		require.NoError(t, up.Push(1))
		require.NoError(t, up.Push(2))
		require.NoError(t, down.Close())

		assert.ErrorIs(t, up.Push(3), ErrClosed)
		n, err := up.PushSlice([]uint64{3, 4})
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, up.Flush(), ErrClosed)
		assert.Equal(t, []uint64{1, 2}, slices.Collect(up.All()), "up kept its items")
		assert.Equal(t, uint64(2), up.Pushed())
		assert.Zero(t, up.Spilled())
		require.NoError(t, up.Close())
	})
}
