package spillring

import (
	"runtime"
	"sync/atomic"
)

// The single-producer (SPSC) protocol of a ring: csrc/spillring.h
// specifies it (R1, A1, R2, A2; C1, R3, A3 under DropOldest), and this is
// the Go side, quoting the same labels. A ring is SPSC until its Producer
// is cloned (mpsc.go); channel.go picks the protocol, and an SPSC pop that
// finds the upgrade under it (U2) says so, for channel.go to switch. Calls
// go one way: channel.go to spsc.go and mpsc.go, and both to ring.go.

// upgradedU2 is what an SPSC batch pop returns instead of a count when it
// finds the ring upgraded under it (U2): the caller (ring.popBatch) goes on
// with the MPSC protocol. The single pops report it with a third result.
const upgradedU2 = -1

// loadTail is the consumer's A1 under U2: the published tail, and false if
// the ring has become MPSC, in which case the tail may count claims that are
// not published yet and the caller must switch to the MPSC path.
func (r *ring[T]) loadTail() (uint64, bool) {
	t := atomic.LoadUint64(&r.l.tail) // A1
	r.shadow.acquireTail()
	return t, atomic.LoadUint32(&r.l.state)&modeMulti == 0 // U2: after A1
}

// --- Producer side. Only the producer's goroutine calls these. ---
//
// Every push publishes, then settles with a close that landed meanwhile
// (F1, drain.go): it reports the items it took, and ErrClosed for the ones
// a close kept out.

// tryPush appends v if there is room (under Block and Reject): true if it
// did, false with a nil error if the ring is full. The caller has checked
// closed.
func (r *ring[T]) tryPush(v T) (bool, error) {
	l := r.l
	t := l.tail // producer is the sole writer: a plain read is exact
	if t-l.headCache >= r.cap {
		l.headCache = atomic.LoadUint64(&l.head) // A2
		r.shadow.acquireHead()
		if t-l.headCache >= r.cap {
			return false, nil
		}
	}
	*r.slot(t) = v
	r.shadow.releaseTail()
	publish(&l.tail, t+1) // R1
	if r.park {
		r.wakeConsumer()
	}
	if err := r.tookOne(t); err != nil {
		return false, err
	}
	return true, nil
}

// pushBurst appends as many of vs as fit now, in order, with one R1 store,
// and returns how many it took (under Block and Reject); ErrClosed if a
// close kept some of them out.
func (r *ring[T]) pushBurst(vs []T) (int, error) {
	l := r.l
	t := l.tail
	free := r.cap - (t - l.headCache)
	if free < uint64(len(vs)) {
		l.headCache = atomic.LoadUint64(&l.head) // A2
		r.shadow.acquireHead()
		free = r.cap - (t - l.headCache)
	}
	n := min(free, uint64(len(vs)))
	if n == 0 {
		return 0, nil
	}
	r.copyIn(t, vs[:n])
	r.shadow.releaseTail()
	publish(&l.tail, t+n) // R1, once per batch
	if r.park {
		r.wakeConsumer()
	}
	return r.took(t, t+n)
}

// pushEvict appends vs under DropOldest with one R1 store, evicting the
// oldest items when the ring is full. If vs is longer than the ring, its own
// first items are evicted (head may then pass the published tail for a
// moment; the consumer reads that as empty). It never waits for space; it
// may spin briefly while the consumer finishes copying the item in a slot
// it needs (C1, A3). It returns how many it took (all, unless a close cut
// it short: ErrClosed) and the evict spout's first error.
func (r *ring[T]) pushEvict(vs []T) (int, error) {
	var err error
	t0 := r.l.tail
	t := t0
	for i := range vs {
		ok, e := r.freeSlot(t)
		if !ok {
			break // the consumer closed and left this slot unfreed
		}
		if err == nil {
			err = e
		}
		*r.slot(t) = vs[i]
		r.shadow.releaseTail()
		publish(r.stamp(t), stampFull(t))
		t++
	}
	publish(&r.l.tail, t) // R1
	if r.park {
		r.wakeConsumer()
	}
	return r.evictTook(t0, t, len(vs), err)
}

