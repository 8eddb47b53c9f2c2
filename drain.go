package spillring

import "sync/atomic"

// Closing without losing an item: F1-F3 of csrc/spillring.h, the Go side.
//
// A push checks `state` before it starts, but a Close from another
// goroutine (or the last producer handle's Close) can land while the push
// runs. Checking first and publishing after leaves a window in which the
// consumer sees the close, finds the ring empty, reports "closed and
// drained", and the item published a moment later is lost although its push
// returned nil. So:
//
//   - F1: every producer publishes (R1 or M2, sequentially consistent) and
//     only then loads `state`. If the producer side is still open, the push
//     has succeeded: a consumer that later sees the close and then loads the
//     index or stamps sees the item (store->load on both sides in one total
//     order, as in W1).
//   - F2: a producer that sees the close after publishing [start, end)
//     settles with the consumer on the `drain` word: unsealed, it holds the
//     highest end promised by such producers, and the producer raises it to
//     end (a CAS); then its push has succeeded. The consumer seals the word
//     at head h once it has seen the close and found nothing ready at h, and
//     only if no promise reaches past h. Sealed, every item below h was
//     popped (or evicted) and none at or past h ever will be: a producer that
//     finds the word sealed took only its items below h and returns ErrClosed
//     for the rest. The consumer reports ErrClosed only once it has sealed.
//   - F3: DropOldest. A producer that evicts seq x (C1) and then sees the
//     close settles for [x, x+1) before it counts x: evicted if the word was
//     not sealed below x+1; otherwise x was not taken (its own push returns
//     ErrClosed), so it is neither counted nor handed to the Evicted spout.
//
// The word is end<<1 | drainSealed. The shift drops the sequence's top bit:
// ends are compared by their distance to a sequence, which is always far
// below 2^62.

const drainSealed = 1

// drainDist is seq - end for the end held in drain word d, a signed 63-bit
// distance.
func drainDist(d, seq uint64) int64 { return int64(seq<<1-d&^drainSealed) >> 1 }

// published is F1, run by a producer right after it published [start, end):
// the end of what the push took, end unless the producer side closed
// meanwhile and the consumer had already sealed (F2).
func (r *ring[T]) published(start, end uint64) uint64 {
	if atomic.LoadUint32(&r.l.state)&closedProducer == 0 {
		return end
	}
	return r.settle(start, end)
}

// settle is F2 for a producer that saw the producer side closed after it
// published [start, end), and F3 for an eviction (a run of one). It returns
// the end of the items taken: end, or less if the consumer sealed first.
func (r *ring[T]) settle(start, end uint64) uint64 {
	for {
		d := atomic.LoadUint64(&r.l.drain)
		if d&drainSealed != 0 {
			switch {
			case drainDist(d, start) >= 0: // sealed at or before start
				return start
			case drainDist(d, end) <= 0: // sealed at or past end
				return end
			}
			return end - uint64(drainDist(d, end))
		}
		if drainDist(d, end) <= 0 {
			return end // another producer promised as far already
		}
		if atomic.CompareAndSwapUint64(&r.l.drain, d, end<<1) {
			return end
		}
	}
}

// sealed reports whether the consumer has sealed the drain word: the
// channel is closed and drained for good. Only the consumer seals, so its
// own "not sealed" stays true until it seals.
func (r *ring[T]) sealed() bool { return atomic.LoadUint64(&r.l.drain)&drainSealed != 0 }

// drained is the consumer's half of F2. The caller saw closedProducer and
// then found nothing to pop; drained looks at head once more (loads after
// that close, so a push that saw the side open is visible) and seals there
// unless an item is ready, a producer promised items past it, or (MPSC) an
// item claimed after head is published: a push that succeeded before the
// close, held back by a claim still being written. It reports whether the
// channel is now closed and drained.
func (r *ring[T]) drained() bool {
	h := atomic.LoadUint64(&r.l.head)
	if r.readyAt(h) || r.multi() && r.publishedPast(h) {
		return false
	}
	for {
		d := atomic.LoadUint64(&r.l.drain)
		if d&drainSealed != 0 {
			return true
		}
		if drainDist(d, h) < 0 {
			return false // promised items are still to come (or to pop)
		}
		if atomic.CompareAndSwapUint64(&r.l.drain, d, h<<1|drainSealed) {
			return true
		}
	}
}

// readyAt reports whether the item of sequence h, the consumer's head, is
// published: by tail (SPSC, R1) or by stamps (MPSC, M3). Padding at h
// counts (K4): the consumer steps over it before it may seal.
func (r *ring[T]) readyAt(h uint64) bool {
	if r.multi() {
		if r.bp == DropOldest {
			s := atomic.LoadUint64(r.stamp(h))
			return s == stampFull(h) || s == stampPad(h)
		}
		next, n := r.mpReady(h, 1)
		return n > 0 || next != h
	}
	d := atomic.LoadUint64(&r.l.tail) - h
	return d != 0 && d <= r.cap // past cap: head passed tail (DropOldest)
}

// publishedPast reports whether any sequence claimed past head h (MPSC) is
// published: the start of a published run, or under DropOldest an item
// (padding is neither, K4).
// It reads up to one stamp per claimed sequence, once per close.
func (r *ring[T]) publishedPast(h uint64) bool {
	t := atomic.LoadUint64(&r.l.tail)
	for y := h + 1; int64(t-y) > 0; y++ {
		s := atomic.LoadUint64(r.stamp(y))
		if r.bp == DropOldest {
			if s == stampFull(y) {
				return true
			}
		} else if _, ok := r.runRest(y, s); ok {
			return true
		}
	}
	return false
}

// bounds returns head and tail for Len and Stats. Once sealed, both are the
// sealed end: claims past it were not taken, and evictions past it were
// not counted (F3).
func (r *ring[T]) bounds() (head, tail uint64) {
	head = atomic.LoadUint64(&r.l.head)
	tail = atomic.LoadUint64(&r.l.tail)
	if d := atomic.LoadUint64(&r.l.drain); d&drainSealed != 0 {
		e := head - uint64(drainDist(d, head))
		return e, e
	}
	return head, tail
}
