package spillring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolBackends are the backends this build has.
func poolBackends() []Backend {
	if cBackendAvailable {
		return []Backend{BackendC, BackendGo}
	}
	return []Backend{BackendGo}
}

// recSpout records what it takes, per worker (the item's high bits), under
// a lock; with failEvery > 0, every failEvery-th SendBatch takes only half
// and fails.
type recSpout struct {
	mu        sync.Mutex
	items     map[int][]uint64
	calls     int
	failEvery int
	n         int
}

var errRefused = errors.New("test sink refuses")

func newRecSpout(failEvery int) *recSpout {
	return &recSpout{items: map[int][]uint64{}, failEvery: failEvery}
}

func (s *recSpout) add(v uint64) {
	s.items[int(v>>40)] = append(s.items[int(v>>40)], v&(1<<40-1))
	s.n++
}

func (s *recSpout) Send(v uint64) error {
	_, err := s.SendBatch([]uint64{v})
	return err
}

func (s *recSpout) SendBatch(vs []uint64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	take, err := len(vs), error(nil)
	if s.failEvery > 0 && s.calls%s.failEvery == 0 {
		take, err = len(vs)/2, errRefused
	}
	for _, v := range vs[:take] {
		s.add(v)
	}
	return take, err
}

func (s *recSpout) Flush() error { return nil }

// seqWork is the Go twin of internal/cwork's cw_seq: worker w pushes
// w<<40 | n, n counting up over all its rounds.
type seqWork struct {
	next []uint64 // per worker; each worker touches only its own
}

type seqArgs struct {
	Count uint64
	Fail  int32 // nonzero: worker Fail-1 fails (Go: returns an error)
	Panic int32 // nonzero: worker Panic-1 panics after its pushes
}

var errWork = errors.New("work failed")

func (s *seqWork) work(out *SpillRing[uint64], w int, a seqArgs) error {
	for range a.Count {
		if err := out.Push(uint64(w)<<40 | s.next[w]); err != nil {
			return err
		}
		s.next[w]++
	}
	if a.Panic != 0 && int(a.Panic-1) == w {
		panic(fmt.Sprintf("worker %d panics", w))
	}
	if a.Fail != 0 && int(a.Fail-1) == w {
		return errWork
	}
	return nil
}

// drainPool collects until nothing is left (retrying a refusing sink).
func drainPool[A any](t *testing.T, p *WorkerPool[uint64, A], sink Spout[uint64]) {
	t.Helper()
	for range 1000 {
		n, err := p.Collect(sink)
		if err != nil {
			require.ErrorIs(t, err, errRefused)
			continue
		}
		if n == 0 && p.Stats().InRings == 0 {
			return
		}
	}
	t.Fatalf("pool does not drain: %+v", p.Stats())
}

// checkPoolItems checks that each worker's collected items are in order,
// and that collected and spilled items together are exactly 0..pushed-1
// (when spilled items are recorded) or, when dropped, that the counts add
// up.
func checkPoolItems(t *testing.T, workers int, pushed func(int) uint64, sink, over *recSpout, st PoolStats) {
	t.Helper()
	var total uint64
	for w := range workers {
		got := sink.items[w]
		for j := 1; j < len(got); j++ {
			if got[j] <= got[j-1] {
				t.Fatalf("worker %d: item %d (%d) after %d: out of order", w, j, got[j], got[j-1])
			}
		}
		n := pushed(w)
		total += n
		if over == nil {
			continue
		}
		all := append(slices.Clone(got), over.items[w]...)
		slices.Sort(all)
		for j, v := range all {
			if uint64(j) != v {
				t.Fatalf("worker %d: item %d missing or doubled (found %d at %d; collected %d + spilled %d, pushed %d)", w, j, v, j, len(got), len(over.items[w]), n)
			}
		}
		if len(all) != int(n) {
			t.Fatalf("worker %d: collected %d + spilled %d, pushed %d", w, len(got), len(over.items[w]), n)
		}
	}
	assert.Equal(t, total, st.Pushed, "Stats.Pushed")
	assert.Equal(t, uint64(sink.n), st.Collected, "Stats.Collected")
	if over != nil {
		assert.Equal(t, uint64(over.n), st.Spilled, "Stats.Spilled")
	}
	assert.Equal(t, st.Pushed, st.Collected+st.Spilled, "all collected or spilled")
	assert.Zero(t, st.InRings)
}

