package spillring

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SpillRing tests: each runs against every backend in the build, like the
// channel conformance suite (backends and eachBackend are there).

// srCollect is a test spout that keeps every item, in order, and counts the
// calls, so tests can check that evictions arrive in batches.
type srCollect[T any] struct {
	items   []T
	sends   int // Send calls
	batches int // SendBatch calls
	flushes int // Flush calls
}

func (s *srCollect[T]) Send(v T) error {
	s.sends++
	s.items = append(s.items, v)
	return nil
}

func (s *srCollect[T]) SendBatch(vs []T) (int, error) {
	s.batches++
	s.items = append(s.items, vs...)
	return len(vs), nil
}

func (s *srCollect[T]) Flush() error {
	s.flushes++
	return nil
}

var errSrRefused = errors.New("srFailing: refused")

// srFailing takes up to budget items into its srCollect, then refuses the
// rest with errSrRefused; a negative budget takes everything. Flush fails
// while failFlush is set.
type srFailing[T any] struct {
	srCollect[T]
	budget    int
	failFlush bool
}

func (s *srFailing[T]) Send(v T) error {
	if s.budget == 0 {
		return errSrRefused
	}
	if s.budget > 0 {
		s.budget--
	}
	return s.srCollect.Send(v)
}

func (s *srFailing[T]) SendBatch(vs []T) (int, error) {
	k := len(vs)
	if s.budget >= 0 {
		k = min(k, s.budget)
		s.budget -= k
	}
	s.srCollect.SendBatch(vs[:k])
	if k < len(vs) {
		return k, errSrRefused
	}
	return k, nil
}

func (s *srFailing[T]) Flush() error {
	s.srCollect.Flush()
	if s.failFlush {
		return errSrRefused
	}
	return nil
}

// srShort takes half of each batch and claims success: a broken spout.
type srShort struct{ srCollect[uint64] }

func (s *srShort) SendBatch(vs []uint64) (int, error) {
	k := len(vs) / 2
	s.srCollect.SendBatch(vs[:k])
	return k, nil
}

func newSR[T any](t testing.TB, capacity int, spout Spout[T], b Backend) *SpillRing[T] {
	t.Helper()
	r, err := NewSpillRing(SpillConfig[T]{Capacity: capacity, Spout: spout, Backend: b})
	require.NoError(t, err)
	require.Equal(t, b, r.Backend())
	return r
}

// srContents is the ring's items, oldest first, through the All view.
func srContents[T any](r *SpillRing[T]) []T { return slices.Collect(r.All()) }

// srSeq is start, start+1, ..., start+n-1.
func srSeq(start, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(start + i)
	}
	return s
}

// srCheckCounts checks pushed == popped + spilled + Len().
func srCheckCounts[T any](t testing.TB, r *SpillRing[T]) {
	t.Helper()
	require.Equal(t, r.Pushed(), r.Popped()+r.Spilled()+uint64(r.Len()),
		"pushed %d, popped %d, spilled %d, len %d", r.Pushed(), r.Popped(), r.Spilled(), r.Len())
}

