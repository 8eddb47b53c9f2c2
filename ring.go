package spillring

import (
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// lineSize separates independently written words: two 64-byte lines, as the
// adjacent-line prefetcher moves them in pairs (SR_LINE in csrc/spillring.h).
const lineSize = 128

// Bits of ringLayout.state (SR_CLOSED_*, SR_MULTI in csrc/spillring.h).
const (
	closedProducer = 1
	closedConsumer = 2
	modeMulti      = 4 // not a close: the ring is in MPSC mode (U1)
	closedMask     = closedProducer | closedConsumer
)

// ringLayout mirrors struct sr_ring in csrc/spillring.h field for field; a
// cgo file asserts every offset at compile time. The C backend points it at
// C memory; the Go backend allocates it in Go memory. Either way the Go code
// below follows the header's protocol and quotes its labels.
type ringLayout struct {
	// Line 0: immutable after init.
	magic        uint64
	version      uint32
	backpressure uint32
	wait         uint32
	spins        uint32
	capacity     uint64
	mask         uint64
	elemSize     uint64
	slotsOffset  uint64
	stampsOffset uint64
	totalSize    uint64
	flags        uint32
	refs         uint32
	reclaimed    uint32 // C's once-flag of sr_ring_reclaim; Go never touches it
	_            [lineSize - 84]byte

	// Line 1: written by the producer only (R1); the claim counter of
	// every producer in MPSC mode (M1).
	tail uint64
	_    [lineSize - 8]byte

	// Line 2: producer-private, but evicted and padded are read by
	// anyone; padded is added to by every producer (K3), claimLen is the
	// single producer's pending claim (K1).
	headCache uint64
	evicted   uint64
	padded    uint64
	claimLen  uint64
	_         [lineSize - 32]byte

	// Line 3: written by the consumer (R2); CAS target of both in DropOldest (C1).
	head uint64
	_    [lineSize - 8]byte

	// Line 4: consumer-private, but skipped is read by anyone. readLen
	// is the pending read claim, [readStart, readEnd) the DropOldest items
	// won and not yet handed out (K5).
	tailCache uint64
	skipped   uint64
	readLen   uint64
	readStart uint64
	readEnd   uint64
	_         [lineSize - 40]byte

	// Line 5: control words; state holds the close bits and the mode bit
	// (modeMulti), prodWait and consWait are the W1 futex words,
	// producers counts open producer handles, mpStart is U1's first
	// stamp-published sequence, drain settles a close with the pushes in
	// flight (F2, drain.go).
	state     uint32
	prodWait  uint32
	consWait  uint32
	producers uint32
	mpStart   uint64
	drain     uint64
	_         [lineSize - 32]byte
}

// ring is one channel's ring as seen from Go: immutable after construction,
// shared by the Producer and the Consumer. The words it points at belong to
// the sides as the header says; nothing here is written after New.
type ring[T any] struct {
	l      *ringLayout
	slots  unsafe.Pointer // capacity items of T
	stamps unsafe.Pointer // capacity uint64 stamps (DropOldest, MPSC mode)
	mask   uint64
	cap    uint64

	bp    Backpressure // what a push does when full (not "mode": that is SPSC/MPSC)
	wait  WaitStrategy
	park  bool // W1 in force: publishers check the wait words
	fast  bool // Push and Pop may take their inline path: Block or Reject
	clear bool // zero popped slots so Go memory does not pin garbage
	cmem  bool // words live in C memory (the C backend)

	parker parker
	cptr   unsafe.Pointer // the struct sr_ring (C backend only)

	// onEvict, if set, receives each item DropOldest evicts, on the
	// evicting producer's goroutine (Config.Evicted's Send). Its error is
	// returned by the push that evicted.
	onEvict func(T) error

	shadow raceShadow
	stats  chanStats
	keep   any // Go memory the unsafe pointers above point into
}

// setup fills the fields every backend shares.
func (r *ring[T]) setup(cfg Config, cmem bool) {
	r.cap = uint64(cfg.Capacity)
	r.mask = r.cap - 1
	r.bp = cfg.Backpressure
	r.wait = cfg.Wait
	r.park = cfg.Wait.kind != waitSpin // every other strategy may sleep
	r.cmem = cmem
	r.fast = r.bp != DropOldest
	r.clear = hasPointers(reflect.TypeFor[T]())
}

func (r *ring[T]) slot(seq uint64) *T {
	return (*T)(unsafe.Add(r.slots, uintptr(seq&r.mask)*unsafe.Sizeof(*new(T))))
}

// stampFree and stampFull encode a DropOldest slot's state (SR_STAMP_FREE
// and SR_STAMP_FULL in csrc/spillring.h): free for seq, or holding seq. The
// parities differ, so with capacity 1 "holds seq" is never "free for seq+1".
func stampFree(seq uint64) uint64 { return seq << 1 }
func stampFull(seq uint64) uint64 { return seq<<1 | 1 }

// stampPad marks a run of padding ending at seq (SR_STAMP_PAD, K3): the
// full stamp with its top bit flipped, which runRest refuses.
func stampPad(seq uint64) uint64 { return stampFull(seq) ^ 1<<63 }

func (r *ring[T]) stamp(seq uint64) *uint64 {
	return (*uint64)(unsafe.Add(r.stamps, uintptr(seq&r.mask)*8))
}

// buf views the slots as a slice, for batch copies.
func (r *ring[T]) buf() []T { return unsafe.Slice((*T)(r.slots), r.cap) }

// publish stores an index or stamp the other side reads (R1, R2, R3).
//
// It is a sequentially consistent store (XCHG on amd64, STLR on arm64),
// which W1 and F1 need. A release-only store was measured against it, and
// lost (bench/README.md).
func publish(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }

// closedBits is the close bits of the `state` word; an L1 hit in the
// steady state, since it is written only by Close and the upgrade (U1).
func (r *ring[T]) closedBits() uint32 { return atomic.LoadUint32(&r.l.state) & closedMask }

// multi reports whether the ring is in MPSC mode (U1).
func (r *ring[T]) multi() bool { return atomic.LoadUint32(&r.l.state)&modeMulti != 0 }

// --- Both protocols: copying, settling and evicting. ---

// took runs F1 for the run [t, end) just published and turns its answer
// into a count and an error.
func (r *ring[T]) took(t, end uint64) (int, error) {
	if e := r.published(t, end); e != end { // F1
		return int(e - t), ErrClosed
	}
	return int(end - t), nil
}

// tookOne runs F1 for the single item t just published: nil if the push
// took it, ErrClosed if a close kept it out.
func (r *ring[T]) tookOne(t uint64) error {
	err := error(nil)
	if r.published(t, t+1) == t {
		err = ErrClosed
	}
	runtime.KeepAlive(r) // see close
	return err
}

// evictTook finishes a DropOldest push of want items whose slots [t, end)
// it published (end-t < want if the consumer closed first): F1, then
// ErrClosed if a close kept any item out, else spoutErr, the evict spout's
// first error.
func (r *ring[T]) evictTook(t, end uint64, want int, spoutErr error) (int, error) {
	n, err := r.took(t, end)
	if err == nil && n < want {
		err = ErrClosed
	}
	if err != nil {
		return n, err
	}
	return n, spoutErr
}

// copyIn writes vs into the slots of seq t.. (at most two segments).
func (r *ring[T]) copyIn(t uint64, vs []T) {
	buf := r.buf()
	i := t & r.mask
	k := copy(buf[i:], vs)
	copy(buf, vs[k:])
}

// evictPause is one pause of a DropOldest producer waiting for a slot
// (sr_evict_pause): the one it waits for is a memcpy away, unless it was
// descheduled, so after a few spins it yields; false means the consumer
// has closed and may never free the slot.
func (r *ring[T]) evictPause(spins int) bool {
	if spins > 64 {
		if r.closedBits()&closedConsumer != 0 {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// evictOwned counts seq old, which this producer has just won by C1, as
// evicted and hands it to the evict spout. After a close it settles first
// (F3): an item past the consumer's seal was not taken and is not counted.
// After the consumer's Close it is counted but not handed on: items in a
// channel whose consumer closed are discarded (and the memory may be
// reclaimed, so the read is checked after the fact).
func (r *ring[T]) evictOwned(old uint64) error {
	if r.published(old, old+1) == old { // F3
		return nil
	}
	atomic.AddUint64(&r.l.evicted, 1)
	v := *r.slot(old)
	if atomic.LoadUint32(&r.l.state)&closedConsumer != 0 {
		return nil
	}
	return r.evict(v)
}

// evict hands an evicted item to the evict spout, if there is one.
func (r *ring[T]) evict(v T) error {
	if r.onEvict == nil {
		return nil
	}
	if err := r.onEvict(v); err != nil {
		return fmt.Errorf("%w: %w", ErrEvictedLost, err)
	}
	return nil
}

// takeOne moves the ready item at head h out and releases its slot (R2),
// under Block and Reject, in either mode (SPSC or MPSC). Small enough to
// inline; the caller wakes a parked producer.
func (r *ring[T]) takeOne(h uint64) T {
	p := r.slot(h)
	v := *p
	if r.clear {
		var zero T
		*p = zero
	}
	r.shadow.releaseHead()
	publish(&r.l.head, h+1) // R2
	return v
}

// copyOut reads the slots of seq h.. into dst and, for Go memory, clears
// them so the ring does not keep popped items alive.
func (r *ring[T]) copyOut(h uint64, dst []T) {
	buf := r.buf()
	i := h & r.mask
	k := copy(dst, buf[i:])
	copy(dst[k:], buf)
	if r.clear {
		n := uint64(len(dst))
		end := min(i+n, r.cap)
		clear(buf[i:end])
		clear(buf[:n-(end-i)])
	}
}

// --- Either side. ---

// length is the number of items in the ring: exact when both sides are idle,
// a snapshot otherwise.
func (r *ring[T]) length() int {
	held := r.held()
	h, t := r.bounds()
	d := t - h // differences, not comparisons: the counters wrap
	if d > r.cap {
		return int(held) // head moved past this tail read (DropOldest)
	}
	// Padding the consumer has not stepped over yet is no item (K4).
	// skipped first: it never passes padded.
	skipped := atomic.LoadUint64(&r.l.skipped)
	if pad := atomic.LoadUint64(&r.l.padded) - skipped; pad < d {
		return int(d-pad) + int(held)
	}
	return int(held)
}

// held counts the DropOldest items the consumer won for a read claim and
// has not handed out yet (K5): they lie below head but are still in the
// channel. A snapshot read from any goroutine: a pair read across the
// consumer's update is taken as none.
func (r *ring[T]) held() uint64 {
	start := atomic.LoadUint64(&r.l.readStart)
	if n := atomic.LoadUint64(&r.l.readEnd) - start; n <= r.cap {
		return n
	}
	return 0
}

func (r *ring[T]) cRing() (unsafe.Pointer, error) {
	if r.cptr == nil {
		return nil, ErrNotC
	}
	r.parker.share() // C threads may sleep and wake from now on
	return r.cptr, nil
}

// evicted is the number of items DropOldest has evicted.
func (r *ring[T]) evicted() uint64 {
	n := atomic.LoadUint64(&r.l.evicted)
	runtime.KeepAlive(r) // see close
	return n
}

// close sets side's bit (seq_cst, the closer's half of W1) and wakes every
// sleeper so each re-checks `state`. It reports whether side was open.
func (r *ring[T]) close(side uint32) bool {
	old := atomic.OrUint32(&r.l.state, side)
	r.wakeConsumer()
	r.wakeProducer()
	// The close that sets the second bit (of concurrent ones, exactly one)
	// returns the slot and stamp pages at once (see reclaim).
	if old&side == 0 && (old|side)&closedMask == closedMask {
		r.reclaim()
	}
	// On the C backend a GC cleanup frees the memory r.l points into once
	// r is unreachable; keep r alive past the last access through l. Every
	// ring method that touches l after its last use of r does the same.
	runtime.KeepAlive(r)
	return old&side == 0
}
