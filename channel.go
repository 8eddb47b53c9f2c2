package spillring

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// New creates a channel of T: single-producer single-consumer until the
// Producer is cloned (see Producer.Clone), multi-producer from then on.
//
// Items are copied in and out of a ring of cfg.Capacity slots. On the C
// backend the ring lives in C memory (see CRing); on the Go backend in Go
// memory. Both give the same semantics. An invalid cfg or element type gets
// an error wrapping ErrInvalidConfig.
func New[T any](cfg Config) (*Producer[T], *Consumer[T], error) {
	cfg, err := cfg.validate(reflect.TypeFor[T]())
	if err != nil {
		return nil, nil, err
	}
	var evicted Spout[T]
	if cfg.Evicted != nil {
		var ok bool
		if evicted, ok = cfg.Evicted.(Spout[T]); !ok {
			return nil, nil, fmt.Errorf("%w: Evicted is a %T, not a Spout[%v]", ErrInvalidConfig, cfg.Evicted, reflect.TypeFor[T]())
		}
		if cfg.Backpressure != DropOldest {
			return nil, nil, fmt.Errorf("%w: Evicted is set but Backpressure is %v, not DropOldest", ErrInvalidConfig, cfg.Backpressure)
		}
	}
	var r *ring[T]
	if cfg.Backend == BackendC {
		if r, err = newCRing[T](cfg); err != nil {
			return nil, nil, err
		}
	} else {
		r = newGoRing[T](cfg)
	}
	if evicted != nil {
		r.onEvict = evicted.Send
	}
	return &Producer[T]{r: r, h: r.stats.newHandle()}, &Consumer[T]{r: r}, nil
}

// Make creates a channel of the given capacity with the default Config, like
// make(chan T, capacity). capacity must be a power of two.
func Make[T any](capacity int) (*Producer[T], *Consumer[T], error) {
	if capacity == 0 {
		return nil, nil, fmt.Errorf("%w: capacity 0 (a ring needs at least one slot)", ErrInvalidConfig)
	}
	return New[T](Config{Capacity: capacity})
}

// Producer is a sending handle of a channel.
//
// A Producer has one owner: Push, TryPush, PushContext, PushBatch,
// HasCapacity, Clone and the claims (Claim, Commit, Abort) must not be
// called concurrently on one handle. For
// a second sending goroutine, Clone the Producer and give it the clone:
// each handle has its own owner. Close, Len, Cap, Evicted, Stats and
// IsUpgraded may be called from any goroutine; Close releases a Push of
// this handle blocked in another goroutine. Race-enabled builds (go test
// -race) check the rule: two goroutines in owner-only methods of one handle
// at once panic with ErrConcurrentUse. Other builds do not check.
//
// A Push of x synchronizes before the Pop that returns x. Items of one
// handle are popped in the order it pushed them; items of different
// handles interleave in the order they claimed their slots.
type Producer[T any] struct {
	_   noCopy
	own owner // race builds: catches overlapping owner-only calls
	r   *ring[T]
	h   *prodHandle
}

