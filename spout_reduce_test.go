package spillring

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoutReduceSums(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Reduce(3, sumInts, inner)
	require.NoError(t, err)
	for v := range 4 {
		require.NoError(t, s.Send(v))
	}
	assert.Equal(t, []int{0 + 1 + 2}, inner.got)
	items, values := s.Pending()
	assert.Equal(t, 1, items)
	assert.Equal(t, 0, values)

	n, err := s.SendBatch(seqInts(4, 9)) // 3 | 4 5 6 | 7 8 9 | 10 11 12
	require.NoError(t, err)
	assert.Equal(t, 9, n)
	assert.Equal(t, []int{3, 3 + 4 + 5, 6 + 7 + 8, 9 + 10 + 11}, inner.got)
	assert.Equal(t, 2, inner.batchCalls, "one for the Send that filled a group, one for the three values of SendBatch")

	require.NoError(t, s.Flush())
	assert.Equal(t, []int{3, 12, 21, 30, 12}, inner.got)
	assert.Equal(t, 1, inner.flushes)
}

// Whole groups of a SendBatch are reduced from the caller's slice, without
// a copy, and the function never sees a slice it could grow into the
// caller's next items.
func TestSpoutReduceGroupsAreCapped(t *testing.T) {
	var caps []int
	s, err := Reduce(2, func(g []int) int { caps = append(caps, cap(g)); return len(g) }, Drop[int]())
	require.NoError(t, err)
	s.SendBatch(seqInts(0, 7))
	s.Flush()
	assert.Equal(t, []int{2, 2, 2, 2}, caps)
}

func TestSpoutReduceInnerFailure(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Reduce(2, sumInts, inner)
	require.NoError(t, err)
	inner.budget = 1
	n, err := s.SendBatch([]int{1, 1, 2, 2, 3, 3, 4})
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assert.Equal(t, []int{2}, inner.got)

	require.ErrorIs(t, s.Send(4), errRefuse)
	n, err = s.SendBatch([]int{4})
	require.ErrorIs(t, err, errRefuse)
	assert.Equal(t, 0, n)
	require.ErrorIs(t, s.Flush(), errRefuse)
	items, values := s.Pending()
	assert.Equal(t, 0, items, "the failed Flush reduced the partial group")
	assert.Equal(t, 3, values)

	inner.budget = -1
	require.NoError(t, s.Flush())
	assert.Equal(t, []int{2, 4, 6, 4}, inner.got)
}

// Property: with an identity reduction, every item taken is delivered in
// order once, or held.
func TestSpoutReduceNeverDrops(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 11))
		inner := newTestSink[[]int]()
		size := 1 + rng.IntN(6)
		s, err := Reduce(size, slices.Clone[[]int], inner)
		require.NoError(t, err)
		taken := spoutOps(t, rng, s, 400, func(b int) { inner.budget = b }, func(taken int) {
			got := flatten(inner.got)
			require.Equal(t, seqInts(0, len(got)), got)
			items, values := s.Pending()
			held := items
			for _, v := range s.ready {
				held += len(v)
			}
			require.Equal(t, len(s.ready), values)
			require.Equal(t, taken, len(got)+held)
		})
		inner.budget = -1
		require.NoError(t, s.Flush())
		assert.Equal(t, seqInts(0, taken), flatten(inner.got))
	}
}
