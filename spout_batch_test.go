package spillring

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type batchCtor = func(int, Spout[[]int]) (*BatchSpout[int], error)

// batchModes runs a test against Batch and BatchBorrowed, each with an
// inner spout that keeps what the mode lets it keep.
func batchModes(t *testing.T, f func(t *testing.T, newBatch batchCtor, newSink func() *testSink[[]int])) {
	t.Run("owned", func(t *testing.T) { f(t, Batch[int], newTestSink[[]int]) })
	t.Run("borrowed", func(t *testing.T) { f(t, BatchBorrowed[int], newBorrowingSink[int]) })
}

func TestSpoutBatchGroups(t *testing.T) {
	batchModes(t, testSpoutBatchGroups)
}

func testSpoutBatchGroups(t *testing.T, newBatch batchCtor, newSink func() *testSink[[]int]) {
	inner := newSink()
	s, err := newBatch(4, inner)
	require.NoError(t, err)
	for v := range 10 {
		require.NoError(t, s.Send(v))
	}
	assert.Equal(t, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}, inner.got)
	assert.Equal(t, 2, s.Pending())
	require.NoError(t, s.Flush())
	assert.Equal(t, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}, inner.got)
	assert.Equal(t, 1, inner.flushes)
	assert.Equal(t, 0, s.Pending())

	require.NoError(t, s.Flush(), "nothing to send: only the inner flush")
	assert.Len(t, inner.got, 3)
	assert.Equal(t, 2, inner.flushes)
}

// A SendBatch of many items reaches the inner spout as one SendBatch call
// of full batches.
func TestSpoutBatchForwardsBatches(t *testing.T) {
	batchModes(t, testSpoutBatchForwardsBatches)
}

func testSpoutBatchForwardsBatches(t *testing.T, newBatch batchCtor, newSink func() *testSink[[]int]) {
	inner := newSink()
	s, err := newBatch(100, inner)
	require.NoError(t, err)

	n, err := s.SendBatch(seqInts(0, 1050))
	require.NoError(t, err)
	assert.Equal(t, 1050, n)
	assert.Equal(t, 1, inner.batchCalls)
	assert.Equal(t, 0, inner.sends)
	require.Len(t, inner.got, 10)
	for i, b := range inner.got {
		assert.Equal(t, seqInts(i*100, 100), b)
	}
	assert.Equal(t, 50, s.Pending())

	// The partial batch is completed first, in the same call.
	n, err = s.SendBatch(seqInts(1050, 260))
	require.NoError(t, err)
	assert.Equal(t, 260, n)
	assert.Equal(t, 2, inner.batchCalls)
	assert.Equal(t, 0, inner.sends)
	require.Len(t, inner.got, 13)
	assert.Equal(t, seqInts(0, 1300), flatten(inner.got))
	assert.Equal(t, 10, s.Pending())

	// Too few to fill a batch: nothing reaches the inner spout.
	n, err = s.SendBatch(seqInts(1310, 5))
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.Equal(t, 2, inner.batchCalls)
}

// Emitted batches are the inner spout's: the caller's reuse of its slice
// and the inner spout's appends leave them alone.
func TestSpoutBatchOwnership(t *testing.T) {
	inner := newTestSink[[]int]()
	s, err := Batch(3, inner)
	require.NoError(t, err)
	vs := seqInts(0, 9)
	_, err = s.SendBatch(vs)
	require.NoError(t, err)
	for i := range vs {
		vs[i] = -1
	}
	require.Len(t, inner.got, 3)
	for _, b := range inner.got {
		assert.Equal(t, 3, cap(b), "capped, so an append cannot reach the next batch")
	}
	_ = append(inner.got[0], 100)
	assert.Equal(t, [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}, inner.got)
}

func TestSpoutBatchInnerFailure(t *testing.T) {
	batchModes(t, testSpoutBatchInnerFailure)
}