// Push appends v, following the Backpressure: Block waits for space (per the
// WaitStrategy), DropOldest evicts the oldest item if the channel is full
// (to the Config.Evicted spout, if any: see ErrEvictedLost), Reject returns
// ErrFull. It returns ErrClosed if either side has closed, including while
// it waits.
//
// A Push that returns nil has put v in the channel: the consumer pops it
// (or DropOldest evicts and counts it), even if the producer side closes
// while Push runs. A Push that returns an error did not take v.
func (p *Producer[T]) Push(v T) error {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	// The fast path (room, Block or Reject) is written out here
	// rather than calling tryPush: one call and one mode switch fewer,
	// measurably faster (bench/README.md); Pop does the same with tryPop.
	r := p.r
	l := r.l
	closed := atomic.LoadUint32(&l.state)
	if r.fast && closed == 0 {
		t := l.tail
		if t-l.headCache < r.cap { // K1: a pending claim leaves no room here
			*r.slot(t) = v
			r.shadow.releaseTail()
			publish(&l.tail, t+1) // R1
			if r.park {
				r.wakeConsumer() // W1: one load of a word nobody writes
			}
			// F1: closed again, after publishing (drain.go).
			if atomic.LoadUint32(&l.state) != 0 {
				return r.tookOne(t)
			}
			runtime.KeepAlive(r) // see ring.close
			return nil
		}
	} else if closed == modeMulti && r.bp != DropOldest && p.h.closed.Load() == 0 && p.h.claimN == 0 {
		// MPSC mode, open: a run of one when this handle's view of head
		// shows room, written out as above (bench/README.md); mpTryPush,
		// which refreshes that view, is two calls deeper.
		if t := atomic.LoadUint64(&l.tail); t-p.h.headCache < r.cap && atomic.CompareAndSwapUint64(&l.tail, t, t+1) { // M1
			r.mpPutOne(t, v)
			if r.park {
				r.wakeConsumer()
			}
			if atomic.LoadUint32(&l.state) != modeMulti { // F1
				return r.tookOne(t)
			}
			runtime.KeepAlive(r)
			return nil
		}
	} else if closed == 0 && r.bp == DropOldest {
		// DropOldest, single producer: pushEvict for one item, written
		// out. The slot is the producer's once the consumer has freed it
		// (A3) or once the producer evicts the item in it by winning head
		// (C1); if the consumer won that item and is still copying it
		// out, freeSlot's pause is the slow path's. A pending claim (K1)
		// leaves stamp(t) neither free nor winnable: the slow path
		// reports it.
		t := l.tail
		st := r.stamp(t)
		var spoutErr error
		free := atomic.LoadUint64(st) == stampFree(t) // A3
		if free {
			r.shadow.acquireHead()
		} else if old := t - r.cap; atomic.CompareAndSwapUint64(&l.head, old, old+1) { // C1
			free, spoutErr = true, r.evictOwned(old)
		}
		if free {
			*r.slot(t) = v
			r.shadow.releaseTail()
			publish(st, stampFull(t))
			publish(&l.tail, t+1) // R1
			if r.park {
				r.wakeConsumer()
			}
			if atomic.LoadUint32(&l.state) != 0 { // F1
				_, err := r.evictTook(t, t+1, 1, spoutErr)
				return err
			}
			runtime.KeepAlive(r)
			return spoutErr
		}
	}
	return p.pushSlow(v)
}

func (p *Producer[T]) pushSlow(v T) error {
	if err := p.usable(); err != nil {
		return err
	}
	r := p.r
	if r.bp == DropOldest {
		return p.pushEvictOne(v)
	}
	if ok, err := p.tryPush(v); ok || err != nil {
		return err
	}
	if r.bp == Reject {
		p.h.rejected.Add(1)
		return ErrFull
	}
	return p.pushWait(nil, v)
}

// closed reports whether this handle or the channel is closed.
func (p *Producer[T]) closed() bool {
	return p.r.closedBits() != 0 || p.h.closed.Load() != 0
}

// tryPush, pushBurst and pushEvict pick the ring's SPSC or MPSC protocol. A
// handle in SPSC mode cannot see the mode change under it: only its own
// Clone (or a C producer added by its owner) upgrades.
func (p *Producer[T]) tryPush(v T) (bool, error) {
	if p.r.multi() {
		return p.r.mpTryPush(&p.h.headCache, v)
	}
	return p.r.tryPush(v)
}

func (p *Producer[T]) pushBurst(vs []T) (int, error) {
	if p.r.multi() {
		return p.r.mpPushBurst(&p.h.headCache, vs)
	}
	return p.r.pushBurst(vs)
}

func (p *Producer[T]) pushEvict(vs []T) (int, error) {
	if p.r.multi() {
		return p.r.mpPushEvict(vs)
	}
	return p.r.pushEvict(vs)
}

func (p *Producer[T]) pushEvictOne(v T) error {
	one := [1]T{v}
	_, err := p.pushEvict(one[:])
	return err
}

