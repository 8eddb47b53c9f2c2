package spillring

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqItem tags an item with the sequence number and part it came in.
type seqItem struct {
	seq  uint64
	part int
	i    int
}

func seqBatch(seq uint64, part, n int) []seqItem {
	b := make([]seqItem, n)
	for i := range b {
		b[i] = seqItem{seq, part, i}
	}
	return b
}

func TestSequencedInOrder(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{First: 10})
	require.NoError(t, err)
	require.NoError(t, s.Submit(12, []int{12}))
	require.NoError(t, s.Submit(11, []int{11, 11}))
	assert.Empty(t, inner.got)
	items, batches := s.Buffered()
	assert.Equal(t, 3, items)
	assert.Equal(t, 2, batches)

	require.NoError(t, s.Submit(10, []int{10}))
	assert.Equal(t, []int{10, 11, 11, 12}, inner.got)
	assert.Equal(t, 3, inner.batchCalls, "one SendBatch per batch")
	assert.Equal(t, 0, inner.sends)
	assert.Equal(t, uint64(13), s.Next())
	items, batches = s.Buffered()
	assert.Zero(t, items)
	assert.Zero(t, batches)
	require.NoError(t, s.Flush())
	assert.Equal(t, 1, inner.flushes)
}

// Batches of the current number go out as they arrive; later numbers wait
// until it has all its parts.
func TestSequencedParts(t *testing.T) {
	inner := newTestSink[seqItem]()
	s, err := Sequenced[seqItem](inner, SequencedConfig{Parts: 3})
	require.NoError(t, err)

	require.NoError(t, s.Submit(1, seqBatch(1, 0, 2)))
	require.NoError(t, s.Submit(0, seqBatch(0, 0, 1)))
	assert.Equal(t, seqBatch(0, 0, 1), inner.got, "the current number is emitted at once")
	require.NoError(t, s.Submit(1, seqBatch(1, 1, 1)))
	require.NoError(t, s.Submit(0, nil)) // an empty part counts
	require.NoError(t, s.Submit(2, seqBatch(2, 0, 1)))
	assert.Len(t, inner.got, 1)
	assert.Equal(t, uint64(0), s.Next())

	require.NoError(t, s.Submit(0, seqBatch(0, 2, 2)))
	want := append(seqBatch(0, 0, 1), seqBatch(0, 2, 2)...)
	want = append(want, seqBatch(1, 0, 2)...)
	want = append(want, seqBatch(1, 1, 1)...)
	assert.Equal(t, want, inner.got, "0 complete: 1's parts follow, 2 still waits for 1")
	assert.Equal(t, uint64(1), s.Next())

	require.NoError(t, s.Submit(1, seqBatch(1, 2, 1)))
	want = append(want, seqBatch(1, 2, 1)...)
	want = append(want, seqBatch(2, 0, 1)...)
	assert.Equal(t, want, inner.got)
	assert.Equal(t, uint64(2), s.Next())
}

func TestSequencedComplete(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{Parts: 2})
	require.NoError(t, err)
	require.NoError(t, s.Submit(0, []int{1}))
	require.NoError(t, s.Submit(0, []int{2}))
	require.ErrorIs(t, s.Submit(0, []int{3}), ErrSequenceComplete)

	require.NoError(t, s.Submit(5, []int{5}))
	require.NoError(t, s.Submit(5, []int{5}))
	require.ErrorIs(t, s.Submit(5, []int{5}), ErrSequenceComplete, "all parts are in, waiting")
	items, _ := s.Buffered()
	assert.Equal(t, 2, items, "a refused batch is not taken")
	assert.Equal(t, []int{1, 2}, inner.got)
}

// The case: after MaxUint64 is emitted the spout is at 0, and a
// late part of MaxUint64 is complete, not held for ever.
func TestSequencedCompleteAfterWrap(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{First: math.MaxUint64})
	require.NoError(t, err)
	require.NoError(t, s.Submit(math.MaxUint64, []int{1}))
	require.Equal(t, uint64(0), s.Next())
	require.ErrorIs(t, s.Submit(math.MaxUint64, []int{2}), ErrSequenceComplete)
	items, batches := s.Buffered()
	assert.Zero(t, items, "the refused batch is not held")
	assert.Zero(t, batches)
	assert.Equal(t, []int{1}, inner.got)
}