// loopUntil calls f on a goroutine of its own, over and over, until f
// returns false or stop is called; stop returns once the goroutine has.
func loopUntil(f func() bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if !f() {
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// poolHarness drives one pool of the conformance suite, whatever its args
// type.
type poolHarness struct {
	run     func(count uint64) error // a round: each worker pushes count items
	pushed  func(w int) uint64       // what worker w pushed in all
	close   func() error
	stats   func() PoolStats
	collect func() (int, error)
	drain   func()
}

// poolCase is one kind of pool under the conformance suite: a backend and
// a kind of work function.
type poolCase struct {
	name    string
	backend Backend
	cwork   bool
}

func poolCases() []poolCase {
	var cs []poolCase
	for _, b := range poolBackends() {
		cs = append(cs, poolCase{name: b.String() + "/go-work", backend: b})
	}
	if cBackendAvailable {
		cs = append(cs, poolCase{name: "C/c-work", backend: BackendC, cwork: true})
	}
	return cs
}

// TestPoolConformance: every item of every worker in every round is
// collected or spilled exactly once, in per-worker order, with a collector
// running concurrently with the rounds, interleaved Collect and Run, a sink
// that refuses every other or third call, and with and without an Overflow
// spout.
func TestPoolConformance(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	for _, pc := range poolCases() {
		for _, workers := range []int{1, 2, 3} {
			for _, failEvery := range []int{0, 2, 3} {
				for _, record := range []bool{true, false} {
					name := fmt.Sprintf("%s/w%d/fail%d/record=%v", pc.name, workers, failEvery, record)
					t.Run(name, func(t *testing.T) {
						runPoolConformance(t, pc, workers, failEvery, record, rounds)
					})
				}
			}
		}
	}
}

func runPoolConformance(t *testing.T, pc poolCase, workers, failEvery int, record bool, rounds int) {
	var over *recSpout
	var overflow Spout[uint64]
	if record {
		over = newRecSpout(0)
		overflow = over
	}
	sink := newRecSpout(failEvery)
	const capacity = 16
	counts := func(r int) uint64 { return uint64(r*7) % (3 * capacity) }

	var h poolHarness
	if pc.cwork {
		h = newCSeqHarness(t, workers, capacity, 4*capacity*rounds, overflow, sink)
	} else {
		sw := &seqWork{next: make([]uint64, workers)}
		p, err := NewPool(PoolConfig[uint64, seqArgs]{
			Workers: workers, RingCapacity: capacity, Overflow: overflow,
			Work: sw.work, Backend: pc.backend,
		})
		require.NoError(t, err)
		require.Equal(t, pc.backend, p.Backend())
		h = poolHarness{
			run:     func(n uint64) error { return p.Run(seqArgs{Count: n}) },
			pushed:  func(w int) uint64 { return sw.next[w] },
			close:   p.Close,
			stats:   p.Stats,
			collect: func() (int, error) { return p.Collect(sink) },
			drain:   func() { drainPool(t, p, sink) },
		}
	}
	runRound := func(r int) error { return h.run(counts(r)) }
	pushed, closeFn, stats, collect, drain := h.pushed, h.close, h.stats, h.collect, h.drain
	// A collector concurrent with the rounds, and Collects between them.
	stop := loopUntil(func() bool {
		if _, err := collect(); err != nil && !errors.Is(err, errRefused) {
			t.Errorf("Collect: %v", err)
			return false
		}
		runtime.Gosched()
		return true
	})
	for r := range rounds {
		require.NoError(t, runRound(r))
	}
	stop()
	drain()
	st := stats()
	assert.Equal(t, uint64(rounds), st.Rounds)
	checkPoolItems(t, workers, pushed, sink, over, st)
	require.NoError(t, closeFn())
}

// TestPoolMergeBack: a collector that does not keep up makes workers merge
// their new items into the batch still waiting, which then overflows; no
// item is lost and per-worker order holds.
func TestPoolMergeBack(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			over, sink := newRecSpout(0), newRecSpout(0)
			sw := &seqWork{next: make([]uint64, 2)}
			p, err := NewPool(PoolConfig[uint64, seqArgs]{
				Workers: 2, RingCapacity: 8, Overflow: over, Work: sw.work, Backend: b,
			})
			require.NoError(t, err)
			defer p.Close()
			for r := range 50 {
				require.NoError(t, p.Run(seqArgs{Count: 5}))
				if r%10 == 9 {
					_, err := p.Collect(sink)
					require.NoError(t, err)
				}
			}
			drainPool(t, p, sink)
			st := p.Stats()
			assert.Positive(t, st.Merged, "merged back")
			assert.Positive(t, st.Spilled, "overflow fired")
			checkPoolItems(t, 2, func(w int) uint64 { return sw.next[w] }, sink, over, st)
		})
	}
}

