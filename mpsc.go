package spillring

import (
	"math"
	"runtime"
	"sync/atomic"
)

// The multi-producer (MPSC) mode of a ring: csrc/spillring.h specifies it
// (U1, U2, M1-M3); this is the Go side, quoting the same labels. A ring
// starts single-producer; Producer.Clone upgrades it, once and for good.
// Producers then claim sequences on the shared tail and publish each slot
// with its stamp, so the consumer only ever reads fully written slots, in
// claim order. No lock is taken on any push or pop.

// addProducer counts one more open producer handle (the `producers` word,
// shared with C's sr_ring_add_producer). It fails once the producer side or
// the consumer has closed.
func (r *ring[T]) addProducer() bool {
	for {
		n := atomic.LoadUint32(&r.l.producers)
		if n == 0 || r.closedBits() != 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(&r.l.producers, n, n+1) {
			return true
		}
	}
}

// releaseProducer drops one producer handle; the last one closes the
// producer side. Every handle finishes its pushes before it closes, so a
// consumer that sees closedProducer sees every claimed item published. It
// reports false if no reference was left: C code that took the producer
// side over (CRing) closed it already.
func (r *ring[T]) releaseProducer() bool {
	defer runtime.KeepAlive(r)
	for {
		n := atomic.LoadUint32(&r.l.producers)
		if n == 0 {
			return false
		}
		if !atomic.CompareAndSwapUint32(&r.l.producers, n, n-1) {
			continue
		}
		if n == 1 {
			return r.close(closedProducer)
		}
		// A Push of the closing handle may be parked in another
		// goroutine: wake the producers so it re-checks its handle.
		r.wakeProducer()
		return true
	}
}

// upgrade is U1, run by the ring's sole producer with no push in flight:
// everything below its tail was published by R1, so that is where stamp
// publication starts. The mode bit is stored last; whoever sees it sees
// mpStart.
func (r *ring[T]) upgrade() {
	l := r.l
	atomic.StoreUint64(&l.mpStart, l.tail)
	atomic.OrUint32(&l.state, modeMulti)
	runtime.KeepAlive(r)
}

// --- Producers, MPSC mode. Any number of goroutines (and C threads). ---

// mpClaim claims up to n free sequences for a Block/Reject push (M1) and
// returns the first and how many (0: full). hc is the calling handle's own
// cache of head: it is refreshed whenever it shows less room than n, so a
// stale view never turns away what fits.
func (r *ring[T]) mpClaim(hc *uint64, n uint64) (uint64, uint64) {
	l := r.l
	for {
		t := atomic.LoadUint64(&l.tail)
		used := t - *hc
		if used > r.cap || r.cap-used < n {
			*hc = atomic.LoadUint64(&l.head) // A2
			r.shadow.acquireHead()
			used = t - *hc
			if used > r.cap {
				// Head passed this stale tail: others claimed and
				// the consumer popped meanwhile. Read tail again.
				continue
			}
			if used == r.cap {
				return t, 0
			}
		}
		k := min(r.cap-used, n)
		if atomic.CompareAndSwapUint64(&l.tail, t, t+k) { // M1
			return t, k
		}
	}
}

// mpPublish writes vs into the claimed run t.. and publishes the run with
// one store of its first stamp, naming its last sequence (M2), then wakes a
// parked consumer.
func (r *ring[T]) mpPublish(t uint64, vs []T) {
	if len(vs) == 0 {
		return
	}
	r.copyIn(t, vs)
	r.shadow.releaseTail()
	publish(r.stamp(t), stampFull(t+uint64(len(vs))-1)) // M2
	if r.park {
		r.wakeConsumer()
	}
	runtime.KeepAlive(r)
}

