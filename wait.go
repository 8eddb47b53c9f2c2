package spillring

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parker puts a side to sleep on its W1 wait word and wakes it. A sleeping
// goroutine parks on a channel, holding no OS thread (chanParker). On the C
// backend, once C code shares the ring (CRing), sleepers wait on a futex on
// the word itself instead, so C threads can wake Go and the other way round.
type parker interface {
	// sleep returns when woken, when *word is no longer 1, when done is
	// closed, or at deadline (zero: none). Spurious returns are allowed.
	sleep(word *uint32, done <-chan struct{}, ctx context.Context, deadline time.Time)
	// wake wakes the sleeper on word; called only after the waker swapped
	// the word from 1 to 0.
	wake(word *uint32)
	// yield is SpinYield's yield beyond runtime.Gosched, which only lets
	// other goroutines run.
	yield()
	// share tells the parker that C code may sleep and wake on the ring's
	// wait words from now on (the C backend's CRing).
	share()
}

// errWaitClosed tells a producer's caller that `state` changed.
var errWaitClosed = ErrClosed

// await waits, per the wait strategy, until ready reports true. ready is the
// operation itself (a push or pop attempt), so success needs no second try.
// A nil h means the consumer is waiting: its ready step reports the end of
// the channel itself (popStep: a closed producer side still hands out what
// its pushes published, F2). A producer's wait ends with errWaitClosed as
// soon as a close bit is set or its own handle h is closed, checked before
// each attempt: Close releases a blocked push with ErrClosed rather than
// letting it in. It also returns ctx.Err(), or ErrTimeout at deadline. Each
// call that had to wait is counted once, for Stats.
func (r *ring[T]) await(h *prodHandle, ready func() bool, ctx context.Context, deadline time.Time) error {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	word, waits := &r.l.consWait, &r.stats.popWaits
	if h != nil {
		word, waits = &r.l.prodWait, &h.waits
	}
	closed := func() bool { return h != nil && (r.closedBits() != 0 || h.closed.Load() != 0) }
	spins := r.wait.spins
	var spun spinClock // Adaptive: how long this wait has spun
	yields := 0        // SpinYield: yields so far (spinYieldYields: asleep)
	if r.wait.kind == waitAdaptive {
		spins = goschedSpins // polls between clock reads (and Goscheds)
	}
	for i := 1; ; i++ {
		if closed() {
			return errWaitClosed
		}
		if ready() {
			return nil
		}
		if waits != nil {
			waits.Add(1)
			waits = nil
		}
		if i <= tightPolls && (r.wait.kind == waitSpin || r.wait.kind == waitSpinYield && i <= spins) {
			continue // see tightPolls
		}
		if r.wait.kind == waitSpin && i&255 != 0 {
			//lint:ignore SA4017 the call is the delay; its result exists only so the compiler keeps the loop
			spinDelay()
			continue // check the clock and ctx only now and then
		}
		if i <= spins {
			if r.wait.kind == waitPark && i%goschedSpins == 0 {
				runtime.Gosched() // as Adaptive below
			}
			//lint:ignore SA4017 as above
			spinDelay()
			continue
		}
		if err := expired(done, ctx, deadline); err != nil {
			return err
		}
		switch r.wait.kind {
		case waitSpinYield:
			if yields < spinYieldYields {
				t0 := time.Now()
				runtime.Gosched()
				r.parker.yield()
				if yields++; time.Since(t0) > yieldBusy {
					yields = spinYieldYields // the CPU is busy: sleep next
				}
				if yields < spinYieldYields {
					i = 0
				}
				continue
			}
			fallthrough // yielded enough: sleep, as Park
		case waitAdaptive:
			if r.wait.kind == waitAdaptive && spun.spinning(time.Duration(r.wait.spins)) {
				// The other side may be a goroutine waiting to run on
				// this P (a wake-up puts it there): let it. See
				// goschedSpins.
				runtime.Gosched()
				i = 0
				continue
			}
			fallthrough // past the spin, also after a wake-up: sleep, as Park
		case waitPark:
			// W1, waiter's half: flag, re-check, sleep while flagged.
			// Several producers may share the flag in MPSC mode: there a
			// waiter never clears it (it might clear another's), and the
			// waker's swap clears it for all. A flag left set only costs
			// the next waker one spurious wake.
			atomic.StoreUint32(word, 1)
			unflag := func() {
				if h == nil || !r.multi() {
					atomic.StoreUint32(word, 0)
				}
			}
			if closed() {
				unflag()
				return errWaitClosed
			}
			if ready() {
				unflag()
				return nil
			}
			if err := expired(done, ctx, deadline); err != nil {
				unflag()
				return err
			}
			r.parker.sleep(word, done, ctx, deadline)
			unflag()
			i = 0
		}
	}
}