// PushContext is Push that gives up when ctx is done, returning ctx.Err().
// A ctx that is already done pushes nothing.
func (p *Producer[T]) PushContext(ctx context.Context, v T) error {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	if ctx == nil {
		return ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.usable(); err != nil {
		return err
	}
	if p.r.bp != Block {
		return p.pushSlow(v) // Push without its fast path (and owner check)
	}
	if ok, err := p.tryPush(v); ok || err != nil {
		return err
	}
	return p.pushWait(ctx, v)
}

func (p *Producer[T]) pushWait(ctx context.Context, v T) error {
	r := p.r
	var err error
	werr := r.await(p.h, func() bool {
		var ok bool
		ok, err = p.tryPush(v)
		return ok || err != nil
	}, ctx, time.Time{})
	runtime.KeepAlive(r)
	if werr != nil {
		return werr
	}
	return err
}

// PushTimeout is Push that gives up after d, returning ErrTimeout without
// taking v. Under Reject and DropOldest it never waits, so d does not
// matter; under Block with d <= 0 it does not wait either (TryPush, but with
// ErrTimeout for a full channel). Like Push it returns ErrClosed if either
// side has closed, including while it waits.
func (p *Producer[T]) PushTimeout(v T, d time.Duration) error {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	return p.pushUntil(nil, v, time.Now().Add(max(d, 0)))
}

// pushUntil is PushContext and PushTimeout without the owner check: a push
// that waits under Block until ctx is done (ctx.Err()) or deadline
// (ErrTimeout); a zero deadline and a nil ctx mean no bound.
func (p *Producer[T]) pushUntil(ctx context.Context, v T, deadline time.Time) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := p.usable(); err != nil {
		return err
	}
	if p.r.bp != Block {
		return p.pushSlow(v)
	}
	if ok, err := p.tryPush(v); ok || err != nil {
		return err
	}
	r := p.r
	var err error
	werr := r.await(p.h, func() bool {
		var ok bool
		ok, err = p.tryPush(v)
		return ok || err != nil
	}, ctx, deadline)
	runtime.KeepAlive(r)
	if werr != nil {
		return werr
	}
	return err
}

// TryPush appends v if it can without waiting. It returns ErrFull if the
// channel is full (under DropOldest it evicts instead, as Push does) and
// ErrClosed if either side has closed.
func (p *Producer[T]) TryPush(v T) error {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	if err := p.usable(); err != nil {
		return err
	}
	r := p.r
	if r.bp == DropOldest {
		return p.pushEvictOne(v)
	}
	if ok, err := p.tryPush(v); ok || err != nil {
		return err
	}
	if r.bp == Reject {
		p.h.rejected.Add(1)
	}
	return ErrFull
}

// PushBatch appends vs in order and returns how many it took, n. Items
// vs[:n] are in the channel; vs[n:] are not. It publishes once per
// contiguous run of free slots, not once per item.
//
// Under Block it waits for space until all are taken (n == len(vs), nil) or
// a side closes (n, ErrClosed). Under Reject it takes what fits now and
// returns ErrFull if that is not all. Under DropOldest it takes all,
// evicting the oldest items (from this batch too, if it is longer than the
// capacity). A close that lands while it runs cuts it short: n, ErrClosed.
func (p *Producer[T]) PushBatch(vs []T) (int, error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	return p.pushBatch(nil, vs)
}

// pushBatch is PushBatch and PushBatchContext (ctx nil: no context).
func (p *Producer[T]) pushBatch(ctx context.Context, vs []T) (int, error) {
	r := p.r
	if err := p.usable(); err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 0, nil
	}
	switch r.bp {
	case DropOldest:
		return p.pushEvict(vs)
	case Reject:
		n, err := p.pushBurst(vs)
		if err == nil && n < len(vs) {
			p.h.rejected.Add(uint64(len(vs) - n))
			err = ErrFull
		}
		return n, err
	}
	n, err := p.pushBurst(vs)
	if n == len(vs) || err != nil {
		return n, err
	}
	werr := r.await(p.h, func() bool {
		var k int
		k, err = p.pushBurst(vs[n:])
		n += k
		return n == len(vs) || err != nil
	}, ctx, time.Time{})
	runtime.KeepAlive(r)
	if werr != nil {
		return n, werr
	}
	return n, err
}