func TestSpillRingConfig(t *testing.T) {
	absurd := uint64(1) << 40 // math.MaxInt on 32-bit
	bad := []struct {
		name string
		cfg  SpillConfig[uint64]
	}{
		{"zero capacity", SpillConfig[uint64]{}},
		{"negative capacity", SpillConfig[uint64]{Capacity: -4}},
		{"not a power of two", SpillConfig[uint64]{Capacity: 12}},
		{"absurd capacity", SpillConfig[uint64]{Capacity: int(min(absurd, math.MaxInt))}},
		{"unknown backend", SpillConfig[uint64]{Capacity: 8, Backend: Backend(9)}},
		{"negative spill buffer", SpillConfig[uint64]{Capacity: 8, SpillBuffer: -1}},
		{"absurd spill buffer", SpillConfig[uint64]{Capacity: 8, SpillBuffer: MaxCapacity + 1}},
	}
	for _, tc := range bad {
		_, err := NewSpillRing(tc.cfg)
		assert.ErrorIs(t, err, ErrInvalidConfig, tc.name)
	}

	_, err := NewSpillRing(SpillConfig[struct{}]{Capacity: 8})
	assert.ErrorIs(t, err, ErrInvalidConfig, "zero-size T")
	_, err = NewSpillRing(SpillConfig[[1 << 20]byte]{Capacity: 1 << 30})
	assert.ErrorIs(t, err, ErrInvalidConfig, "more bytes than a ring may have")

	_, err = NewSpillRing(SpillConfig[*int]{Capacity: 8, Backend: BackendC})
	if cBackendAvailable {
		assert.ErrorIs(t, err, ErrPointerType)
		assert.ErrorContains(t, err, "*int", "the error names the type")
	} else {
		assert.ErrorIs(t, err, ErrBackendUnavailable)
	}
	assert.ErrorIs(t, err, ErrInvalidConfig)

	r, err := NewSpillRing(SpillConfig[uint64]{Capacity: 8})
	require.NoError(t, err)
	if cBackendAvailable {
		assert.Equal(t, BackendC, r.Backend(), "Auto picks C for a pointer-free T")
	} else {
		assert.Equal(t, BackendGo, r.Backend())
	}
	s, err := NewSpillRing(SpillConfig[string]{Capacity: 8})
	require.NoError(t, err)
	assert.Equal(t, BackendGo, s.Backend(), "Auto picks Go for a T with pointers")

	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 1, nil, b)
		assert.Equal(t, 1, r.Cap())
		assert.True(t, r.IsEmpty())
		assert.False(t, r.IsFull())
		_, err := NewSpillRing(SpillConfig[uint64]{Capacity: 8, Backend: b, SpillBuffer: 3})
		assert.NoError(t, err, "a spill buffer need not be a power of two")
	})
}

func TestSpillRingCSpill(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 8, nil, b)
		p, err := r.CSpill()
		if b == BackendGo {
			assert.ErrorIs(t, err, ErrNotC)
			assert.Nil(t, p)
			return
		}
		require.NoError(t, err)
		assert.NotNil(t, p)
	})
}

func TestSpillRingEvictionOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r := newSR[uint64](t, 4, out, b)
		for v := range uint64(10) {
			require.NoError(t, r.Push(v))
			srCheckCounts(t, r)
		}
		assert.Equal(t, srSeq(0, 6), out.items, "the oldest items spill first, in push order")
		assert.Equal(t, 6, out.sends)
		assert.Equal(t, srSeq(6, 4), srContents(r))
		assert.True(t, r.IsFull())
		assert.EqualValues(t, 10, r.Pushed())
		assert.EqualValues(t, 6, r.Spilled())
		assert.EqualValues(t, 0, r.Popped())
		for want := range uint64(4) {
			v, ok := r.Pop()
			require.True(t, ok)
			assert.Equal(t, 6+want, v)
		}
		_, ok := r.Pop()
		assert.False(t, ok)
		assert.EqualValues(t, 4, r.Popped())
		srCheckCounts(t, r)
	})
}

func TestSpillRingDefaultSpout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 8, nil, b)
		for v := range uint64(100) {
			require.NoError(t, r.Push(v))
		}
		// Read-only views of the unsettled state (Push ran past the full
		// ring), then the same after a settling call.
		assert.Equal(t, 8, r.Len())
		assert.True(t, r.IsFull())
		assert.EqualValues(t, 92, r.Spilled(), "the drops are counted")
		srCheckCounts(t, r)
		v, ok := r.Peek()
		assert.True(t, ok)
		assert.EqualValues(t, 92, v)
		v, ok = r.PeekBack()
		assert.True(t, ok)
		assert.EqualValues(t, 99, v)
		v, ok = r.Get(3)
		assert.True(t, ok)
		assert.EqualValues(t, 95, v)
		assert.Equal(t, srSeq(92, 8), srContents(r))

		v, ok = r.Pop()
		assert.True(t, ok)
		assert.EqualValues(t, 92, v)
		assert.EqualValues(t, 92, r.Spilled())
		n, err := r.PushSlice(srSeq(100, 20))
		require.NoError(t, err)
		assert.Equal(t, 20, n)
		assert.Equal(t, srSeq(112, 8), srContents(r))
		assert.EqualValues(t, 92+19, r.Spilled(), "7 from the ring, then the slice's first 12")
		require.NoError(t, r.Flush())
		assert.Zero(t, r.Len())
		assert.EqualValues(t, 120-1, r.Spilled())
		srCheckCounts(t, r)
	})
}

