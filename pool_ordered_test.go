package spillring

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ordKey is an item's place in dispatch order: round, then worker, then
// its index in the worker's round. An ordered pool's output, whatever it
// spilled, has strictly increasing keys.
func ordKey(round uint64, w int, i uint64) uint64 { return round<<32 | uint64(w)<<24 | i }

// ordCount is how many items worker w pushes in round r: 0 to 12, 0 now
// and then.
func ordCount(r uint64, w int) uint64 { return (r*7 + uint64(w)*5) % 13 }

// ordWork pushes ordKey(round, w, i) for i < ordCount(round, w); now and
// then a worker dawdles first, so that workers end rounds in changing
// orders.
func ordWork(out *SpillRing[uint64], w int, round uint64) error {
	if (round+uint64(w))%4 == 0 {
		for t0 := time.Now(); time.Since(t0) < 20*time.Microsecond; {
		}
	}
	for i := range ordCount(round, w) {
		if err := out.Push(ordKey(round, w, i)); err != nil {
			return err
		}
	}
	return nil
}

// ordHarness drives an ordered pool whatever its work (Go or C) and args.
type ordHarness struct {
	dispatch func(round uint64) error
	join     func() error
	collect  func(sink Spout[uint64]) (int, error)
	key      func(v uint64) uint64 // the item's ordKey
	keys     func(rounds uint64) []uint64
	stats    func() PoolStats
	close    func() error
}

// newGoOrdered is an ordered pool of Go work (ordWork) on backend b.
func newGoOrdered(t *testing.T, b Backend, workers, capacity, window int, overflow Spout[uint64]) ordHarness {
	p, err := NewPool(PoolConfig[uint64, uint64]{
		Workers: workers, RingCapacity: capacity, OrderWindow: window, Overflow: overflow,
		Work: ordWork, Backend: b,
	})
	require.NoError(t, err)
	return ordHarness{
		dispatch: p.Dispatch,
		join:     p.Join,
		collect:  p.Collect,
		key:      func(v uint64) uint64 { return v },
		keys:     func(rounds uint64) []uint64 { return newGoOrderedKeys(workers, rounds) },
		stats:    p.Stats,
		close:    p.Close,
	}
}

// ordSpout records the keys it takes; with failEvery > 0, every
// failEvery-th SendBatch takes half and fails.
type ordSpout struct {
	mu        sync.Mutex
	key       func(uint64) uint64
	got       []uint64
	calls     int
	failEvery int
}

func (s *ordSpout) Send(v uint64) error { _, err := s.SendBatch([]uint64{v}); return err }
func (s *ordSpout) Flush() error        { return nil }
func (s *ordSpout) SendBatch(vs []uint64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	take, err := len(vs), error(nil)
	if s.failEvery > 0 && s.calls%s.failEvery == 0 {
		take, err = len(vs)/2, errRefused
	}
	for _, v := range vs[:take] {
		s.got = append(s.got, s.key(v))
	}
	return take, err
}

// ordCases are the ordered pools under test: each backend with Go work,
// and the C backend with C work.
func ordCases() map[string]func(t *testing.T, workers, capacity, window int, overflow Spout[uint64]) ordHarness {
	cs := map[string]func(t *testing.T, workers, capacity, window int, overflow Spout[uint64]) ordHarness{}
	for _, b := range poolBackends() {
		cs[b.String()+"/go-work"] = func(t *testing.T, workers, capacity, window int, overflow Spout[uint64]) ordHarness {
			return newGoOrdered(t, b, workers, capacity, window, overflow)
		}
	}
	if cBackendAvailable {
		cs["C/c-work"] = newCOrdered
	}
	return cs
}

