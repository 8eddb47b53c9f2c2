package spillring

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// Claim and commit: items written and read where they lie in the ring, with
// no copy. csrc/spillring.h specifies the protocol (K1-K6); this is the Go
// side, quoting the same labels. A claim is at most two spans of the ring's
// own slots, the second one when the run wraps around the end of the slot
// array.

// Claim claims up to n free slots for the producer to build items in place
// and returns them as two spans: first, then second, which is empty unless
// the run wraps around the end of the ring. len(first)+len(second) is at
// least 1 and at most n: Claim takes what is free, like a burst, and under
// Block waits per the WaitStrategy only while nothing is. Under Reject it
// returns ErrFull when the channel is full; under DropOldest it never
// waits, but evicts the oldest items to make room, as Push does (the
// evictions stand even if the claim is aborted).
//
// Write the items into the spans, then Commit publishes the first k of
// them with one store, or Abort gives them all back. Until then the claim
// is pending: the handle's pushes, Clone and a second Claim return
// ErrClaimPending, and the spans belong to the caller. After Commit or
// Abort they belong to the channel again and must not be touched. The
// spans may hold items of earlier laps; nothing clears them first.
//
// In multi-producer mode a pending claim holds back the items other
// producers claimed after it, as a slow push does: Commit or Abort it soon,
// on every path (defer p.Abort() is harmless after a Commit: it returns
// ErrNoClaim). Stats reports such claims and the oldest one's age.
//
// It returns ErrClosed if either side has closed, including while it waits,
// and wraps ErrClaimCount for n < 1.
func (p *Producer[T]) Claim(n int) (first, second []T, err error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	return p.claim(nil, n, true)
}

// ClaimContext is Claim that gives up when ctx is done, returning
// ctx.Err(). A nil ctx returns ErrNilContext.
func (p *Producer[T]) ClaimContext(ctx context.Context, n int) (first, second []T, err error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	if ctx == nil {
		return nil, nil, ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return p.claim(ctx, n, true)
}

// TryClaim is Claim that never waits: it returns ErrFull when no slot is
// free (under Block and Reject).
func (p *Producer[T]) TryClaim(n int) (first, second []T, err error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	return p.claim(nil, n, false)
}

func (p *Producer[T]) claim(ctx context.Context, n int, wait bool) ([]T, []T, error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("%w: claim of %d items", ErrClaimCount, n)
	}
	if err := p.usable(); err != nil {
		return nil, nil, err
	}
	r, h := p.r, p.h
	want := min(uint64(n), r.cap)
	t, k, err := p.tryClaim(want)
	if k == 0 && err == nil {
		if !wait || r.bp == Reject {
			return nil, nil, ErrFull
		}
		werr := r.await(h, func() bool {
			t, k, err = p.tryClaim(want)
			return k > 0 || err != nil
		}, ctx, time.Time{})
		if werr != nil {
			runtime.KeepAlive(r)
			return nil, nil, werr
		}
	}
	runtime.KeepAlive(r)
	if k == 0 {
		return nil, nil, err
	}
	h.claimSeq, h.claimN, h.claimErr = t, k, err
	if r.multi() {
		// Only here can a claim hold others back (K3): Stats shows it.
		// One atomic store per claim and commit, which the
		// single-producer path does without.
		h.claims++
		h.pending.Store(h.claims)
	} else {
		// K1: claimLen turns the slow paths away; the fast paths find no
		// room (a head_cache of t - capacity; the real one is kept for
		// Commit) or, under DropOldest, a slot that is neither free nor
		// winnable (stamp(t) names t - capacity, whose C1 is long past),
		// and take the slow path.
		r.l.claimLen = k
		if r.bp == DropOldest {
			publish(r.stamp(t), stampFull(t-r.cap))
		} else {
			h.knownHead, r.l.headCache = r.l.headCache, t-r.cap
		}
	}
	a, b := r.spans(t, k)
	return a, b, nil
}

// tryClaim claims up to n slots without waiting (K1, K3): their first
// sequence and count (0: full), or ErrClosed if the consumer closed while a
// DropOldest claim waited for it to free a slot. Under DropOldest the error
// may also be the evict spout's, with the claim made: Commit reports it.
func (p *Producer[T]) tryClaim(n uint64) (uint64, uint64, error) {
	r, l := p.r, p.r.l
	if r.multi() {
		if r.bp != DropOldest {
			t, k := r.mpClaim(&p.h.headCache, n) // M1
			return t, k, nil
		}
		t := atomic.AddUint64(&l.tail, n) - n // M1, no room check
		var spoutErr error
		for i := range n {
			ok, e := r.mpFreeSlot(t + i)
			if !ok {
				return 0, 0, ErrClosed // the consumer closed: nobody reads these
			}
			spoutErr = firstErr(spoutErr, e)
		}
		return t, n, spoutErr
	}
	t := l.tail
	if r.bp != DropOldest {
		free := r.cap - (t - l.headCache)
		if free < n {
			l.headCache = atomic.LoadUint64(&l.head) // A2
			r.shadow.acquireHead()
			free = r.cap - (t - l.headCache)
		}
		return t, min(free, n), nil
	}
	var spoutErr error
	for i := range n {
		ok, e := r.freeSlot(t + i) // A3, or C1 and an eviction
		if !ok {
			return 0, 0, ErrClosed
		}
		spoutErr = firstErr(spoutErr, e)
	}
	return t, n, spoutErr
}