// PushBatchContext is PushBatch that gives up when ctx is done: under Block
// it returns how many it took and ctx.Err(), and vs[n:] are not in the
// channel. A ctx that is already done pushes nothing (0, ctx.Err()). Under
// Reject and DropOldest it never waits and behaves as PushBatch. A nil ctx
// returns 0, ErrNilContext.
func (p *Producer[T]) PushBatchContext(ctx context.Context, vs []T) (int, error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	if ctx == nil {
		return 0, ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return p.pushBatch(ctx, vs)
}

// HasCapacity reports whether a Push would take an item now without waiting
// or evicting. It is a snapshot; only the producer's own pushes shrink it.
func (p *Producer[T]) HasCapacity() bool {
	return p.r.length() < int(p.r.cap)
}

// Close closes this handle: its later pushes return ErrClosed, and a push
// of it blocked in another goroutine is released. When the last open
// handle closes, the channel is closed for sending: the consumer still
// drains the items already in it, then gets ErrClosed. A push running in
// another goroutine meanwhile either takes its item, which the consumer then
// pops, or returns ErrClosed without taking it. Close wakes every
// blocked side under every wait strategy and may be called from any
// goroutine. A second Close of the same handle returns ErrClosed.
func (p *Producer[T]) Close() error {
	if !p.h.closed.CompareAndSwap(0, 1) || !p.r.releaseProducer() {
		return ErrClosed
	}
	return nil
}

// Clone returns a new Producer handle of the same channel, for another
// goroutine to push with. The first Clone upgrades the channel to
// multi-producer (MPSC) mode for good: from then on every handle claims
// slots with an atomic operation on a shared counter instead of the
// single-producer fast path, and publishes each push (or batch) with a
// per-slot stamp that the consumer reads. No lock is taken in either mode. Each handle is closed
// on its own; the channel closes for sending with the last one.
//
// Clone is called by p's owner, like Push (the upgrade hands over p's
// single-producer state, so no push of p may be in flight). It returns
// ErrClosed if p or the channel is closed.
func (p *Producer[T]) Clone() (*Producer[T], error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	r := p.r
	if err := p.usable(); err != nil {
		return nil, err
	}
	if !r.addProducer() {
		return nil, ErrClosed
	}
	if !r.multi() {
		p.h.headCache = r.l.headCache // p's view of head, handed over
		r.upgrade()
	}
	q := &Producer[T]{r: r, h: r.stats.newHandle()}
	q.h.headCache = atomic.LoadUint64(&r.l.head)
	runtime.KeepAlive(r)
	return q, nil
}

// Backend returns the backend that holds the channel's ring: BackendC or
// BackendGo, never Auto (New resolves Auto when it creates the channel).
func (p *Producer[T]) Backend() Backend { return p.r.backendOf() }

// IsUpgraded reports whether the channel is in multi-producer mode: a
// Producer was cloned, or a C producer was added with sr_ring_add_producer.
func (p *Producer[T]) IsUpgraded() bool { return p.r.multi() }

// Stats returns a snapshot of the channel's counters; see Stats.
func (p *Producer[T]) Stats() Stats { return p.r.snapshot() }

// Len returns the number of items in the channel (a snapshot).
func (p *Producer[T]) Len() int { return p.r.length() }

// Cap returns the capacity of the channel.
func (p *Producer[T]) Cap() int { return int(p.r.cap) }

// CRing returns the channel's struct sr_ring (csrc/spillring.h) so C code
// can take over one side: a C thread then pushes with sr_ring_push (or pops
// with sr_ring_pop) and closes its side with sr_ring_close, and the Go
// handle of that side must not be used meanwhile. The ring stays valid while
// a Go handle is reachable; C code that may outlive both takes its own
// reference with sr_ring_retain and drops it with sr_ring_release. It
// returns ErrNotC on the Go backend.
func (p *Producer[T]) CRing() (unsafe.Pointer, error) { return p.r.cRing() }

// Evicted returns how many items DropOldest has evicted so far. Every item
// pushed is either popped or evicted: pushed == popped + evicted + Len().
func (p *Producer[T]) Evicted() uint64 { return p.r.evicted() }

// Consumer is the receiving side of a channel.
//
// A Consumer has one owner: Pop, TryPop, PopBatch, TryPopBatch, PopTimeout,
// PopContext, All and the read claims (ReadClaim, Release) must not be
// called concurrently. Close, Len, IsEmpty,
// Cap, Evicted, Stats and IsUpgraded may be called from any goroutine; Close
// releases a Pop blocked in another goroutine, and every producer handle,
// blocked or not, gets ErrClosed from then on. Race-enabled builds check the
// one-owner rule as for Producer (ErrConcurrentUse).
type Consumer[T any] struct {
	_   noCopy
	own owner // race builds: catches overlapping owner-only calls
	r   *ring[T]
	mp  bool // saw MPSC mode (it never reverts): Pop skips the SPSC fast path

	rdSeq  uint64 // the pending read claim's first sequence (its length: readLen)
	rdTail uint64 // single producer: the tail known while tailCache is held at head (K5)
}

// pop dispatches a non-blocking single pop on the producer mode and the
// backpressure: the one place the consumer picks SPSC or MPSC. An SPSC
// path that finds an upgrade landed under it (U2) reports it, and the MPSC
// path takes over.
func (r *ring[T]) pop() (T, bool) {
	if !r.multi() {
		var v T
		var ok, upgraded bool
		if r.bp == DropOldest {
			v, ok, upgraded = r.popEvictMode()
		} else {
			v, ok, upgraded = r.tryPop()
		}
		if !upgraded {
			return v, ok
		}
	}
	return r.mpPop()
}

// popBatch dispatches a non-blocking batch pop, as pop does.
func (r *ring[T]) popBatch(dst []T) int {
	if !r.multi() {
		n := 0
		if r.bp == DropOldest {
			n = r.popWin(dst)
		} else {
			n = r.popBurst(dst)
		}
		if n != upgradedU2 {
			return n
		}
	}
	return r.mpPopBatch(dst)
}

// popStep is the consumer's one non-blocking step behind every Pop form: an
// item (ok), or done once the channel is over for the consumer: its own
// Close, or the producer side closed and drained (F2, drain.go). Until the
// consumer seals, a closed producer side still has items to hand out.
func (r *ring[T]) popStep() (v T, ok, done bool) {
	c := atomic.LoadUint32(&r.l.state)
	if r.l.readEnd != r.l.readStart && c&closedConsumer == 0 {
		var one [1]T
		r.takeHeld(one[:]) // K5: held items first, even past a seal
		return one[0], true, false
	}
	if c&closedMask != 0 && (c&closedConsumer != 0 || r.sealed()) {
		return v, false, true
	}
	if v, ok = r.pop(); ok {
		if r.consumerClosed() {
			var zero T
			return zero, false, true
		}
		return v, true, false
	}
	// closedProducer was seen before the pop's loads: if those found
	// nothing, the consumer may seal.
	return v, false, c&closedProducer != 0 && r.drained()
}

// popBatchStep is popStep for up to len(dst) items.
func (r *ring[T]) popBatchStep(dst []T) (n int, done bool) {
	c := atomic.LoadUint32(&r.l.state)
	if r.l.readEnd != r.l.readStart && c&closedConsumer == 0 {
		return r.takeHeld(dst), false // K5, as popStep
	}
	if c&closedMask != 0 && (c&closedConsumer != 0 || r.sealed()) {
		return 0, true
	}
	if n = r.popBatch(dst); n > 0 {
		if r.consumerClosed() {
			return 0, true
		}
		return n, false
	}
	return 0, c&closedProducer != 0 && r.drained()
}

// consumerClosed is the check after a pop has read its items: a Close of
// the consumer that landed meanwhile discards them, and once both sides are
// closed the slot memory may have been reclaimed, so what was read may be
// zeros. (The pop's release of head or its stamps came first: the reads of
// the slots are ordered before this load.)
func (r *ring[T]) consumerClosed() bool {
	return atomic.LoadUint32(&r.l.state)&closedConsumer != 0
}

// Pop removes and returns the oldest item, waiting per the WaitStrategy
// while the channel is empty. Once the producer side has closed and every
// item whose push succeeded was popped, it returns ErrClosed; a value with
// a nil error is always an item. After the consumer's own Close it returns
// ErrClosed.
func (c *Consumer[T]) Pop() (T, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	// The fast path, written out as in Push. `state` is loaded after tail
	// (U2): if that tail counts MPSC claims, the mode bit is seen. Any
	// close bit sends Pop to popWait, which drains by F2.
	//
	// A pending read claim (K5) costs these paths no check of their own:
	// made in single-producer mode, it keeps tailCache at head (at or
	// below it under DropOldest, also while items are held), so they
	// look for it only where they would refresh tailCache anyway. The
	// MPSC path checks readLen beside the stamp it reads.
	r := c.r
	l := r.l
	if c.mp {
		// MPSC mode seen (Block or Reject): the oldest item is ready if
		// it lies below the known-ready end, or if its stamp names it: a
		// run of one, what a single-item Push publishes (M3). Anything
		// else goes through mpPop, which reads runs and mpStart.
		if r.bp != DropOldest && atomic.LoadUint32(&l.state) == modeMulti && l.readLen == 0 {
			h, tc := l.head, l.tailCache
			if tc != h || atomic.LoadUint64(r.stamp(h)) == stampFull(h) {
				r.shadow.acquireTail()
				if tc == h {
					l.tailCache = h + 1 // never behind head (M3)
				}
				v := r.takeOne(h)
				if r.park {
					r.wakeProducer()
				}
				if r.consumerClosed() {
					var zero T
					return zero, ErrClosed
				}
				runtime.KeepAlive(r)
				return v, nil
			}
		}
	} else if r.fast {
		h := l.head
		tc := l.tailCache
		if h == tc {
			if l.readLen != 0 {
				var zero T
				return zero, ErrClaimPending
			}
			tc = atomic.LoadUint64(&l.tail) // A1
			r.shadow.acquireTail()
		}
		if atomic.LoadUint32(&l.state) == 0 && h != tc {
			l.tailCache = tc
			s := r.slot(h)
			v := *s
			if r.clear {
				var zero T
				*s = zero
			}
			r.shadow.releaseHead()
			publish(&l.head, h+1) // R2
			if r.park {
				r.wakeProducer()
			}
			if r.consumerClosed() {
				var zero T
				return zero, ErrClosed
			}
			runtime.KeepAlive(r)
			return v, nil
		}
	} else if r.bp == DropOldest {
		// DropOldest, single producer: popWin for one item, written out.
		// The item at head is the consumer's only if it wins head by C1
		// against an eviction; then it frees the slot by R3. A tail read
		// behind head (a batch push evicting past what it published)
		// means empty, as in popWin. Held items (K5) go first, by the
		// slow path.
		h := atomic.LoadUint64(&l.head)
		tc := l.tailCache
		if tc-h-1 >= r.cap { // nothing known ready (tc <= h)
			if l.readLen != 0 || l.readStart != l.readEnd {
				return c.popWait(nil, time.Time{})
			}
			tc = atomic.LoadUint64(&l.tail) // A1
			r.shadow.acquireTail()
		}
		if atomic.LoadUint32(&l.state) == 0 && tc-h-1 < r.cap {
			l.tailCache = tc
			if atomic.CompareAndSwapUint64(&l.head, h, h+1) { // C1
				s := r.slot(h)
				v := *s
				if r.clear {
					var zero T
					*s = zero
				}
				r.shadow.releaseHead()
				publish(r.stamp(h), stampFree(h+r.cap)) // R3
				if r.consumerClosed() {
					var zero T
					return zero, ErrClosed
				}
				runtime.KeepAlive(r)
				return v, nil
			}
		}
	}
	if atomic.LoadUint32(&l.state) == modeMulti && l.readStart == l.readEnd && l.readLen == 0 {
		// MPSC mode: one try before setting up a wait. From now on Pop
		// leaves the SPSC fast path out: its read of tail, the line every
		// producer's claim writes, would only slow the claims down.
		c.mp = true
		if v, ok := r.mpPop(); ok {
			if r.consumerClosed() {
				var zero T
				return zero, ErrClosed
			}
			return v, nil
		}
	}
	return c.popWait(nil, time.Time{})
}

// PopContext is Pop that gives up when ctx is done, returning ctx.Err().
func (c *Consumer[T]) PopContext(ctx context.Context) (T, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	if ctx == nil {
		var zero T
		return zero, ErrNilContext
	}
	return c.popWait(ctx, time.Time{})
}

// PopTimeout is Pop that gives up after d, returning ErrTimeout. With d <= 0
// it does not wait.
func (c *Consumer[T]) PopTimeout(d time.Duration) (T, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	return c.popWait(nil, time.Now().Add(max(d, 0)))
}

func (c *Consumer[T]) popWait(ctx context.Context, deadline time.Time) (T, error) {
	r := c.r
	if r.l.readLen != 0 {
		var zero T
		return zero, ErrClaimPending
	}
	var v T
	var ok, done bool
	err := r.await(nil, func() bool {
		v, ok, done = r.popStep()
		return ok || done
	}, ctx, deadline)
	runtime.KeepAlive(r)
	if err == nil && done {
		err = ErrClosed
	}
	return v, err
}

// TryPop removes and returns the oldest item if there is one. It returns
// ErrEmpty if there is none yet and ErrClosed if there will be none (the
// producer side closed and the channel is drained, or the consumer closed).
//
// In multi-producer mode items are popped in the order their pushes claimed
// slots, and an item is ready once it is written. A push that claimed its
// slot but is still writing it holds back the items claimed after it, even
// ones whose Push has returned: TryPop reports ErrEmpty then, and Pop waits
// the few nanoseconds it takes. The same holds for a push still running
// when the producer side closed.
func (c *Consumer[T]) TryPop() (T, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	if c.r.l.readLen != 0 {
		var zero T
		return zero, ErrClaimPending
	}
	v, ok, done := c.r.popStep()
	runtime.KeepAlive(c.r)
	switch {
	case ok:
		return v, nil
	case done:
		return v, ErrClosed
	}
	return v, ErrEmpty
}

// PopBatch waits until at least one item is ready, then moves up to
// len(dst) items into dst in order and returns how many. It releases the
// slots with one store per call. It returns 0, ErrClosed once the producer
// side closed and the channel is drained (or after the consumer's own
// Close); a dst of length 0 returns 0, nil at once.
func (c *Consumer[T]) PopBatch(dst []T) (int, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	return c.popBatch(nil, dst)
}

// popBatch is PopBatch and PopBatchContext (ctx nil: no context).
func (c *Consumer[T]) popBatch(ctx context.Context, dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	r := c.r
	if r.l.readLen != 0 {
		return 0, ErrClaimPending
	}
	n, done := r.popBatchStep(dst)
	if n > 0 {
		return n, nil
	}
	if !done {
		err := r.await(nil, func() bool {
			n, done = r.popBatchStep(dst)
			return n > 0 || done
		}, ctx, time.Time{})
		runtime.KeepAlive(r)
		if err != nil {
			return 0, err
		}
	}
	if done {
		return 0, ErrClosed
	}
	return n, nil
}

// PopBatchContext is PopBatch that gives up when ctx is done, returning 0,
// ctx.Err(). Like PopContext it hands out items that are ready even if ctx
// is done already; it gives up only where it would wait. A nil ctx returns
// 0, ErrNilContext.
func (c *Consumer[T]) PopBatchContext(ctx context.Context, dst []T) (int, error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	if ctx == nil {
		return 0, ErrNilContext
	}
	return c.popBatch(ctx, dst)
}

// TryPopBatch moves up to len(dst) ready items into dst without waiting and
// returns how many (0 if none are ready, the channel is over, or a read
// claim is pending).
func (c *Consumer[T]) TryPopBatch(dst []T) int {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	if len(dst) == 0 || c.r.l.readLen != 0 {
		return 0
	}
	n, _ := c.r.popBatchStep(dst)
	runtime.KeepAlive(c.r)
	return n
}

// All returns an iterator over the items, in order, that pops until the
// producer closed and the channel is drained (or the consumer closed).
// Breaking out of the loop leaves the remaining items in the channel.
func (c *Consumer[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, err := c.Pop()
			if err != nil || !yield(v) {
				return
			}
		}
	}
}