// runOrdered dispatches rounds 1..rounds while a collector runs, retrying
// a dispatch the window refuses, then collects what is left.
func runOrdered(t *testing.T, h ordHarness, rounds uint64, sink Spout[uint64]) {
	t.Helper()
	collect := func() bool {
		if _, err := h.collect(sink); err != nil && !errors.Is(err, errRefused) {
			t.Errorf("Collect: %v", err)
			return false
		}
		runtime.Gosched()
		return true
	}
	stop := loopUntil(collect)
	for r := uint64(1); r <= rounds; r++ {
		runWindowed(t, h, r)
	}
	stop()
	for range 1000 {
		n, err := h.collect(sink)
		if err != nil {
			require.ErrorIs(t, err, errRefused)
			continue
		}
		if n == 0 && h.stats().InRings == 0 {
			return
		}
	}
	t.Fatalf("the pool does not drain: %+v", h.stats())
}

// runWindowed runs round r, dispatching again while the window refuses it
// (a collector elsewhere frees it), for up to a minute.
func runWindowed(t *testing.T, h ordHarness, r uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := h.dispatch(r)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, ErrOrderWindow)
		require.True(t, time.Now().Before(deadline), "the window never frees: %v", err)
		runtime.Gosched()
	}
	require.NoError(t, h.join())
}

// TestPoolOrdered: an ordered pool's Collect hands on every item in
// dispatch order (round, then worker, then push order), whatever order the
// workers end their rounds in, with a collector running during the rounds,
// a sink that refuses now and then, and the window holding the dispatcher
// back; nothing is lost.
func TestPoolOrdered(t *testing.T) {
	rounds := uint64(300)
	if testing.Short() {
		rounds = 80
	}
	for name, mk := range ordCases() {
		for _, workers := range []int{1, 2, 3} {
			for _, failEvery := range []int{0, 3} {
				t.Run(fmt.Sprintf("%s/w%d/fail%d", name, workers, failEvery), func(t *testing.T) {
					// Rings big enough for a window of rounds: no spills.
					h := mk(t, workers, 256, 8, nil)
					defer h.close()
					sink := &ordSpout{key: h.key, failEvery: failEvery}
					runOrdered(t, h, rounds, sink)
					want := h.keys(rounds)
					require.Equal(t, len(want), len(sink.got))
					require.Equal(t, want, sink.got, "not in dispatch order")
					st := h.stats()
					assert.Equal(t, uint64(len(want)), st.Pushed)
					assert.Equal(t, st.Pushed, st.Collected)
					assert.Zero(t, st.Spilled)
				})
			}
		}
	}
}

// TestPoolOrderedSpill: with small rings and a collector that does not keep
// up, workers merge rounds into one batch and spill its oldest items; what
// is collected is still in dispatch order, and collected and spilled items
// are every pushed item exactly once.
func TestPoolOrderedSpill(t *testing.T) {
	rounds := uint64(400)
	if testing.Short() {
		rounds = 100
	}
	for name, mk := range ordCases() {
		for _, record := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/record=%v", name, record), func(t *testing.T) {
				over := &ordSpout{}
				var overflow Spout[uint64]
				if record {
					overflow = over // else the rings drop, and count
				}
				h := mk(t, 2, 8, 16, overflow)
				defer h.close()
				over.key = h.key
				sink := &ordSpout{key: h.key, failEvery: 2}
				slow := slowOrdSpout{inner: sink, delay: 200 * time.Microsecond}
				runOrdered(t, h, rounds, slow)
				for j := 1; j < len(sink.got); j++ {
					require.Less(t, sink.got[j-1], sink.got[j], "item %d out of dispatch order", j)
				}
				st := h.stats()
				assert.Positive(t, st.Merged, "the test should make workers merge")
				assert.Positive(t, st.Spilled, "the test should make rings spill")
				assert.Equal(t, uint64(len(sink.got)), st.Collected)
				assert.Equal(t, st.Pushed, st.Collected+st.Spilled)
				assert.Equal(t, uint64(len(h.keys(rounds))), st.Pushed)
				if record {
					all := append(slices.Clone(sink.got), over.got...)
					slices.Sort(all)
					require.Equal(t, h.keys(rounds), all, "collected + spilled != pushed")
					assert.Equal(t, uint64(len(over.got)), st.Spilled)
				}
			})
		}
	}
}

// slowOrdSpout sleeps before each batch.
type slowOrdSpout struct {
	inner Spout[uint64]
	delay time.Duration
}