// Sequence numbers wrap at 2^64 like every counter here: they are ordered
// relative to the next one expected, modulo 2^64. Past the wrap (next is 0
// after MaxUint64 was emitted) MaxUint64 is complete, not 2^64-1 numbers
// ahead; before it, 0 and 1 are ahead of MaxUint64-1, not complete.
func TestSequencedWrap(t *testing.T) {
	const top = math.MaxUint64
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{First: top - 1, Parts: 2})
	require.NoError(t, err)

	// Before the wrap: later numbers past it are held, in order.
	require.NoError(t, s.Submit(1, []int{1}), "1 is three numbers ahead")
	require.NoError(t, s.Submit(0, []int{0}), "0 is two ahead")
	require.NoError(t, s.Submit(top, []int{30}))
	require.NoError(t, s.Submit(top, []int{31}))
	require.NoError(t, s.Submit(0, []int{0}))
	require.ErrorIs(t, s.Submit(0, []int{0}), ErrSequenceComplete, "all parts of 0 are in, waiting")
	items, batches := s.Buffered()
	assert.Equal(t, 5, items)
	assert.Equal(t, 5, batches)
	assert.Empty(t, inner.got)

	require.NoError(t, s.Submit(top-1, []int{20}))
	require.NoError(t, s.Submit(top-1, []int{21}))
	assert.Equal(t, []int{20, 21, 30, 31, 0, 0, 1}, inner.got, "emitted in order across the wrap")
	assert.Equal(t, uint64(1), s.Next())

	// After the wrap: the numbers before it are complete.
	for _, seq := range []uint64{top, top - 1, 0, top - 1000, 1<<63 + 2} {
		require.ErrorIs(t, s.Submit(seq, []int{-1}), ErrSequenceComplete, "seq %d", seq)
	}
	items, batches = s.Buffered()
	assert.Zero(t, items, "nothing refused was taken")
	assert.Zero(t, batches)
	// Ahead of 1 by up to 2^63-1 is still ahead.
	require.NoError(t, s.Submit(1<<63, []int{63}))
	require.NoError(t, s.Submit(1, []int{1}))
	assert.Equal(t, uint64(2), s.Next())
	assert.Equal(t, []int{20, 21, 30, 31, 0, 0, 1, 1}, inner.got)
	items, batches = s.Buffered()
	assert.Equal(t, 1, items, "2^63 waits")
	assert.Equal(t, 1, batches)
}

func TestSequencedBufferFull(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{MaxItems: 5, MaxBatches: 3})
	require.NoError(t, err)
	require.NoError(t, s.Submit(1, seqInts(100, 4)))
	err = s.Submit(2, seqInts(200, 2))
	require.ErrorIs(t, err, ErrSequenceBufferFull)
	require.ErrorIs(t, err, ErrFull)
	require.NoError(t, s.Submit(2, seqInts(200, 1)))
	require.NoError(t, s.Submit(3, nil))
	require.ErrorIs(t, s.Submit(4, nil), ErrSequenceBufferFull, "batches are bounded too")
	items, batches := s.Buffered()
	assert.Equal(t, 5, items)
	assert.Equal(t, 3, batches)

	// The current number is never refused for room: it goes straight on.
	require.NoError(t, s.Submit(0, seqInts(0, 100)))
	assert.Equal(t, append(append(seqInts(0, 100), seqInts(100, 4)...), 200), inner.got)
	require.NoError(t, s.Submit(4, seqInts(400, 2)))
	assert.Equal(t, uint64(5), s.Next())
}

