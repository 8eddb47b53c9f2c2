//go:build cgo && linux && !purego

package spillring

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spillring/spillring/internal/cpeer"
)

// C-interop tests: one side of a C-backend channel is a plain C thread from
// internal/cpeer, a separate cgo package with its own static copy of the C
// core compiled against csrc/spillring.h, i.e. a C program that knows only
// the header. The other side is this package's Go code. Each item is the
// uint64 sequence number, so order and loss are checked item by item.

// cgoInteropCase is one Go<->C run. n is the full-length item count; under
// -short runs are capped at cgoShortItems.
type cgoInteropCase struct {
	wait  WaitStrategy
	batch bool // the C producer pushes with sr_ring_push_burst
	n     uint64
}

const (
	cgoLongItems  = 10_000_000
	cgoShortItems = 1_000_000
)

func (tc cgoInteropCase) items() uint64 {
	if testing.Short() {
		return min(tc.n, cgoShortItems)
	}
	return tc.n
}

func (tc cgoInteropCase) name(goProducer bool) string {
	push := "single"
	switch {
	case goProducer:
		push = "mixed"
	case tc.batch:
		push = "burst"
	}
	return fmt.Sprintf("%v/%s/%d", tc.wait, push, tc.items())
}

// Budget: the file must stay under ~40 s on two noisy cores. Park runs are
// cheap (~0.1-1 s per 10M items even on one core). SpinYield runs are too
// while each side has a core, but when the C thread and the Go goroutine
// end up sharing one CPU they cost ~8 s per 10M items: the Go side's yield
// is runtime.Gosched, which does not give the CPU to a C thread, so each
// ring-full costs a scheduler time slice. Hence one 10M SpinYield run per
// direction, the burst variant shorter; measured worst case (taskset -c 0)
// about 20 s for the file.
var cgoCProducerCases = []cgoInteropCase{
	{wait: SpinYield(100), batch: false, n: cgoLongItems},
	{wait: SpinYield(100), batch: true, n: 2_000_000},
	{wait: Park(), batch: false, n: cgoLongItems},
	{wait: Park(), batch: true, n: cgoLongItems},
	{wait: Adaptive(DefaultSpinTime), batch: false, n: cgoLongItems},
	{wait: Adaptive(0), batch: true, n: 2_000_000},
}

// The Go producer always mixes Push and PushBatch; batch is unused here.
var cgoGoProducerCases = []cgoInteropCase{
	{wait: SpinYield(100), n: cgoLongItems},
	{wait: Park(), n: cgoLongItems},
	{wait: Adaptive(DefaultSpinTime), n: cgoLongItems},
	{wait: Adaptive(0), n: 2_000_000},
}

// cgoNewCChan makes a C-backend channel of uint64 and returns its sr_ring.
func cgoNewCChan(t *testing.T, cfg Config) (*Producer[uint64], *Consumer[uint64], unsafe.Pointer) {
	t.Helper()
	cfg.Backend = BackendC
	p, c, err := New[uint64](cfg)
	require.NoError(t, err)
	pr, err := p.CRing()
	require.NoError(t, err)
	cr, err := c.CRing()
	require.NoError(t, err)
	require.Equal(t, pr, cr, "both handles name the same struct sr_ring")
	require.NotNil(t, pr)
	return p, c, pr
}

// cgoSeqCheck records the first item out of sequence without calling into
// testify per item (tens of millions of items).
type cgoSeqCheck struct {
	next     uint64 // value expected next = items seen so far
	bad      bool
	badIndex uint64
	badValue uint64
}

func (s *cgoSeqCheck) see(v uint64) {
	if v != s.next && !s.bad {
		s.bad, s.badIndex, s.badValue = true, s.next, v
	}
	s.next++
}

func (s *cgoSeqCheck) check(t *testing.T, n uint64) {
	t.Helper()
	if s.bad {
		t.Errorf("item %d is %d, want %d", s.badIndex, s.badValue, s.badIndex)
	}
	assert.Equal(t, n, s.next, "items popped")
}

// cgoConsumeMixed pops until the channel reports closed, rotating among Pop,
// PopBatch (of varying sizes) and runs of All(), and returns the error that
// ended it.
func cgoConsumeMixed(c *Consumer[uint64], s *cgoSeqCheck) error {
	buf := make([]uint64, 64)
	for step := 1; ; step++ {
		switch step % 3 {
		case 0:
			v, err := c.Pop()
			if err != nil {
				return err
			}
			s.see(v)
		case 1:
			k, err := c.PopBatch(buf[:1+(step*7)%len(buf)])
			if err != nil {
				return err
			}
			for _, v := range buf[:k] {
				s.see(v)
			}
		case 2:
			// A short run of the iterator; it ends early by itself
			// once the channel is closed and drained, and the next Pop
			// or PopBatch then reports ErrClosed.
			taken := 0
			for v := range c.All() {
				s.see(v)
				if taken++; taken == 100 {
					break
				}
			}
		}
	}
}