func TestSpillRingWrapAround(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r := newSR[uint64](t, 8, out, b)
		var next, popped uint64
		rng := rand.New(rand.NewPCG(1, 2))
		for lap := 0; lap < 2000; lap++ { // thousands of laps of 8 slots
			for range 1 + rng.IntN(9) {
				require.NoError(t, r.Push(next))
				next++
			}
			for range rng.IntN(r.Len() + 1) {
				v, ok := r.Pop()
				require.True(t, ok)
				require.Less(t, v, next)
				popped++
			}
			srCheckCounts(t, r)
		}
		// Every item was either spilled, popped or is still in the ring,
		// and what spilled came out in push order.
		assert.True(t, slices.IsSorted(out.items))
		assert.Equal(t, next, uint64(len(out.items))+popped+uint64(r.Len()))
		assert.Greater(t, r.Pushed(), uint64(8*1000))
	})
}

func TestSpillRingSlices(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r := newSR[uint64](t, 8, out, b)

		// Fits, across the wrap (start the ring at slot 5).
		n, err := r.PushSlice(srSeq(0, 5))
		require.NoError(t, err)
		require.Equal(t, 5, n)
		dst := make([]uint64, 16)
		assert.Equal(t, 5, r.PopSlice(dst))
		assert.Equal(t, srSeq(0, 5), dst[:5])
		n, err = r.PushSlice(srSeq(5, 6)) // slots 5,6,7,0,1,2
		require.NoError(t, err)
		assert.Equal(t, 6, n)
		assert.Equal(t, srSeq(5, 6), srContents(r))
		assert.Empty(t, out.items)

		// Needs 4 evictions: one batch of the ring's oldest 4.
		n, err = r.PushSlice(srSeq(11, 6))
		require.NoError(t, err)
		assert.Equal(t, 6, n)
		assert.Equal(t, srSeq(5, 4), out.items)
		assert.Equal(t, srSeq(9, 8), srContents(r))
		assert.Zero(t, out.sends, "evictions of a batch never go one by one")
		batches := out.batches
		assert.LessOrEqual(t, batches, 2)

		// Longer than the ring: the ring's 8 items (which wrap: two
		// batches at most), then the slice's own first 12, then the
		// slice's last 8 are the ring.
		n, err = r.PushSlice(srSeq(17, 20))
		require.NoError(t, err)
		assert.Equal(t, 20, n)
		assert.Equal(t, srSeq(5, 24), out.items)
		assert.Equal(t, srSeq(29, 8), srContents(r))
		assert.LessOrEqual(t, out.batches-batches, 3)
		assert.Zero(t, out.sends)
		srCheckCounts(t, r)

		// PopSlice across the wrap, in parts.
		assert.Equal(t, 3, r.PopSlice(dst[:3]))
		assert.Equal(t, srSeq(29, 3), dst[:3])
		assert.Equal(t, 5, r.PopSlice(dst))
		assert.Equal(t, srSeq(32, 5), dst[:5])
		assert.Zero(t, r.PopSlice(dst))
		assert.Zero(t, r.PopSlice(nil))
		n, err = r.PushSlice(nil)
		assert.NoError(t, err)
		assert.Zero(t, n)
		srCheckCounts(t, r)
	})
}