func TestSequencedInnerFailure(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Sequenced[int](inner, SequencedConfig{MaxItems: 7})
	require.NoError(t, err)
	inner.budget = 2

	require.NoError(t, s.Submit(0, seqInts(0, 5)), "taken: what the inner spout refused is kept")
	assert.Equal(t, []int{0, 1}, inner.got)
	require.NoError(t, s.Submit(1, seqInts(5, 2)), "queued behind the rest of 0")
	require.ErrorIs(t, s.Flush(), errRefuse)
	assert.Equal(t, 0, inner.flushes)
	err = s.Submit(2, seqInts(7, 3))
	require.ErrorIs(t, err, ErrSequenceBufferFull)
	require.ErrorIs(t, err, errRefuse, "the full buffer tells why")
	items, batches := s.Buffered()
	assert.Equal(t, 5, items)
	assert.Equal(t, 2, batches)

	inner.budget = -1
	require.NoError(t, s.Submit(2, seqInts(7, 3)))
	require.NoError(t, s.Flush())
	assert.Equal(t, seqInts(0, 10), inner.got)
	assert.Equal(t, 1, inner.flushes)
}

// Property: whatever the submission order and however the inner spout
// fails, the items come out grouped by sequence number in order, each once.
func TestSequencedShuffled(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 5))
		parts := 1 + rng.IntN(3)
		const seqs = 20
		inner := newTestSink[seqItem]()
		s, err := Sequenced[seqItem](inner, SequencedConfig{Parts: parts, MaxItems: 1 << 20})
		require.NoError(t, err)
		type submission struct {
			seq   uint64
			batch []seqItem
		}
		var todo []submission
		total := 0
		for q := range uint64(seqs) {
			for p := range parts {
				b := seqBatch(q, p, rng.IntN(4))
				todo = append(todo, submission{q, b})
				total += len(b)
			}
		}
		rng.Shuffle(len(todo), func(i, j int) { todo[i], todo[j] = todo[j], todo[i] })
		for _, sub := range todo {
			inner.budget = rng.IntN(6) - 1
			require.NoError(t, s.Submit(sub.seq, sub.batch))
		}
		inner.budget = -1
		require.NoError(t, s.Flush())
		require.Len(t, inner.got, total, "seed %d", seed)
		seen := map[seqItem]bool{}
		for i, it := range inner.got {
			require.False(t, seen[it])
			seen[it] = true
			if i > 0 {
				require.LessOrEqual(t, inner.got[i-1].seq, it.seq, "seed %d", seed)
			}
		}
		assert.Equal(t, uint64(seqs), s.Next())
	}
}

// Workers finish their batches out of order and submit concurrently; the
// output is in order. Workers retry a batch refused for room.
func TestSequencedConcurrent(t *testing.T) {
	const workers, rounds = 4, 200
	inner := newTestSink[seqItem]()
	s, err := Sequenced[seqItem](inner, SequencedConfig{Parts: workers, MaxItems: 64, MaxBatches: 16})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for r := range uint64(rounds) {
				b := seqBatch(r, w, rng.IntN(5))
				for range rng.IntN(3) {
					runtime.Gosched() // workers drift apart
				}
				for {
					err := s.Submit(r, b)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrSequenceBufferFull) {
						t.Errorf("Submit(%d): %v", r, err)
						return
					}
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Flush())
	assert.Equal(t, uint64(rounds), s.Next())
	for i := 1; i < len(inner.got); i++ {
		require.LessOrEqual(t, inner.got[i-1].seq, inner.got[i].seq)
	}
	counts := map[[2]int]int{}
	for _, it := range inner.got {
		counts[[2]int{int(it.seq), it.part}]++
	}
	for w := range workers { // regenerate each worker's sizes
		rng := rand.New(rand.NewPCG(uint64(w), 9))
		for r := range rounds {
			n := rng.IntN(5)
			rng.IntN(3)
			assert.Equal(t, n, counts[[2]int{r, w}], "round %d worker %d", r, w)
		}
	}
}

// Jobs handed to a pool come back in any order, one part each.
func TestSequencedConcurrentJobs(t *testing.T) {
	const workers, jobs = 4, 500
	col := Collect[int]()
	s, err := Sequenced[int](col, SequencedConfig{MaxItems: 1 << 20, MaxBatches: jobs})
	require.NoError(t, err)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range next {
				if j%7 == 0 {
					runtime.Gosched()
				}
				assert.NoError(t, s.Submit(uint64(j), seqInts(j*3, 3)))
			}
		})
	}
	for j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	assert.Equal(t, seqInts(0, jobs*3), col.Items())
}