// AllContext returns an iterator over the items, in order, that stops when
// ctx is done. Each step yields an item and a nil error. It ends without an
// error, as All does, once the producer closed and the channel is drained
// (or the consumer closed). If ctx is done first, or a pop fails otherwise,
// it yields the zero T and that error (ctx.Err(): context.Canceled or
// context.DeadlineExceeded) once, as its last step; a nil ctx yields
// ErrNilContext. So a loop body checks err first:
//
//	for v, err := range c.AllContext(ctx) {
//		if err != nil {
//			return err // ctx done; the items not popped stay in the channel
//		}
//		use(v)
//	}
//
// ctx is checked before every pop, so a cancelled ctx stops the loop even
// while items keep arriving. Breaking out of the loop leaves the remaining
// items in the channel. Each pop is an owner-only call, as with All.
func (c *Consumer[T]) AllContext(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if ctx == nil {
			yield(zero, ErrNilContext)
			return
		}
		done := ctx.Done()
		for {
			select {
			case <-done:
				yield(zero, ctx.Err())
				return
			default:
			}
			v, err := c.PopContext(ctx)
			if errors.Is(err, ErrClosed) {
				return // closed and drained, or the consumer closed
			}
			if err != nil {
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// Close closes the channel for receiving: later pushes and pops return
// ErrClosed, a blocked Push is released, and items still in the channel are
// discarded (Len tells how many before Close). It may be called from any
// goroutine; a second Close returns ErrClosed.
func (c *Consumer[T]) Close() error {
	if !c.r.close(closedConsumer) {
		return ErrClosed
	}
	return nil
}

// Len returns the number of items ready to pop (a snapshot).
func (c *Consumer[T]) Len() int { return c.r.length() }

// IsEmpty reports whether no item is ready to pop (a snapshot).
func (c *Consumer[T]) IsEmpty() bool { return c.r.length() == 0 }

// Cap returns the capacity of the channel.
func (c *Consumer[T]) Cap() int { return int(c.r.cap) }

// CRing returns the channel's struct sr_ring; see Producer.CRing.
func (c *Consumer[T]) CRing() (unsafe.Pointer, error) { return c.r.cRing() }

// Evicted returns how many items DropOldest has evicted so far.
func (c *Consumer[T]) Evicted() uint64 { return c.r.evicted() }

// IsUpgraded reports whether the channel is in multi-producer mode; see
// Producer.Clone.
func (c *Consumer[T]) IsUpgraded() bool { return c.r.multi() }

// Stats returns a snapshot of the channel's counters; see Stats.
func (c *Consumer[T]) Stats() Stats { return c.r.snapshot() }

// Backend returns the backend that holds the channel's ring; see
// Producer.Backend.
func (c *Consumer[T]) Backend() Backend { return c.r.backendOf() }

// backendOf reports which backend holds the ring.
func (r *ring[T]) backendOf() Backend {
	if r.cmem {
		return BackendC
	}
	return BackendGo
}

// noCopy makes go vet's copylocks check flag copies of a handle.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