// TestPoolPanicAndError: a panic in round k is a *WorkerPanic, an error a
// *WorkerError; round k+1 is clean, and no item is lost.
func TestPoolPanicAndError(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			over, sink := newRecSpout(0), newRecSpout(0)
			sw := &seqWork{next: make([]uint64, 2)}
			p, err := NewPool(PoolConfig[uint64, seqArgs]{Workers: 2, RingCapacity: 64, Overflow: over, Work: sw.work, Backend: b})
			require.NoError(t, err)
			defer p.Close()

			err = p.Run(seqArgs{Count: 3, Panic: 2})
			var wp *WorkerPanic
			require.ErrorAs(t, err, &wp)
			assert.Equal(t, 1, wp.Worker)
			assert.Equal(t, "worker 1 panics", wp.Value)
			assert.Contains(t, string(wp.Stack), "seqWork")

			require.NoError(t, p.Run(seqArgs{Count: 3}))

			err = p.Run(seqArgs{Count: 1, Fail: 1})
			var we *WorkerError
			require.ErrorAs(t, err, &we)
			assert.Equal(t, 0, we.Worker)
			assert.ErrorIs(t, err, errWork)
			assert.False(t, errors.As(err, &wp), "no panic this round")

			require.NoError(t, p.Run(seqArgs{Count: 1}))
			drainPool(t, p, sink)
			checkPoolItems(t, 2, func(w int) uint64 { return sw.next[w] }, sink, over, p.Stats())
		})
	}
}