// runRest reads stamp s of a run's start seq (M3, Block/Reject): how many
// sequences past seq the run holds, and false if s is not (yet) the stamp
// of a run starting at seq. A stale stamp of an earlier lap names a
// sequence below seq (runs are at most capacity long), which fails the
// range check. The stamp keeps 63 bits of the sequence.
func (r *ring[T]) runRest(seq, s uint64) (uint64, bool) {
	rest := (s>>1 - seq) & (math.MaxUint64 >> 1)
	return rest, s&1 == 1 && rest < r.cap
}

// mpTryPush pushes one item if there is room (under Block and Reject), as
// tryPush does: a run of one, written out rather than through mpPublish's
// batch copy.
func (r *ring[T]) mpTryPush(hc *uint64, v T) (bool, error) {
	t, k := r.mpClaim(hc, 1)
	if k == 0 {
		return false, nil
	}
	r.mpPutOne(t, v)
	if r.park {
		r.wakeConsumer()
	}
	if err := r.tookOne(t); err != nil {
		return false, err
	}
	return true, nil
}

// mpPutOne writes v into the claimed sequence t and publishes it as a run
// of one (M2). It inlines, so Push's written-out path calls it too.
func (r *ring[T]) mpPutOne(t uint64, v T) {
	*r.slot(t) = v
	r.shadow.releaseTail()
	publish(r.stamp(t), stampFull(t)) // M2
}

// mpPushBurst pushes as many of vs as fit now, in order, in one claim.
func (r *ring[T]) mpPushBurst(hc *uint64, vs []T) (int, error) {
	if len(vs) == 0 {
		return 0, nil
	}
	t, k := r.mpClaim(hc, uint64(len(vs)))
	if k == 0 {
		return 0, nil
	}
	r.mpPublish(t, vs[:k])
	return r.took(t, t+k)
}

// mpPushEvict pushes all of vs under DropOldest: one fetch_add claim (M1),
// then each slot is freed or its old item evicted before it is written. It
// returns how many it took (all unless a close cut it short: ErrClosed)
// and the evict spout's first error.
func (r *ring[T]) mpPushEvict(vs []T) (int, error) {
	var err error
	n := uint64(len(vs))
	t := atomic.AddUint64(&r.l.tail, n) - n // M1
	end := t
	for i := range vs {
		ok, e := r.mpFreeSlot(end)
		if !ok {
			break // the consumer closed: nobody reads the rest
		}
		if err == nil {
			err = e
		}
		r.mpPublish(end, vs[i:i+1])
		end++
	}
	return r.evictTook(t, end, len(vs), err)
}

// mpFreeSlot makes the slot of seq t free for its producer under
// DropOldest: the consumer freed it (A3), or this producer evicts seq
// t-capacity by winning the CAS on head (C1). It may evict only an item
// whose stamp it has read as full: otherwise the item's own producer may
// still be writing it. The error is the evict spout's; false means the
// consumer closed while the slot was not free.
func (r *ring[T]) mpFreeSlot(t uint64) (bool, error) {
	st := r.stamp(t)
	old := t - r.cap
	for spins := 0; ; spins++ {
		switch atomic.LoadUint64(st) {
		case stampFree(t): // A3
			r.shadow.acquireHead()
			return true, nil
		case stampFull(old):
			r.shadow.acquireTail()
			if atomic.CompareAndSwapUint64(&r.l.head, old, old+1) { // C1
				return true, r.evictOwned(old)
			}
		case stampPad(old):
			// K4: padding, no item: won as one, evicting nothing, and
			// counted as stepped over (padded - skipped stays the
			// padding left in the ring).
			if atomic.CompareAndSwapUint64(&r.l.head, old, old+1) { // C1
				atomic.AddUint64(&r.l.skipped, 1)
				return true, nil
			}
		}
		// The consumer is copying seq old out, an older seq is still being
		// evicted, or seq old's producer has not published yet.
		if !r.evictPause(spins) {
			return false, nil
		}
	}
}

// --- The consumer, MPSC mode. ---