func TestSpillRingChain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		rb := newSR[uint64](t, 8, out, b)
		ra := newSR[uint64](t, 4, rb, b) // A spills into B spills into out
		for v := range uint64(50) {
			require.NoError(t, ra.Push(v))
		}
		n, err := ra.PushSlice(srSeq(50, 50))
		require.NoError(t, err)
		assert.Equal(t, 50, n)
		assert.Equal(t, srSeq(96, 4), srContents(ra))
		assert.Equal(t, srSeq(88, 8), srContents(rb))
		assert.Equal(t, srSeq(0, 88), out.items)
		srCheckCounts(t, ra)
		srCheckCounts(t, rb)

		// Flush moves A into B, and B's Flush (which A's calls) moves
		// everything on to out, in order, and flushes it.
		require.NoError(t, ra.Flush())
		assert.Zero(t, ra.Len())
		assert.Zero(t, rb.Len())
		assert.Equal(t, srSeq(0, 100), out.items)
		assert.Equal(t, 1, out.flushes)
		assert.EqualValues(t, 100, ra.Spilled())
		assert.EqualValues(t, 100, rb.Pushed())
	})
}

func TestSpillRingFlush(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r := newSR[uint64](t, 8, out, b)
		require.NoError(t, r.Flush())
		assert.Equal(t, 1, out.flushes, "an empty ring still flushes its spout")
		assert.Zero(t, out.batches)

		_, err := r.PushSlice(srSeq(0, 6))
		require.NoError(t, err)
		r.PopSlice(make([]uint64, 4))
		_, err = r.PushSlice(srSeq(6, 7)) // 9 items from slot 4: wraps
		require.NoError(t, err)
		require.NoError(t, r.Flush())
		assert.Equal(t, srSeq(4, 9), out.items)
		assert.Zero(t, r.Len())
		assert.Zero(t, out.sends)
		assert.LessOrEqual(t, out.batches, 1+2)
		assert.Equal(t, 2, out.flushes)
		assert.EqualValues(t, 9, r.Spilled())
		assert.EqualValues(t, 4, r.Popped())
		srCheckCounts(t, r)
	})
}

func TestSpillRingClear(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srCollect[uint64]{}
		r := newSR[uint64](t, 4, out, b)
		_, err := r.PushSlice(srSeq(0, 6))
		require.NoError(t, err)
		r.Clear()
		assert.Zero(t, r.Len())
		assert.True(t, r.IsEmpty())
		assert.Equal(t, srSeq(0, 2), out.items, "Clear sends nothing")
		assert.EqualValues(t, 4, r.Popped(), "cleared items count as popped")
		srCheckCounts(t, r)
		require.NoError(t, r.Push(6))
		assert.Equal(t, []uint64{6}, srContents(r))
		r.Clear()
		r.Clear()
		srCheckCounts(t, r)

		d := newSR[uint64](t, 4, nil, b)
		for v := range uint64(9) {
			require.NoError(t, d.Push(v))
		}
		d.Clear()
		assert.EqualValues(t, 5, d.Spilled())
		assert.EqualValues(t, 4, d.Popped())
		srCheckCounts(t, d)
	})
}