// TestPoolErrors: bad input gets a clear error.
func TestPoolErrors(t *testing.T) {
	work := func(*SpillRing[uint64], int, int) error { return nil }
	bad := []struct {
		name string
		cfg  PoolConfig[uint64, int]
		is   error
	}{
		{"workers 0", PoolConfig[uint64, int]{Workers: 0, Work: work}, ErrInvalidConfig},
		{"too many workers", PoolConfig[uint64, int]{Workers: MaxPoolWorkers + 1, Work: work}, ErrInvalidConfig},
		{"nil work", PoolConfig[uint64, int]{Workers: 1}, ErrInvalidConfig},
		{"capacity 3", PoolConfig[uint64, int]{Workers: 1, RingCapacity: 3, Work: work}, ErrInvalidConfig},
		{"negative CPU", PoolConfig[uint64, int]{Workers: 1, CPUs: []int{-1}, Work: work}, ErrInvalidConfig},
		{"missing CPU", PoolConfig[uint64, int]{Workers: 1, CPUs: []int{1 << 20}, Work: work}, ErrInvalidConfig},
		{"CPUs count", PoolConfig[uint64, int]{Workers: 2, CPUs: []int{0}, Work: work}, ErrInvalidConfig},
		{"spin wait", PoolConfig[uint64, int]{Workers: 1, Wait: Spin(), Work: work}, ErrInvalidConfig},
		{"spill buffer", PoolConfig[uint64, int]{Workers: 1, SpillBuffer: -1, Work: work}, ErrInvalidConfig},
		{"C work on Go", PoolConfig[uint64, int]{Workers: 1, CWork: CWork{Fn: unsafeNonNil()}, Backend: BackendGo}, ErrInvalidConfig},
		{"both works", PoolConfig[uint64, int]{Workers: 1, Work: work, CWork: CWork{Fn: unsafeNonNil()}}, ErrInvalidConfig},
		{"C ctx without C work", PoolConfig[uint64, int]{Workers: 1, Work: work, CWork: CWork{Ctx: unsafeNonNil()}}, ErrInvalidConfig},
		{"adaptive out of range", PoolConfig[uint64, int]{Workers: 1, Wait: Adaptive(2 * MaxSpinTime), Work: work}, ErrInvalidConfig},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPool(c.cfg)
			assert.ErrorIs(t, err, c.is)
			assert.Nil(t, p)
		})
	}
	if !cBackendAvailable {
		_, err := NewPool(PoolConfig[uint64, int]{Workers: 1, CWork: CWork{Fn: unsafeNonNil()}})
		assert.ErrorIs(t, err, ErrBackendUnavailable)
	}
	_, err := NewPool(PoolConfig[uint64, *int]{Workers: 1, CWork: CWork{Fn: unsafeNonNil()}, Backend: BackendC})
	assert.ErrorIs(t, err, ErrInvalidConfig, "C work args with pointers, or no C backend")

	for _, b := range poolBackends() {
		t.Run("lifecycle/"+b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 1, Work: work, Backend: b})
			require.NoError(t, err)
			assert.ErrorIs(t, p.Join(), ErrNoRound)
			require.NoError(t, p.Dispatch(1))
			assert.ErrorIs(t, p.Dispatch(2), ErrRoundRunning)
			assert.ErrorIs(t, p.Run(2), ErrRoundRunning)
			require.NoError(t, p.Join())
			assert.ErrorIs(t, p.Join(), ErrNoRound)
			_, err = p.Collect(nil)
			assert.ErrorIs(t, err, ErrNilSpout)
			require.NoError(t, p.Close())
			assert.ErrorIs(t, p.Close(), ErrClosed)
			assert.ErrorIs(t, p.Dispatch(1), ErrClosed)
			assert.ErrorIs(t, p.Join(), ErrClosed)
			assert.ErrorIs(t, p.Run(1), ErrClosed)
			_, err = p.Collect(newRecSpout(0))
			assert.ErrorIs(t, err, ErrClosed)
		})
	}
}

// TestPoolRingClose: a work function cannot free the pool's ring.
func TestPoolRingClose(t *testing.T) {
	for _, b := range poolBackends() {
		var got error
		p, err := NewPool(PoolConfig[uint64, int]{Workers: 1, Backend: b, Work: func(out *SpillRing[uint64], _ int, _ int) error {
			got = out.Close()
			return out.Push(1)
		}})
		require.NoError(t, err)
		require.NoError(t, p.Run(0))
		assert.ErrorIs(t, got, ErrPoolRing)
		sink := newRecSpout(0)
		n, err := p.Collect(sink)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		require.NoError(t, p.Close())
	}
}

// TestPoolArgs: each round sees its own args, stamped with its sequence,
// and what Dispatch's caller wrote before Dispatch.
func TestPoolArgs(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			shared := make([]int, 3) // written before Dispatch, read by the workers
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 3, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				return out.Push(uint64(w)<<40 | uint64(a*1000+shared[w]))
			}})
			require.NoError(t, err)
			defer p.Close()
			sink := newRecSpout(0)
			for r := 1; r <= 20; r++ {
				for w := range shared {
					shared[w] = r + w
				}
				require.NoError(t, p.Run(r))
				_, err := p.Collect(sink)
				require.NoError(t, err)
			}
			for w := range 3 {
				require.Len(t, sink.items[w], 20)
				for r := 1; r <= 20; r++ {
					assert.Equal(t, uint64(r*1000+r+w), sink.items[w][r-1])
				}
			}
		})
	}
}

// TestPoolPinned: workers run on the CPUs they were given.
func TestPoolPinned(t *testing.T) {
	allowed, ok := affinityCPUs()
	if !ok {
		t.Skip("this system cannot pin threads")
	}
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			cpus := []int{allowed[len(allowed)-1], allowed[0]}
			got := make([][]int, 2)
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, CPUs: cpus, Backend: b, Work: func(_ *SpillRing[uint64], w int, _ int) error {
				got[w] = threadCPUs()
				return nil
			}})
			require.NoError(t, err)
			defer p.Close()
			require.NoError(t, p.Run(0))
			for w := range 2 {
				assert.Equal(t, []int{cpus[w]}, got[w], "worker %d", w)
			}
		})
	}
}