// SpinYield sleeps (W1) after spinYieldYields yields, or after a yield that
// took longer than yieldBusy: then another thread ran on this CPU, and on a
// busy machine each further yield would hand it a time slice while the
// other side, if it was descheduled, waits for a CPU. The same numbers as
// SR_YIELDS and SR_YIELD_BUSY_NS in csrc/ring.c.
const (
	spinYieldYields = 16
	yieldBusy       = 50 * time.Microsecond
)

// goschedSpins is how many polls Park and Adaptive make between two calls
// of runtime.Gosched while they spin (and Adaptive between two reads of the
// clock, a few tens of nanoseconds each). On a busy machine the two sides
// of a channel end up as goroutines of one P: a wake-up puts the woken
// side there, and then only this side giving the P up lets the other one
// make progress; polling meanwhile is wasted. The value is measured
// (bench/README.md, "Why the code is as it is").
const goschedSpins = 2

// spinClock times an Adaptive wait's spin on the monotonic clock.
type spinClock struct{ start time.Time }

// spinning reports whether less than d has passed since its first call.
func (c *spinClock) spinning(d time.Duration) bool {
	if c.start.IsZero() {
		c.start = time.Now()
		return d > 0
	}
	return time.Since(c.start) < d
}

// spinDelay spaces out the polls of a spinning side. Each poll pulls the
// other side's index line into this core; polling less often lets the other
// side publish several items per line transfer, which the next poll then
// takes in one go. It is a few tens of nanoseconds: far below a yield.
//
// The loop works on a local and returns it, so both spinning sides can run
// it at once (no shared write) and the compiler keeps it.
//
//go:noinline
func spinDelay() (n int) {
	for i := range spinDelayLoops {
		n += i
	}
	return n
}

// tightPolls is how many polls Spin and SpinYield make back to back, with
// no spinDelay, when a wait begins (SpinYield: and after each yield; at
// most its spin count). A side that waits for one item in flight (a
// request and its reply) sees it about a line transfer after it is
// published, not up to a spinDelay later: rtt p50 went from 310-420 to
// 250-360 ns (bench/README.md). The spaced polls after them are what lets
// a busy stream publish several items per line transfer. The C core polls
// tightly throughout (sr_relax).
const tightPolls = 32

// spinDelayLoops was picked from interleaved pinned runs (bench/README.md).
const spinDelayLoops = 128

// expired reports ctx's error or ErrTimeout if the wait should end.
func expired(done <-chan struct{}, ctx context.Context, deadline time.Time) error {
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return ErrTimeout
	}
	return nil
}

// wakeConsumer is the waker's half of W1 for a consumer waiting for data;
// the caller has just published with a seq_cst store. Without a sleeper it
// costs one load of a line nobody writes, inlined into the caller.
func (r *ring[T]) wakeConsumer() {
	if atomic.LoadUint32(&r.l.consWait) != 0 {
		wake(r.parker, &r.l.consWait)
	}
}