func TestSpillRingFailingSpout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srFailing[uint64]{budget: 0}
		r := newSR[uint64](t, 4, out, b)
		_, err := r.PushSlice(srSeq(0, 4))
		require.NoError(t, err, "no eviction, no spout")

		// Push: refused, the new item is not taken, nothing changes.
		err = r.Push(4)
		assert.ErrorIs(t, err, errSrRefused)
		assert.Equal(t, srSeq(0, 4), srContents(r))
		assert.EqualValues(t, 4, r.Pushed())
		assert.Zero(t, r.Spilled())
		assert.Empty(t, out.items)
		err = r.Send(4)
		assert.ErrorIs(t, err, errSrRefused)

		// PushSlice: the spout takes 1 of 3 evictions; the ring takes
		// what fits in the room that made.
		out.budget = 1
		n, err := r.PushSlice(srSeq(4, 3))
		assert.ErrorIs(t, err, errSrRefused)
		assert.Equal(t, 1, n)
		assert.Equal(t, []uint64{0}, out.items)
		assert.Equal(t, srSeq(1, 4), srContents(r))
		srCheckCounts(t, r)

		// Longer than the ring: all 4 ring items go, then 2 of the
		// slice's own 6 leading items; the ring then takes the next 4.
		out.budget = 6
		n, err = r.SendBatch(srSeq(5, 10))
		assert.ErrorIs(t, err, errSrRefused)
		assert.Equal(t, 6, n)
		assert.Equal(t, srSeq(0, 7), out.items)
		assert.Equal(t, srSeq(7, 4), srContents(r))
		srCheckCounts(t, r)

		// Flush: takes 2, refuses 2, and does not flush the spout.
		out.budget = 2
		err = r.Flush()
		assert.ErrorIs(t, err, errSrRefused)
		assert.Equal(t, srSeq(0, 9), out.items)
		assert.Equal(t, srSeq(9, 2), srContents(r))
		assert.Zero(t, out.flushes)
		srCheckCounts(t, r)

		// A failing Flush of the spout itself is reported.
		out.budget = -1
		out.failFlush = true
		assert.ErrorIs(t, r.Flush(), errSrRefused)
		assert.Zero(t, r.Len())
		assert.Equal(t, srSeq(0, 11), out.items)

		// Nothing was lost or duplicated.
		assert.EqualValues(t, 11, r.Pushed())
		assert.EqualValues(t, 11, r.Spilled())
		srCheckCounts(t, r)
	})
}

func TestSpillRingShortSpout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		out := &srShort{}
		r := newSR[uint64](t, 4, out, b)
		_, err := r.PushSlice(srSeq(0, 4))
		require.NoError(t, err)
		n, err := r.PushSlice(srSeq(4, 4))
		assert.ErrorIs(t, err, io.ErrShortWrite, "a short batch without an error gets one")
		assert.Equal(t, 2, n)
		assert.Equal(t, srSeq(0, 2), out.items)
		assert.Equal(t, srSeq(2, 4), srContents(r))
		srCheckCounts(t, r)
	})
}

func TestSpillRingPeekGet(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 4, &srCollect[uint64]{}, b)
		_, ok := r.Peek()
		assert.False(t, ok)
		_, ok = r.PeekBack()
		assert.False(t, ok)
		_, ok = r.Get(0)
		assert.False(t, ok)
		for v := range uint64(6) {
			require.NoError(t, r.Push(v))
		}
		v, ok := r.Peek()
		assert.True(t, ok)
		assert.EqualValues(t, 2, v)
		v, ok = r.PeekBack()
		assert.True(t, ok)
		assert.EqualValues(t, 5, v)
		for i := range 4 {
			v, ok = r.Get(i)
			assert.True(t, ok)
			assert.EqualValues(t, 2+i, v)
		}
		_, ok = r.Get(4)
		assert.False(t, ok)
		_, ok = r.Get(-1)
		assert.False(t, ok)
		assert.Equal(t, 4, r.Len(), "peeking takes nothing")
	})
}

func TestSpillRingAllDrain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 8, nil, b)
		_, err := r.PushSlice(srSeq(0, 11))
		require.NoError(t, err)
		assert.Equal(t, srSeq(3, 8), srContents(r))
		for v := range r.All() {
			if v == 5 {
				break
			}
		}
		assert.Equal(t, 8, r.Len(), "All is a view")
		assert.PanicsWithValue(t, "spillring: SpillRing misuse: ring changed during All", func() {
			for range r.All() {
				r.Pop()
			}
		})

		r.Clear()
		_, err = r.PushSlice(srSeq(0, 6))
		require.NoError(t, err)
		var got []uint64
		for v := range r.Drain() {
			got = append(got, v)
			if v == 2 {
				break
			}
		}
		assert.Equal(t, srSeq(0, 3), got)
		assert.Equal(t, srSeq(3, 3), srContents(r), "breaking leaves the rest")
		got = slices.Collect(r.Drain())
		assert.Equal(t, srSeq(3, 3), got)
		assert.True(t, r.IsEmpty())
		srCheckCounts(t, r)
	})
}

