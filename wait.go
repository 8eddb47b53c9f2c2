package spillring

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// parker puts a side to sleep on its W1 wait word and wakes it. The C
// backend uses a futex on the word itself, so C threads can wake Go and the
// other way round; the Go backend parks the goroutine on a channel.
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
}

// errWaitClosed tells a waiter's caller that `closed` changed; a consumer
// still drains what is left before it reports ErrClosed.
var errWaitClosed = ErrClosed

// await waits, per the wait strategy, until ready reports true. ready is the
// operation itself (a push or pop attempt), so success needs no second try.
// It returns nil, errWaitClosed when any closed bit is set, ctx.Err(), or
// ErrTimeout at deadline. consumer selects the wait word.
func (r *ring[T]) await(consumer bool, ready func() bool, ctx context.Context, deadline time.Time) error {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	word := &r.l.prodWait
	if consumer {
		word = &r.l.consWait
	}
	spins := r.wait.spins
	for i := 1; ; i++ {
		if ready() {
			return nil
		}
		if r.closedBits() != 0 {
			return errWaitClosed
		}
		if r.wait.kind == waitSpin && i&255 != 0 {
			spinDelay()
			continue // check the clock and ctx only now and then
		}
		if i <= spins {
			spinDelay()
			continue
		}
		if err := expired(done, ctx, deadline); err != nil {
			return err
		}
		switch r.wait.kind {
		case waitSpinYield:
			runtime.Gosched()
			r.parker.yield()
			i = 0
		case waitPark:
			// W1, waiter's half: flag, re-check, sleep while flagged.
			atomic.StoreUint32(word, 1)
			if ready() {
				atomic.StoreUint32(word, 0)
				return nil
			}
			if r.closedBits() != 0 {
				atomic.StoreUint32(word, 0)
				return errWaitClosed
			}
			if err := expired(done, ctx, deadline); err != nil {
				atomic.StoreUint32(word, 0)
				return err
			}
			r.parker.sleep(word, done, ctx, deadline)
			atomic.StoreUint32(word, 0)
			i = 0
		}
	}
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

// spinDelayLoops was picked from interleaved pinned runs (0 vs 128 loops:
// spsc-single median 19.0 -> 15.4 ns on the C backend).
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
// costs one load of a line nobody writes.
func (r *ring[T]) wakeConsumer() {
	if atomic.LoadUint32(&r.l.consWait) != 0 && atomic.SwapUint32(&r.l.consWait, 0) != 0 {
		r.parker.wake(&r.l.consWait)
	}
}

// wakeProducer is wakeConsumer for a producer waiting for space.
func (r *ring[T]) wakeProducer() {
	if atomic.LoadUint32(&r.l.prodWait) != 0 && atomic.SwapUint32(&r.l.prodWait, 0) != 0 {
		r.parker.wake(&r.l.prodWait)
	}
}

// chanParker parks goroutines on channels: the Go backend's Park. A wake is
// a token in a one-slot channel; a stale token only causes a spurious
// return, after which the waiter re-checks.
type chanParker struct {
	prodWord *uint32
	prod     chan struct{}
	cons     chan struct{}
}

func newChanParker(prodWord *uint32) *chanParker {
	return &chanParker{prodWord: prodWord, prod: make(chan struct{}, 1), cons: make(chan struct{}, 1)}
}

func (p *chanParker) ch(word *uint32) chan struct{} {
	if word == p.prodWord {
		return p.prod
	}
	return p.cons
}

func (p *chanParker) sleep(word *uint32, done <-chan struct{}, _ context.Context, deadline time.Time) {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.ch(word):
	case <-done:
	case <-timeout:
	}
}

// yield does nothing: a Go-memory ring has only goroutines on the other
// side, and runtime.Gosched already lets them run.
func (p *chanParker) yield() {}

func (p *chanParker) wake(word *uint32) {
	select {
	case p.ch(word) <- struct{}{}:
	default: // a token is already waiting
	}
}