// TestPoolCloseLeavesNothing: Close while workers sleep, spin, or run a
// round returns, ends every worker thread (their thread ids leave
// /proc/self/task) and leaves no goroutine behind.
func TestPoolCloseLeavesNothing(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skipf("no /proc/self/task: %v", err)
	}
	for _, b := range poolBackends() {
		for _, when := range []string{"parked", "spinning", "mid-round"} {
			t.Run(b.String()+"/"+when, func(t *testing.T) {
				gs := runtime.NumGoroutine()
				tids := make([]int, 2)
				var wait WaitStrategy
				switch when {
				case "parked", "mid-round":
					wait = Park()
				case "spinning":
					wait = Adaptive(MaxSpinTime)
				}
				p, err := NewPool(PoolConfig[uint64, time.Duration]{Workers: 2, Wait: wait, Backend: b, Work: func(out *SpillRing[uint64], w int, d time.Duration) error {
					tids[w] = gettid()
					time.Sleep(d)
					return out.Push(1)
				}})
				require.NoError(t, err)
				require.NoError(t, p.Run(0))
				switch when {
				case "parked":
					time.Sleep(20 * time.Millisecond)
				case "mid-round":
					require.NoError(t, p.Dispatch(20*time.Millisecond))
				}
				require.NoError(t, p.Close())
				for _, tid := range tids {
					require.NotZero(t, tid)
					_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
					for i := 0; err == nil && i < 5000; i++ {
						time.Sleep(time.Millisecond) // a locked goroutine's thread exits just after it
						_, err = os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
					}
					if !os.IsNotExist(err) {
						st, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
						wc, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/wchan", tid))
						stk, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stack", tid))
						t.Errorf("worker thread %d still there: %s %s %s", tid, st, wc, stk)
					}
				}
				ng := runtime.NumGoroutine()
				for i := 0; ng > gs && i < 5000; i++ {
					time.Sleep(time.Millisecond)
					ng = runtime.NumGoroutine()
				}
				assert.LessOrEqual(t, ng, gs, "goroutines")
			})
		}
	}
}

// countSpout counts and keeps nothing.
type countSpout struct{ n atomic.Uint64 }

func (c *countSpout) Send(uint64) error { c.n.Add(1); return nil }
func (c *countSpout) SendBatch(vs []uint64) (int, error) {
	c.n.Add(uint64(len(vs)))
	return len(vs), nil
}
func (c *countSpout) Flush() error { return nil }

// TestPoolNoAllocs: a round (Run, Collect) allocates nothing in steady
// state.
func TestPoolNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadows allocate")
	}
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				return out.Push(uint64(a))
			}})
			require.NoError(t, err)
			defer p.Close()
			var sink countSpout
			round := func() {
				if err := p.Run(1); err != nil {
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
		})
	}
}

// threadCPUs is the calling thread's CPU set (a pinned worker: its CPU).
func threadCPUs() []int {
	cpus, _ := affinityCPUs()
	return cpus
}

// unsafeNonNil is a non-nil pointer for CWork.Fn in configs that must fail
// before anything calls it.
func unsafeNonNil() unsafe.Pointer { return unsafe.Pointer(&poolTable) }

// TestPoolIdleParks: idle workers sleep after their spin (no CPU), and the
// next round wakes them. The CPU bound is loose on purpose: the machine may
// be busy, but a spinning worker would use a whole core. One worker, so
// that on a 2-CPU machine it spins first (workers + 1 <= CPUs).
func TestPoolIdleParks(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 1, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				return out.Push(uint64(a))
			}})
			require.NoError(t, err)
			defer p.Close()
			require.NoError(t, p.Run(1))
			for _, w := range p.w {
				parked := false
				for deadline := time.Now().Add(10 * time.Second); !parked && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					parked = w.parked.Load() != 0
				}
				require.True(t, parked, "a worker never parked")
			}
			checkIdleCPU(t, "the pool is idle")
			require.NoError(t, p.Run(2)) // wakes it
			sink := newRecSpout(0)
			n, err := p.Collect(sink)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			assert.Positive(t, p.Stats().Parked)
			if runtime.NumCPU() >= 2 {
				assert.Positive(t, p.Stats().Spin, "spun before it slept")
			}
		})
	}
}