// mpReady counts the items ready from head h on, up to max (M3), and
// returns the head they start at: h, or past h when padding lay at h (K4),
// which it steps over. Block/Reject: those below mpStart were published by
// R1 before U1, the others by their runs' stamps; tailCache keeps the end of
// the runs seen, always a run's start. DropOldest: each item by its own
// stamp, read afresh (an eviction may have taken what was ready).
func (r *ring[T]) mpReady(h, max uint64) (uint64, uint64) {
	l := r.l
	if r.bp == DropOldest {
		var n uint64
		for n < max {
			s := atomic.LoadUint64(r.stamp(h + n)) // M3
			if s == stampFull(h+n) {
				n++
				continue
			}
			if n > 0 || s != stampPad(h) {
				break
			}
			// K4: padding at head, won and freed as an item would be.
			if atomic.CompareAndSwapUint64(&l.head, h, h+1) { // C1
				publish(r.stamp(h), stampFree(h+r.cap)) // R3
				atomic.AddUint64(&l.skipped, 1)
			}
			h = atomic.LoadUint64(&l.head)
		}
		r.shadow.acquireTail()
		return h, n
	}
	end := l.tailCache
	if end-h >= max && end-h <= r.cap {
		return h, max // known ready: no stamp to read
	}
	if int64(h-end) > 0 {
		end = h
	}
	if start := atomic.LoadUint64(&l.mpStart); int64(start-end) > 0 {
		end = start
	}
	for end-h < max {
		s := atomic.LoadUint64(r.stamp(end)) // M3
		if rest, ok := r.runRest(end, s); ok {
			end += rest + 1
			continue
		}
		rest, ok := r.runRest(end, s^1<<63) // K4: padding?
		if !ok || end != h {
			break // not published yet, or padding after ready items
		}
		end += rest + 1
		atomic.AddUint64(&l.skipped, rest+1)
		r.shadow.releaseHead()
		publish(&l.head, end) // R2: the padding's slots are free again
		if r.park {
			r.wakeProducer()
		}
		h = end
	}
	r.shadow.acquireTail()
	l.tailCache = end
	return h, min(end-h, max)
}

// mpPop takes the oldest item in MPSC mode, if it is ready.
func (r *ring[T]) mpPop() (T, bool) {
	if r.bp != DropOldest {
		// One item, without mpPopBatch's copy.
		h, n := r.mpReady(r.l.head, 1)
		if n == 0 {
			var zero T
			return zero, false
		}
		v := r.takeOne(h)
		if r.park {
			r.wakeProducer()
		}
		runtime.KeepAlive(r)
		return v, true
	}
	var one [1]T
	if r.mpPopBatch(one[:]) == 0 {
		return one[0], false
	}
	return one[0], true
}

// mpPopBatch moves up to len(dst) ready items into dst in MPSC mode and
// releases their slots with one store (R2), or one C1 win and their R3
// stamps under DropOldest.
func (r *ring[T]) mpPopBatch(dst []T) int {
	l := r.l
	if r.bp == DropOldest {
		for {
			h, n := r.mpReady(atomic.LoadUint64(&l.head), uint64(len(dst)))
			if n == 0 {
				return 0
			}
			// Stamps read full and head still h at the CAS: no producer
			// evicted any of them (that would have moved head past).
			if !atomic.CompareAndSwapUint64(&l.head, h, h+n) { // C1
				continue
			}
			r.copyOut(h, dst[:n])
			r.shadow.releaseHead()
			for i := range n {
				publish(r.stamp(h+i), stampFree(h+i+r.cap)) // R3
			}
			runtime.KeepAlive(r)
			return int(n)
		}
	}
	h, n := r.mpReady(l.head, uint64(len(dst)))
	if n == 0 {
		return 0
	}
	r.copyOut(h, dst[:n])
	r.shadow.releaseHead()
	publish(&l.head, h+n) // R2
	if r.park {
		r.wakeProducer()
	}
	runtime.KeepAlive(r)
	return int(n)
}