// firstErr keeps the first non-nil error.
func firstErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

// Commit publishes the first k items of the pending claim (0 <= k <= the
// number claimed) and ends the claim: the consumer pops them in order, as
// if pushed. The rest of the claim goes back to the channel (K2, K3): in
// single-producer mode the next claim or push reuses those slots; in
// multi-producer mode they are given back if no later claim exists, or else
// become padding the consumer steps over (Stats.Padded). Commit(0) is
// Abort.
//
// It returns how many items the channel took: k, or fewer with ErrClosed if
// a side closed first or meanwhile (as for PushBatch, items [:n] are in the
// channel and the rest are not). Under DropOldest it also returns the evict
// spout's error for the evictions the claim made (see ErrEvictedLost). It
// returns ErrNoClaim if no claim is pending, and wraps ErrClaimCount for k
// out of range, leaving the claim pending.
func (p *Producer[T]) Commit(k int) (int, error) {
	if raceEnabled {
		p.own.enter("Producer")
		defer p.own.leave()
	}
	h := p.h
	if h.claimN == 0 {
		return 0, ErrNoClaim
	}
	if k < 0 || uint64(k) > h.claimN {
		return 0, fmt.Errorf("%w: commit of %d items, %d claimed", ErrClaimCount, k, h.claimN)
	}
	r := p.r
	t, n, spoutErr := h.claimSeq, h.claimN, h.claimErr
	h.claimN, h.claimErr = 0, nil
	multi := r.multi()
	if multi {
		h.pending.Store(0)
	} else {
		r.l.claimLen = 0
		if r.bp != DropOldest {
			r.l.headCache = h.knownHead // a head read before: still a lower bound
		}
	}
	var closed error
	if p.closed() {
		k, closed = 0, ErrClosed // a push after a close takes nothing
	}
	var took int
	var err error
	if multi {
		took, err = r.mpCommit(t, n, uint64(k))
	} else {
		took, err = r.commit(t, n, uint64(k))
	}
	runtime.KeepAlive(r)
	return took, firstErr(firstErr(closed, err), spoutErr)
}

// Abort ends the pending claim without publishing any of it: Commit(0).
// It returns ErrNoClaim if no claim is pending, and ErrClosed if a side has
// closed (the claim is ended all the same).
func (p *Producer[T]) Abort() error {
	_, err := p.Commit(0)
	return err
}

// commit is K2: the single producer publishes [t, t+k) of its claim
// [t, t+n) with one R1 store and leaves the rest unpublished.
func (r *ring[T]) commit(t, n, k uint64) (int, error) {
	l := r.l
	if r.bp == DropOldest {
		// The claim made every slot of it the producer's (A3 or C1): the
		// committed ones now hold their items, the rest are free again
		// for the same sequences (A3 of the next claim or push).
		r.shadow.releaseTail()
		for i := range n {
			s := stampFree(t + i)
			if i < k {
				s = stampFull(t + i)
			}
			publish(r.stamp(t+i), s)
		}
	}
	if k == 0 {
		return 0, nil
	}
	r.shadow.releaseTail()
	publish(&l.tail, t+k) // R1
	if r.park {
		r.wakeConsumer()
	}
	return r.took(t, t+k) // F1
}

// mpCommit is K3: a producer in MPSC mode publishes [t, t+k) of its claim
// [t, t+n) and gives the rest back: by moving tail back if no later claim
// exists (Block and Reject), or else as padding.
func (r *ring[T]) mpCommit(t, n, k uint64) (int, error) {
	l := r.l
	if r.bp == DropOldest {
		if k < n {
			atomic.AddUint64(&l.padded, n-k) // before the stamps: see below
		}
		r.shadow.releaseTail()
		for i := range n {
			s := stampPad(t + i)
			if i < k {
				s = stampFull(t + i) // M2, per item
			}
			publish(r.stamp(t+i), s)
		}
	} else {
		if k < n && !atomic.CompareAndSwapUint64(&l.tail, t+n, t+k) {
			// A later claim exists: the rest is padding, one stamp for
			// the run, counted before it is published so that skipped
			// never passes padded.
			atomic.AddUint64(&l.padded, n-k)
			publish(r.stamp(t+k), stampPad(t+n-1))
		}
		if k > 0 {
			r.shadow.releaseTail()
			publish(r.stamp(t), stampFull(t+k-1)) // M2
		}
	}
	if r.park {
		r.wakeConsumer() // padding at head lets a waiting consumer on, too
	}
	if k == 0 {
		return 0, nil
	}
	return r.took(t, t+k) // F1
}