func TestCProducerGoConsumer(t *testing.T) {
	for _, tc := range cgoCProducerCases {
		t.Run(tc.name(false), func(t *testing.T) {
			n := tc.items()
			p, c, ring := cgoNewCChan(t, Config{Capacity: 4096, Wait: tc.wait})
			start := time.Now()
			// From here on the C thread owns the producer side: the Go
			// Producer must not be used, but it is kept reachable to the
			// end (KeepAlive below) as the handle that owns the ring's
			// C memory. (The peer also holds its own sr_ring_retain
			// reference, so the ring would survive regardless.)
			prod := cpeer.StartProducer(ring, n, tc.batch)

			var s cgoSeqCheck
			err := cgoConsumeMixed(c, &s)
			assert.ErrorIs(t, err, ErrClosed)
			s.check(t, n)
			_, err = c.Pop()
			assert.ErrorIs(t, err, ErrClosed, "Pop after the C producer closed and the ring drained")
			k, err := c.PopBatch(make([]uint64, 8))
			assert.ErrorIs(t, err, ErrClosed)
			assert.Zero(t, k)

			pushed, err := prod.Join()
			require.NoError(t, err)
			assert.Equal(t, n, pushed)
			assert.True(t, c.IsEmpty())
			assert.ErrorIs(t, p.Close(), ErrClosed, "the C producer closed the producer side")
			runtime.KeepAlive(p)
			t.Logf("%d items C->Go in %v", n, time.Since(start))
		})
	}
}

func TestGoProducerCConsumer(t *testing.T) {
	for _, tc := range cgoGoProducerCases {
		t.Run(tc.name(true), func(t *testing.T) {
			n := tc.items()
			p, c, ring := cgoNewCChan(t, Config{Capacity: 4096, Wait: tc.wait})
			start := time.Now()
			// The C thread owns the consumer side; the Go Consumer is
			// only kept reachable (KeepAlive below).
			cons := cpeer.StartConsumer(ring, n)

			buf := make([]uint64, 64)
			var pushErr error
			for next, step := uint64(0), 0; next < n && pushErr == nil; step++ {
				if step%2 == 0 {
					pushErr = p.Push(next)
					next++
					continue
				}
				k := min(uint64(1+(step*5)%len(buf)), n-next)
				for i := range k {
					buf[i] = next + i
				}
				var m int
				m, pushErr = p.PushBatch(buf[:k])
				if pushErr == nil && uint64(m) != k {
					pushErr = fmt.Errorf("PushBatch took %d of %d with no error", m, k)
				}
				next += uint64(m)
			}
			require.NoError(t, pushErr)
			require.NoError(t, p.Close())

			popped, err := cons.Join()
			require.NoError(t, err)
			assert.Equal(t, n, popped)
			assert.True(t, c.IsEmpty())
			runtime.KeepAlive(c)
			t.Logf("%d items Go->C in %v", n, time.Since(start))
		})
	}
}

// TestCRingWakesChannelSleeper: on the C backend a goroutine sleeps on a
// channel until C code shares the ring. Here the consumer is asleep when
// CRing hands the producer side to a C thread: the hand-over must wake it
// (it goes back to sleep on the futex), and the C producer's wake-ups must
// then reach it. Capacity 1 and Adaptive(0): it sleeps on nearly every item.
func TestCRingWakesChannelSleeper(t *testing.T) {
	const n = 20000
	p, c, err := New[uint64](Config{Capacity: 1, Wait: Adaptive(0), Backend: BackendC})
	require.NoError(t, err)
	got := make(chan error, 1)
	go func() {
		var s cgoSeqCheck
		var err error
		for err == nil {
			var v uint64
			if v, err = c.Pop(); err == nil {
				s.see(v)
			}
		}
		if s.bad || s.next != n {
			err = fmt.Errorf("%d items, first bad at %d (%v): %w", s.next, s.badIndex, s.bad, err)
		}
		got <- err
	}()
	require.True(t, waitFlag(&p.r.l.consWait), "the consumer never slept")
	ring, err := p.CRing()
	require.NoError(t, err)
	prod := cpeer.StartProducer(ring, n, false)
	select {
	case err := <-got:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(60 * time.Second):
		t.Fatal("the consumer missed a wake-up across CRing")
	}
	pushed, err := prod.Join()
	require.NoError(t, err)
	assert.EqualValues(t, n, pushed)
	runtime.KeepAlive(p)
}

func TestCRingOnGoBackend(t *testing.T) {
	p, c, err := New[uint64](Config{Capacity: 64, Backend: BackendGo})
	require.NoError(t, err)
	ptr, err := p.CRing()
	assert.True(t, errors.Is(err, ErrNotC), "%v", err)
	assert.Nil(t, ptr)
	ptr, err = c.CRing()
	assert.True(t, errors.Is(err, ErrNotC), "%v", err)
	assert.Nil(t, ptr)

	// Auto with a pointer type is also the Go backend.
	ps, _, err := New[*int](Config{Capacity: 64})
	require.NoError(t, err)
	_, err = ps.CRing()
	assert.ErrorIs(t, err, ErrNotC)
}