func (s slowOrdSpout) Send(v uint64) error { time.Sleep(s.delay); return s.inner.Send(v) }
func (s slowOrdSpout) Flush() error        { return s.inner.Flush() }
func (s slowOrdSpout) SendBatch(vs []uint64) (int, error) {
	time.Sleep(s.delay)
	return s.inner.SendBatch(vs)
}

// TestPoolOrderWindow: OrderWindow rounds may wait to be collected; a
// round beyond them is refused with ErrOrderWindow, changing nothing; once
// the oldest round is collected, the dispatch goes through.
func TestPoolOrderWindow(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, uint64]{Workers: 2, OrderWindow: 4, Work: ordWork, Backend: b})
			require.NoError(t, err)
			defer p.Close()
			for r := uint64(1); r <= 4; r++ {
				require.NoError(t, p.Run(r))
			}
			err = p.Dispatch(5)
			require.ErrorIs(t, err, ErrOrderWindow)
			assert.Contains(t, err.Error(), "round 5")
			require.ErrorIs(t, p.Join(), ErrNoRound, "the refused dispatch started nothing")
			assert.Equal(t, uint64(4), p.Stats().Rounds)

			// Round 1 of worker 0 only: still refused (worker 1 holds it).
			sink := &ordSpout{key: func(v uint64) uint64 { return v }, failEvery: 1}
			_, err = p.Collect(sink)
			require.ErrorIs(t, err, errRefused)
			require.ErrorIs(t, p.Run(5), ErrOrderWindow)

			sink.failEvery = 0
			_, err = p.Collect(sink)
			require.NoError(t, err)
			require.NoError(t, p.Run(5))
			_, err = p.Collect(sink)
			require.NoError(t, err)
			want := newGoOrderedKeys(2, 5)
			assert.Equal(t, want, sink.got)
		})
	}
}

// newGoOrderedKeys is every ordWork key of rounds 1..rounds, in order.
func newGoOrderedKeys(workers int, rounds uint64) []uint64 {
	var ks []uint64
	for r := uint64(1); r <= rounds; r++ {
		for w := range workers {
			for i := range ordCount(r, w) {
				ks = append(ks, ordKey(r, w, i))
			}
		}
	}
	return ks
}

// TestPoolOrderedMergers: 8 workers, 2 mergers on goroutines of their own,
// each submitting its rounds to one SequencedSpout: the spout's output is
// the whole pool's items round by round in dispatch order (a round's two
// parts in the order they arrived), each worker's in push order, every
// item exactly once.
func TestPoolOrderedMergers(t *testing.T) {
	rounds := uint64(200)
	if testing.Short() {
		rounds = 60
	}
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			const workers = 8
			p, err := NewPool(PoolConfig[uint64, uint64]{Workers: workers, RingCapacity: 256, OrderWindow: 8, Work: ordWork, Backend: b})
			require.NoError(t, err)
			defer p.Close()
			ms, err := p.Mergers(2)
			require.NoError(t, err)
			out := &ordSpout{key: func(v uint64) uint64 { return v }, failEvery: 3}
			seq, err := Sequenced[uint64](out, SequencedConfig{First: 1, Parts: len(ms), MaxItems: 256})
			require.NoError(t, err)
			var stops []func()
			for _, m := range ms {
				stops = append(stops, loopUntil(func() bool {
					_, err := m.CollectSequenced(seq)
					if err != nil && !errors.Is(err, ErrSequenceBufferFull) {
						t.Errorf("merger %d: %v", m.ID(), err)
						return false
					}
					runtime.Gosched()
					return true
				}))
			}
			h := ordHarness{dispatch: p.Dispatch, join: p.Join, stats: p.Stats,
				collect: func(Spout[uint64]) (int, error) { return 0, nil }}
			for r := uint64(1); r <= rounds; r++ {
				runWindowed(t, h, r)
			}
			for _, stop := range stops {
				stop()
			}
			for range 1000 {
				if p.Stats().InRings == 0 && seq.Next() == rounds+1 {
					break
				}
				for _, m := range ms {
					if _, err := m.CollectSequenced(seq); err != nil {
						require.ErrorIs(t, err, ErrSequenceBufferFull)
					}
				}
				_ = seq.Flush()
			}
			for seq.Flush() != nil {
			}
			for j := 1; j < len(out.got); j++ {
				require.LessOrEqual(t, out.got[j-1]>>32, out.got[j]>>32, "item %d: round out of order", j)
			}
			perWorker := map[uint64][]uint64{}
			for _, k := range out.got {
				perWorker[k>>24] = append(perWorker[k>>24], k)
			}
			for rw, ks := range perWorker {
				require.True(t, slices.IsSorted(ks), "round %d worker %d out of order", rw>>8, rw&0xff)
			}
			all := slices.Clone(out.got)
			slices.Sort(all)
			require.Equal(t, newGoOrderedKeys(workers, rounds), all)
			assert.Equal(t, rounds+1, seq.Next())
		})
	}
}