// usable is the check every push, claim and Clone of p makes first.
func (p *Producer[T]) usable() error {
	if p.closed() {
		return ErrClosed
	}
	if p.h.claimN != 0 {
		return ErrClaimPending
	}
	return nil
}

// spans views the n slots from sequence seq as at most two slices, in
// order. Each is capped at its own length, so an append to one cannot
// write into slots past it.
func (r *ring[T]) spans(seq, n uint64) ([]T, []T) {
	buf := r.buf()
	i := seq & r.mask
	e := min(i+n, r.cap)
	first := buf[i:e:e]
	if rest := n - (e - i); rest > 0 {
		return first, buf[:rest:rest]
	}
	return first, nil
}

// ReadClaim claims up to n ready items for the consumer to read in place
// and returns them as two spans, first then second (empty unless the run
// wraps around the end of the ring), waiting per the WaitStrategy while
// none is ready. len(first)+len(second) is at least 1 and at most n.
// Release then gives the first k of them back to the producers and ends
// the claim; the rest stay in the channel and come first from the next pop
// or ReadClaim. Until then the claim is pending: the consumer's pops and a
// second ReadClaim return ErrClaimPending. Under DropOldest the claimed
// items are the consumer's from ReadClaim on: no push evicts them. A
// producer that laps the ring waits for their slots instead, the one case
// where a DropOldest push waits (a pending DropOldest Claim makes the
// producers that lap it wait too): keep claims short, and never push into
// the ring from the goroutine that holds a claim on it, which would wait
// for itself.
//
// Once the producer side has closed and every item was handed out, it
// returns ErrClosed; it wraps ErrClaimCount for n < 1.
func (c *Consumer[T]) ReadClaim(n int) (first, second []T, err error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	return c.readClaim(nil, n, true)
}

// ReadClaimContext is ReadClaim that gives up when ctx is done, returning
// ctx.Err(). A nil ctx returns ErrNilContext.
func (c *Consumer[T]) ReadClaimContext(ctx context.Context, n int) (first, second []T, err error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	if ctx == nil {
		return nil, nil, ErrNilContext
	}
	return c.readClaim(ctx, n, true)
}

// TryReadClaim is ReadClaim that never waits: ErrEmpty if nothing is ready
// yet, ErrClosed if nothing will be.
func (c *Consumer[T]) TryReadClaim(n int) (first, second []T, err error) {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	return c.readClaim(nil, n, false)
}

func (c *Consumer[T]) readClaim(ctx context.Context, n int, wait bool) ([]T, []T, error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("%w: read claim of %d items", ErrClaimCount, n)
	}
	r := c.r
	if r.l.readLen != 0 {
		return nil, nil, ErrClaimPending
	}
	want := min(uint64(n), r.cap)
	h, k, done := r.readStep(want, &c.rdTail)
	if k == 0 && !done {
		if !wait {
			return nil, nil, ErrEmpty
		}
		err := r.await(nil, func() bool {
			h, k, done = r.readStep(want, &c.rdTail)
			return k > 0 || done
		}, ctx, time.Time{})
		if err != nil {
			runtime.KeepAlive(r)
			return nil, nil, err
		}
	}
	runtime.KeepAlive(r)
	if k == 0 {
		return nil, nil, ErrClosed
	}
	c.rdSeq = h
	r.l.readLen = k
	a, b := r.spans(h, k)
	return a, b, nil
}

// readStep is the read claim's one non-blocking step, as popStep is the
// pop's: up to n ready items from h, or done once the channel is over for
// the consumer. DropOldest items the consumer already holds (K5) come
// first, even after a seal: they lie below it.
func (r *ring[T]) readStep(n uint64, known *uint64) (h, k uint64, done bool) {
	l := r.l
	st := atomic.LoadUint32(&l.state)
	if st&closedConsumer != 0 {
		return 0, 0, true
	}
	if held := l.readEnd - l.readStart; held != 0 {
		return l.readStart, min(n, held), false
	}
	if st&closedProducer != 0 && r.sealed() {
		return 0, 0, true
	}
	if r.bp == DropOldest {
		h, k = r.readWin(n)
	} else {
		h, k = r.readReady(n, known)
	}
	if k > 0 {
		if r.consumerClosed() {
			return 0, 0, true
		}
		return h, k, false
	}
	return 0, 0, st&closedProducer != 0 && r.drained()
}