// wakeProducer is wakeConsumer for a producer waiting for space.
func (r *ring[T]) wakeProducer() {
	if atomic.LoadUint32(&r.l.prodWait) != 0 {
		wake(r.parker, &r.l.prodWait)
	}
}

// wake takes the flag of a sleeper seen on word and wakes it. Not inlined,
// so that wakeConsumer and wakeProducer are; not a method of the generic
// ring, so that their inlined check loads no dictionary entry for it.
//
//go:noinline
func wake(p parker, word *uint32) {
	if atomic.SwapUint32(word, 0) != 0 {
		p.wake(word)
	}
}

// chanParker parks goroutines on channels. Each wait word has a channel
// that a wake closes (waking every sleeper: several producers may sleep in
// MPSC mode) and replaces.
//
// No wake is lost: a sleeper takes the channel under mu and only then checks
// that its word is still 1. A waker swaps the word to 0 before it takes mu
// to close the channel, so either the sleeper sees 0, or it holds the
// channel the waker closes.
//
// On the C backend, cpeer is the futex parker. As long as only Go code uses
// the ring, goroutines park on the channels all the same: a parked
// goroutine then holds no OS thread (a futex sleep would hold one per idle
// waiter), and a hand-off between two goroutines costs a goroutine switch,
// not a thread wake-up. share (CRing) hands sleeping and waking over to
// cpeer for good, so that C threads can wake Go sleepers and the other way
// round: it closes both channels, and a sleeper or waker decides between
// channel and futex under mu. So a goroutine asleep on a channel is woken
// by share itself, and a waker that finds shared unset under mu cannot
// miss a futex sleeper: that sleeper decided after share, under mu, and
// the waker's swap of its word (before the waker's turn under mu) leaves
// its FUTEX_WAIT nothing to wait for.
type chanParker struct {
	prodWord *uint32
	mu       sync.Mutex
	prod     chan struct{}
	cons     chan struct{}
	cpeer    parker      // the C backend's futex parker, nil on the Go backend
	shared   atomic.Bool // cpeer has taken over (written under mu)
}

func newChanParker(prodWord *uint32) *chanParker {
	return &chanParker{prodWord: prodWord, prod: make(chan struct{}), cons: make(chan struct{})}
}

// newCParker is the C backend's parker: channels until share, then cpeer.
// A ring that C code may share from the start starts shared.
func newCParker(prodWord *uint32, cpeer parker, shared bool) *chanParker {
	p := newChanParker(prodWord)
	p.cpeer = cpeer
	p.shared.Store(shared)
	return p
}

func (p *chanParker) ch(word *uint32) *chan struct{} {
	if word == p.prodWord {
		return &p.prod
	}
	return &p.cons
}

func (p *chanParker) sleep(word *uint32, done <-chan struct{}, ctx context.Context, deadline time.Time) {
	p.mu.Lock()
	if p.shared.Load() {
		p.mu.Unlock()
		p.cpeer.sleep(word, done, ctx, deadline)
		return
	}
	ch := *p.ch(word)
	p.mu.Unlock()
	if atomic.LoadUint32(word) != 1 {
		return
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
	case <-done:
	case <-timeout:
	}
}

// yield does nothing while only goroutines use the ring: runtime.Gosched
// already lets them run. Once C code shares it, cpeer yields the thread.
func (p *chanParker) yield() {
	if p.shared.Load() {
		p.cpeer.yield()
	}
}

func (p *chanParker) wake(word *uint32) {
	p.mu.Lock()
	if p.shared.Load() {
		p.mu.Unlock()
		p.cpeer.wake(word)
		return
	}
	c := p.ch(word)
	close(*c)
	*c = make(chan struct{})
	p.mu.Unlock()
}

func (p *chanParker) share() {
	p.mu.Lock()
	if p.cpeer != nil && !p.shared.Load() {
		p.shared.Store(true)
		close(p.prod)
		close(p.cons)
		p.prod, p.cons = make(chan struct{}), make(chan struct{})
	}
	p.mu.Unlock()
}