func TestCPeerDropOldest(t *testing.T) {
	const n = 1_000_000 // also under -short
	for _, tc := range []cgoInteropCase{
		{wait: SpinYield(100), n: n}, {wait: SpinYield(100), batch: true, n: n},
		{wait: Park(), n: n}, {wait: Park(), batch: true, n: n},
	} {
		batch := tc.batch
		t.Run(tc.name(false), func(t *testing.T) {
			// The C producer never waits (DropOldest evicts instead), so
			// the Go consumer races it and sees some items; under Park it
			// also sleeps and is woken by the C side's publishes.
			p, c, ring := cgoNewCChan(t, Config{Capacity: 64, Backpressure: DropOldest, Wait: tc.wait})
			prod := cpeer.StartProducer(ring, n, batch)

			buf := make([]uint64, 16)
			var popped uint64
			var last uint64
			var bad string
			see := func(v uint64) {
				if bad == "" && popped > 0 && v <= last {
					bad = fmt.Sprintf("pop %d is %d after %d: not increasing", popped, v, last)
				}
				if bad == "" && v >= n {
					bad = fmt.Sprintf("pop %d is %d, never pushed", popped, v)
				}
				last = v
				popped++
			}
			var err error
			for step := 0; err == nil; step++ {
				if step%2 == 0 {
					var v uint64
					if v, err = c.Pop(); err == nil {
						see(v)
					}
					continue
				}
				var k int
				k, err = c.PopBatch(buf[:1+step%len(buf)])
				for _, v := range buf[:k] {
					see(v)
				}
			}
			assert.ErrorIs(t, err, ErrClosed)
			assert.Empty(t, bad)

			pushed, err := prod.Join()
			require.NoError(t, err)
			assert.EqualValues(t, n, pushed)
			assert.Equal(t, 0, c.Len())
			assert.EqualValues(t, n, popped+p.Evicted(), "popped %d + evicted %d", popped, p.Evicted())
			assert.Equal(t, p.Evicted(), c.Evicted())
			// Nothing evicts the last item: the consumer always gets it.
			assert.EqualValues(t, n-1, last, "last item popped")
			runtime.KeepAlive(p)
			t.Logf("popped %d, evicted %d", popped, p.Evicted())
		})
	}
}

// C threads and Go goroutines push into one ring at once: the Go producer
// pushes alone first, then C producers are added (the upgrade to MPSC mode
// happens in C, under load), then a Go clone joins. The Go consumer checks
// every producer's items: in order, once each, none lost (Block), or
// exactly accounted for (DropOldest).
func TestMixedGoAndCProducers(t *testing.T) {
	const goItems, cItems, cThreads = 20000, 20000, 3
	for _, mode := range []Backpressure{Block, DropOldest} {
		for _, w := range []WaitStrategy{SpinYield(DefaultSpins), Park(), Adaptive(DefaultSpinTime)} {
			t.Run(fmt.Sprintf("%v/%v", mode, w), func(t *testing.T) {
				p, c, ring := cgoNewCChan(t, Config{Capacity: 256, Backpressure: mode, Wait: w})
				half := goItems / 2
				done := make(chan error, 2)
				var peers []*cpeer.Peer
				go func() {
					for seq := range half {
						if err := p.Push(tag(0, seq)); err != nil {
							done <- err
							return
						}
					}
					// No push of p in flight: p's owner may add producers.
					peers = cpeer.StartProducers(ring, 2, cThreads, cItems, mode == Block)
					q, err := p.Clone()
					if err != nil {
						done <- err
						return
					}
					go func() { done <- pushAll(q, 1, goItems) }()
					for seq := half; seq < goItems; seq++ {
						if err := p.Push(tag(0, seq)); err != nil {
							done <- err
							return
						}
					}
					done <- p.Close()
				}()
				seen := checkStream(t, c, 2+cThreads, mode == DropOldest)
				for range 2 {
					require.NoError(t, <-done)
				}
				for _, pr := range peers {
					n, err := pr.Join()
					require.NoError(t, err)
					assert.Equal(t, uint64(cItems), n)
				}
				assert.True(t, c.IsUpgraded())
				st := c.Stats()
				total := uint64(2*goItems + cThreads*cItems)
				assert.Equal(t, total, st.Pushed)
				assert.Equal(t, st.Pushed, st.Popped+st.Evicted)
				popped := 0
				for id, n := range seen {
					popped += n
					if mode == Block {
						want := goItems
						if id >= 2 {
							want = cItems
						}
						assert.Equal(t, want, n, "producer %d", id)
					}
				}
				assert.Equal(t, uint64(popped), st.Popped)
				assert.Equal(t, 0, st.Producers)
			})
		}
	}
}