// TestPoolOrderedMergerCollect: a merger's Collect on an ordered pool is in
// dispatch order over its own workers.
func TestPoolOrderedMergerCollect(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, uint64]{Workers: 4, RingCapacity: 256, OrderWindow: 64, Work: ordWork, Backend: b})
			require.NoError(t, err)
			defer p.Close()
			ms, err := p.Mergers(2)
			require.NoError(t, err)
			for r := uint64(1); r <= 40; r++ {
				require.NoError(t, p.Run(r))
			}
			for j, m := range ms {
				sink := &ordSpout{key: func(v uint64) uint64 { return v }}
				_, err := m.Collect(sink)
				require.NoError(t, err)
				var want []uint64
				for _, k := range newGoOrderedKeys(4, 40) {
					if int(k>>24&0xff)%2 == j {
						want = append(want, k)
					}
				}
				assert.Equal(t, want, sink.got, "merger %d", j)
			}
			assert.Zero(t, p.Stats().InRings)
		})
	}
}

// TestPoolOrderedErrors: bad windows, and CollectSequenced's errors.
func TestPoolOrderedErrors(t *testing.T) {
	for _, w := range []int{-1, MaxOrderWindow + 1} {
		_, err := NewPool(PoolConfig[uint64, uint64]{Workers: 1, OrderWindow: w, Work: ordWork})
		require.ErrorIs(t, err, ErrInvalidConfig, "window %d", w)
	}
	p, err := NewPool(PoolConfig[uint64, uint64]{Workers: 2, Work: ordWork})
	require.NoError(t, err)
	ms, err := p.Mergers(1)
	require.NoError(t, err)
	seq, err := Sequenced[uint64](Drop[uint64](), SequencedConfig{First: 1})
	require.NoError(t, err)
	_, err = ms[0].CollectSequenced(seq)
	require.ErrorIs(t, err, ErrInvalidConfig, "unordered pool")
	require.NoError(t, p.Close())

	p, err = NewPool(PoolConfig[uint64, uint64]{Workers: 2, OrderWindow: 2, Work: ordWork})
	require.NoError(t, err)
	ms, err = p.Mergers(1)
	require.NoError(t, err)
	_, err = ms[0].CollectSequenced(nil)
	require.ErrorIs(t, err, ErrNilSpout)
	require.NoError(t, p.Close())
	_, err = ms[0].CollectSequenced(seq)
	require.ErrorIs(t, err, ErrClosed)
	_, err = p.Collect(Drop[uint64]())
	require.ErrorIs(t, err, ErrClosed)
}

// TestPoolOrderedNoAllocs: an ordered round and its ordered Collect
// allocate nothing.
func TestPoolOrderedNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadows allocate")
	}
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, uint64]{Workers: 2, OrderWindow: 4, Backend: b,
				Work: func(out *SpillRing[uint64], w int, r uint64) error { return out.Push(r) }})
			require.NoError(t, err)
			defer p.Close()
			var sink countSpout
			r := uint64(0)
			round := func() {
				r++
				if err := p.Run(r); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Collect(&sink); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				round()
			}
			assert.Zero(t, testing.AllocsPerRun(200, round))
			assert.Equal(t, 2*r, sink.n.Load())
		})
	}
}