func TestSpillRingPointerItems(t *testing.T) {
	out := &srCollect[*string]{}
	r := newSR[*string](t, 4, out, BackendGo)
	words := []string{"a", "b", "c", "d", "e", "f"}
	for i := range words {
		require.NoError(t, r.Push(&words[i]))
	}
	require.Len(t, out.items, 2)
	assert.Equal(t, "a", *out.items[0])
	v, ok := r.Pop()
	require.True(t, ok)
	assert.Equal(t, "c", *v)
	// Items that left the ring are not kept alive by its slots.
	h := r.l.head
	assert.Nil(t, *r.slot(h - 1))
	r.PopSlice(make([]*string, 2))
	assert.Nil(t, *r.slot(h))
	assert.Nil(t, *r.slot(h + 1))
	require.NoError(t, r.Flush())
	for i := range uint64(4) {
		assert.Nil(t, *r.slot(i))
	}
}

// TestSpillRingProperty runs random operation sequences with a collecting
// spout and checks, after each step, the accounting and that the items are
// conserved: every pushed item is either spilled (arriving in push order),
// popped, or still in the ring, exactly once.
func TestSpillRingProperty(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 40
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for round := range rounds {
			rng := rand.New(rand.NewPCG(uint64(round), 7))
			capacity := 1 << rng.IntN(5)
			out := &srCollect[uint64]{}
			r := newSR[uint64](t, capacity, out, b)
			var next uint64
			var popped []uint64
			buf := make([]uint64, 3*capacity)
			for range 300 {
				switch op := rng.IntN(10); {
				case op < 4:
					require.NoError(t, r.Push(next))
					next++
				case op < 6:
					k := rng.IntN(len(buf))
					for i := range k {
						buf[i] = next + uint64(i)
					}
					n, err := r.PushSlice(buf[:k])
					require.NoError(t, err)
					require.Equal(t, k, n)
					next += uint64(k)
				case op < 8:
					if v, ok := r.Pop(); ok {
						popped = append(popped, v)
					}
				case op < 9:
					n := r.PopSlice(buf[:rng.IntN(len(buf))])
					popped = append(popped, buf[:n]...)
				default:
					require.NoError(t, r.Flush())
				}
				srCheckCounts(t, r)
				require.Equal(t, uint64(len(out.items)), r.Spilled())
				require.Equal(t, uint64(len(popped)), r.Popped())
			}
			require.True(t, slices.IsSorted(out.items), "spilled items arrive in push order")
			require.True(t, slices.IsSorted(popped), "popped items come in push order")
			all := slices.Concat(out.items, popped, srContents(r))
			slices.Sort(all)
			require.Equal(t, srSeq(0, int(next)), all, fmt.Sprintf("round %d: every item exactly once", round))
		}
	})
}

func TestSpillRingAllocs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		r := newSR[uint64](t, 64, nil, b)
		for v := range uint64(64) {
			require.NoError(t, r.Push(v))
		}
		batch := make([]uint64, 16)
		var v uint64
		allocs := testing.AllocsPerRun(1000, func() {
			_ = r.Push(v) // spills into the default spout
			v++
			_ = r.Push(v)
			v++
			_, _ = r.Pop()
		})
		assert.Zero(t, allocs, "Push/Pop on a full ring")
		allocs = testing.AllocsPerRun(1000, func() {
			_, _ = r.PushSlice(batch)
			_ = r.PopSlice(batch[:8])
		})
		assert.Zero(t, allocs, "PushSlice/PopSlice on a full ring")

		out := &srCollect[uint64]{items: make([]uint64, 0, 1<<16)}
		c := newSR[uint64](t, 64, out, b)
		_, _ = c.PushSlice(make([]uint64, 64))
		allocs = testing.AllocsPerRun(1000, func() {
			_ = c.Push(v)
			_, _ = c.Pop()
			_ = c.Push(v)
		})
		assert.Zero(t, allocs, "Push/Pop spilling into a spout")
	})
}