func testSpoutBatchInnerFailure(t *testing.T, newBatch batchCtor, newSink func() *testSink[[]int]) {
	inner := newSink()
	s, err := newBatch(2, inner)
	require.NoError(t, err)
	inner.budget = 1

	// The call takes everything; the inner spout takes one batch of three.
	n, err := s.SendBatch(seqInts(0, 7))
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assert.Equal(t, [][]int{{0, 1}}, inner.got)
	assert.Equal(t, 5, s.Pending())

	// While the retry fails, nothing new is taken.
	require.ErrorIs(t, s.Send(7), errRefuse)
	n, err = s.SendBatch(seqInts(7, 3))
	require.ErrorIs(t, err, errRefuse)
	assert.Equal(t, 0, n)
	require.ErrorIs(t, s.Flush(), errRefuse)
	assert.Equal(t, 0, inner.flushes, "no inner flush while batches are stuck")
	assert.Equal(t, 5, s.Pending())

	inner.budget = -1
	require.NoError(t, s.Send(7))
	assert.Equal(t, [][]int{{0, 1}, {2, 3}, {4, 5}, {6}}, inner.got)
	require.NoError(t, s.Flush())
	assert.Equal(t, seqInts(0, 8), flatten(inner.got))
	// The partial batch {6} became a batch of its own at the failed Flush.
	assert.Equal(t, [][]int{{0, 1}, {2, 3}, {4, 5}, {6}, {7}}, inner.got)
}

// spoutOps drives s with random Sends, SendBatches and Flushes while the
// inner spout's budget changes at random, playing a caller that keeps what
// was not taken and offers it again. It returns how many items, 0 up,
// were taken. check runs after every operation with that count.
func spoutOps(t *testing.T, rng *rand.Rand, s Spout[int], ops int, setBudget func(int), check func(taken int)) int {
	t.Helper()
	next := 0
	for range ops {
		if rng.IntN(4) == 0 {
			setBudget(rng.IntN(4) - 1) // -1: no limit
		}
		switch rng.IntN(5) {
		case 0:
			if err := s.Send(next); err == nil {
				next++
			} else {
				require.ErrorIs(t, err, errRefuse)
			}
		case 1:
			s.Flush()
		default:
			k := rng.IntN(30)
			n, err := s.SendBatch(seqInts(next, k))
			require.True(t, n == k || err != nil, "n < len(vs) needs an error")
			require.True(t, n >= 0 && n <= k)
			next += n
		}
		check(next)
	}
	return next
}

// Property: every item offered is either delivered, in order and once,
// or held by the spout, or returned to the caller; a final Flush into a
// healthy inner spout delivers every item taken.
func TestSpoutBatchNeverDrops(t *testing.T) {
	batchModes(t, testSpoutBatchNeverDrops)
}

func testSpoutBatchNeverDrops(t *testing.T, newBatch batchCtor, newSink func() *testSink[[]int]) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		inner := newSink()
		size := 1 + rng.IntN(6)
		s, err := newBatch(size, inner)
		require.NoError(t, err)
		taken := spoutOps(t, rng, s, 400, func(b int) { inner.budget = b }, func(taken int) {
			got := flatten(inner.got)
			require.Equal(t, seqInts(0, len(got)), got, "delivered in order, once")
			require.Equal(t, taken, len(got)+s.Pending(), "every item taken is delivered or held")
		})
		inner.budget = -1
		require.NoError(t, s.Flush())
		assert.Equal(t, seqInts(0, taken), flatten(inner.got))
		for _, b := range inner.got {
			assert.LessOrEqual(t, len(b), size)
		}
	}
}

// BatchBorrowed passes the full batches of a SendBatch as views of the
// caller's slice, and copies only what the inner spout refuses.
func TestSpoutBatchBorrowed(t *testing.T) {
	var views [][]int
	inner, err := Func(func(b []int) error { views = append(views, b); return nil }, nil)
	require.NoError(t, err)
	s, err := BatchBorrowed(2, inner)
	require.NoError(t, err)
	vs := seqInts(0, 6)
	n, err := s.SendBatch(vs)
	require.NoError(t, err)
	assert.Equal(t, 6, n)
	require.Len(t, views, 3)
	for i, b := range views {
		assert.Same(t, &vs[2*i], &b[0], "no copy")
		assert.Equal(t, 2, cap(b))
	}

	// Refused batches are copied before SendBatch returns.
	sink := newBorrowingSink[int]()
	sink.budget = 1
	s, err = BatchBorrowed(2, sink)
	require.NoError(t, err)
	s.Send(-1)
	vs = seqInts(0, 7)
	n, err = s.SendBatch(vs) // {-1 0} taken; {1 2} {3 4} {5 6} refused
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assert.Equal(t, 6, s.Pending())
	for i := range vs {
		vs[i] = 100
	}
	sink.budget = -1
	require.NoError(t, s.Flush())
	assert.Equal(t, [][]int{{-1, 0}, {1, 2}, {3, 4}, {5, 6}}, sink.got)
}