// readReady finds up to n ready items at head under Block and Reject (A1,
// or M3 in MPSC mode) and leaves them in place: head moves at Release. In
// single-producer mode tailCache stays at head while the claim is pending
// (see Pop); the tail it knows is kept in *known, for Release to restore.
func (r *ring[T]) readReady(n uint64, known *uint64) (uint64, uint64) {
	l := r.l
	h := l.head
	if !r.multi() {
		t := l.tailCache
		if t-h < n {
			var spsc bool
			if t, spsc = r.loadTail(); !spsc { // A1, U2
				return r.mpReady(h, n)
			}
		}
		if k := min(t-h, n); k > 0 {
			*known, l.tailCache = t, h
			return h, k
		}
		l.tailCache = t
		return h, 0
	}
	return r.mpReady(h, n)
}

// readWin wins up to n ready items at head under DropOldest by C1, as a pop
// does, but leaves them in their slots: from here on no push evicts them,
// and Release frees them (R3).
func (r *ring[T]) readWin(n uint64) (uint64, uint64) {
	l := r.l
	for {
		h := atomic.LoadUint64(&l.head)
		var k uint64
		if r.multi() {
			h, k = r.mpReady(h, n)
		} else {
			// tailCache is left at or below head while the claim is
			// pending or items are held: see Pop.
			t, spsc := r.loadTail() // A1, U2
			if !spsc {
				continue // upgraded: the MPSC branch from now on
			}
			avail := t - h
			if avail > r.cap {
				avail = 0 // head passed the tail we read (pushEvict)
			}
			k = min(avail, n)
			if k > 0 && int64(l.tailCache-h) > 0 {
				l.tailCache = h
			}
		}
		if k == 0 {
			return h, 0
		}
		if atomic.CompareAndSwapUint64(&l.head, h, h+k) { // C1
			return h, k
		}
	}
}

// Release gives the first k items of the pending read claim back to the
// producers (0 <= k <= the number claimed) and ends the claim; the spans
// must not be touched after it. The other items stay in the channel, the
// oldest, and the next pop or ReadClaim hands them out first. It returns
// ErrNoClaim if no read claim is pending, and wraps ErrClaimCount for k out
// of range, leaving the claim pending.
func (c *Consumer[T]) Release(k int) error {
	if raceEnabled {
		c.own.enter("Consumer")
		defer c.own.leave()
	}
	r := c.r
	l := r.l
	n := l.readLen
	if n == 0 {
		return ErrNoClaim
	}
	if k < 0 || uint64(k) > n {
		return fmt.Errorf("%w: release of %d items, %d claimed", ErrClaimCount, k, n)
	}
	h, kk := c.rdSeq, uint64(k)
	l.readLen = 0
	if r.clear && kk > 0 {
		a, b := r.spans(h, kk) // drop the references the items hold
		clear(a)
		clear(b)
	}
	r.shadow.releaseHead()
	if r.bp == DropOldest {
		// K5: the claim's items were won by C1; the released ones are
		// freed (R3) and the rest stay held, oldest first.
		for i := range kk {
			publish(r.stamp(h+i), stampFree(h+i+r.cap)) // R3
		}
		// Len reads the pair from any goroutine (and C's sr_ring_len
		// from any thread): atomic stores, start first.
		if l.readStart == l.readEnd { // the claim was not of held items
			atomic.StoreUint64(&l.readStart, h+kk)
			atomic.StoreUint64(&l.readEnd, h+n)
		} else {
			atomic.StoreUint64(&l.readStart, h+kk)
		}
	} else {
		if kk > 0 {
			publish(&l.head, h+kk) // R2
			if r.park {
				r.wakeProducer()
			}
		}
		if !r.multi() {
			l.tailCache = max(c.rdTail, h+kk) // see readReady
		}
	}
	runtime.KeepAlive(r)
	return nil
}

// takeHeld moves up to len(dst) of the DropOldest items the consumer holds
// (K5) into dst, frees their slots (R3) and returns how many.
func (r *ring[T]) takeHeld(dst []T) int {
	l := r.l
	h := l.readStart
	n := min(l.readEnd-h, uint64(len(dst)))
	r.copyOut(h, dst[:n])
	r.shadow.releaseHead()
	for i := range n {
		publish(r.stamp(h+i), stampFree(h+i+r.cap)) // R3
	}
	atomic.StoreUint64(&l.readStart, h+n) // see Release
	return int(n)
}