// freeSlot makes the slot of seq t free for the producer: either the
// consumer already freed it (A3), or the producer evicts the item in it,
// seq t-capacity, by winning the CAS on head (C1). The error is the evict
// spout's; false means the consumer closed while the slot was not free.
func (r *ring[T]) freeSlot(t uint64) (bool, error) {
	st := r.stamp(t)
	for spins := 0; ; spins++ {
		if atomic.LoadUint64(st) == stampFree(t) { // A3
			r.shadow.acquireHead()
			return true, nil
		}
		old := t - r.cap
		if atomic.CompareAndSwapUint64(&r.l.head, old, old+1) { // C1
			// The producer owns seq old now; nobody else reads it.
			return true, r.evictOwned(old)
		}
		// The consumer won seq old (C1) and is copying it out; its R3
		// store is a memcpy away.
		if !r.evictPause(spins) {
			return false, nil
		}
	}
}

// --- Consumer side. Only the consumer's goroutine calls these. ---

// tryPop takes the oldest item if there is one (under Block and Reject), or
// reports that the ring was upgraded under it (U2).
func (r *ring[T]) tryPop() (v T, ok, upgraded bool) {
	l := r.l
	h := l.head // consumer is the sole writer in these modes
	if h == l.tailCache {
		t, spsc := r.loadTail()
		if !spsc {
			return v, false, true // U2: MPSC from here on
		}
		l.tailCache = t
		if h == t {
			return v, false, false
		}
	}
	v = r.takeOne(h)
	if r.park {
		r.wakeProducer()
	}
	return v, true, false
}

// popBurst moves up to len(dst) ready items into dst with one R2 store and
// returns how many, or upgradedU2.
func (r *ring[T]) popBurst(dst []T) int {
	l := r.l
	h := l.head
	avail := l.tailCache - h
	if avail < uint64(len(dst)) {
		t, spsc := r.loadTail()
		if !spsc {
			return upgradedU2
		}
		l.tailCache = t
		avail = t - h
	}
	n := min(avail, uint64(len(dst)))
	if n == 0 {
		return 0
	}
	r.copyOut(h, dst[:n])
	r.shadow.releaseHead()
	publish(&l.head, h+n) // R2, once per batch
	if r.park {
		r.wakeProducer()
	}
	return int(n)
}

// popWin takes up to max items under DropOldest by winning the CAS on head
// (C1) against the producer's evictions, copies them into dst, and frees
// their slots (R3). It returns how many it took, or upgradedU2.
func (r *ring[T]) popWin(dst []T) int {
	l := r.l
	for {
		h := atomic.LoadUint64(&l.head)
		avail := l.tailCache - h
		if avail > r.cap || avail < uint64(len(dst)) {
			t, spsc := r.loadTail()
			if !spsc {
				return upgradedU2
			}
			l.tailCache = t
			avail = t - h
		}
		if avail > r.cap {
			// head is past the tail we read: a batch push evicted
			// beyond its not yet published tail. Nothing to take yet.
			avail = 0
		}
		n := min(avail, uint64(len(dst)))
		if n == 0 {
			return 0
		}
		if !atomic.CompareAndSwapUint64(&l.head, h, h+n) { // C1
			continue // the producer evicted seq h meanwhile
		}
		r.copyOut(h, dst[:n])
		r.shadow.releaseHead()
		for i := range n { // count, not compare: h+n may wrap to 0
			publish(r.stamp(h+i), stampFree(h+i+r.cap)) // R3
		}
		runtime.KeepAlive(r) // see close
		return int(n)
	}
}

// popEvictMode takes one item under DropOldest, as tryPop does.
func (r *ring[T]) popEvictMode() (v T, ok, upgraded bool) {
	var one [1]T
	switch r.popWin(one[:]) {
	case upgradedU2:
		return one[0], false, true
	case 0:
		return one[0], false, false
	}
	return one[0], true, false
}