// TestPoolStatsDuringClose: Stats is safe while Close runs, from another
// goroutine and from a work function, and gives the final counters after.
func TestPoolStatsDuringClose(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			var p *WorkerPool[uint64, int]
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				_ = p.Stats()
				time.Sleep(time.Millisecond)
				return out.Push(uint64(a))
			}})
			require.NoError(t, err)
			stop := loopUntil(func() bool { _ = p.Stats(); return true })
			require.NoError(t, p.Run(1))
			require.NoError(t, p.Dispatch(2))
			require.NoError(t, p.Close())
			stop()
			st := p.Stats()
			assert.Equal(t, uint64(2), st.Rounds)
			assert.Equal(t, uint64(4), st.Pushed)
			assert.Equal(t, uint64(4), st.InRings, "Close discards what was not collected")
		})
	}
}

// TestPoolJoinContext: a done context ends the wait, not the round, which
// a later Join still waits for.
func TestPoolJoinContext(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			release := make(chan struct{})
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				<-release
				return out.Push(uint64(a))
			}})
			require.NoError(t, err)
			defer p.Close()
			require.NoError(t, p.Dispatch(1))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			assert.ErrorIs(t, p.JoinContext(ctx), context.DeadlineExceeded)
			assert.ErrorIs(t, p.Dispatch(2), ErrRoundRunning, "the round still runs")
			ctx2, cancel2 := context.WithCancel(context.Background())
			go func() { time.Sleep(5 * time.Millisecond); cancel2() }()
			assert.ErrorIs(t, p.JoinContext(ctx2), context.Canceled, "a cancel wakes a sleeping joiner")
			//lint:ignore SA1012 a nil context is the point
			assert.ErrorIs(t, p.JoinContext(nil), ErrNilContext)
			close(release)
			require.NoError(t, p.Join())
			sink := newRecSpout(0)
			n, err := p.Collect(sink)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
		})
	}
}

// TestPoolGOMAXPROCS1: with a single P, Go work functions take turns for it
// with the goroutine that joins, and every round completes.
func TestPoolGOMAXPROCS1(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			sw := &seqWork{next: make([]uint64, 2)}
			p, err := NewPool(PoolConfig[uint64, seqArgs]{Workers: 2, Backend: b, Work: sw.work})
			require.NoError(t, err)
			defer p.Close()
			sink := newRecSpout(0)
			for range 50 {
				require.NoError(t, p.Run(seqArgs{Count: 3}))
				_, err := p.Collect(sink)
				require.NoError(t, err)
			}
			checkPoolItems(t, 2, func(w int) uint64 { return sw.next[w] }, sink, nil, p.Stats())
		})
	}
}

// TestPoolPlacement: pools made with default CPUs spread over the CPUs the
// open pools leave free, and give them back at Close.
func TestPoolPlacement(t *testing.T) {
	allowed, ok := affinityCPUs()
	if !ok || len(allowed) < 2 {
		t.Skip("needs thread affinity and 2 CPUs")
	}
	mk := func(workers int) (*WorkerPool[uint64, int], [][]int) {
		got := make([][]int, workers)
		p, err := NewPool(PoolConfig[uint64, int]{Workers: workers, Work: func(_ *SpillRing[uint64], w int, _ int) error {
			got[w] = threadCPUs()
			return nil
		}})
		require.NoError(t, err)
		require.NoError(t, p.Run(0))
		return p, got
	}
	a, gotA := mk(1)
	b, gotB := mk(1)
	assert.Equal(t, [][]int{{allowed[0]}}, gotA, "the first pool starts on the first CPU")
	assert.Equal(t, [][]int{{allowed[1]}}, gotB, "the second on the one the first left free")
	require.NoError(t, a.Close())
	c, gotC := mk(2)
	assert.Equal(t, []int{allowed[0]}, gotC[0], "the freed CPU first")
	require.NoError(t, b.Close())
	require.NoError(t, c.Close())
	poolPlacement.mu.Lock()
	defer poolPlacement.mu.Unlock()
	assert.Empty(t, poolPlacement.load, "every closed pool gave its CPUs back")
	assert.Zero(t, poolPlacement.workers)
}
