package spillring

import (
	"fmt"
	"io"
	"iter"
	"reflect"
	"runtime"
	"unsafe"
)

// A SpillRing takes what a spout takes, so rings chain: ring A spills into
// ring B, which spills into a writer.
var _ Spout[int] = (*SpillRing[int])(nil)

// SpillConfig configures a SpillRing. Capacity is required; the other
// fields have usable zero values.
type SpillConfig[T any] struct {
	// Capacity is the number of items the ring holds: a power of two, at
	// most MaxCapacity. 0 is an error.
	Capacity int
	// Spout receives the items the ring spills, oldest first. nil means a
	// spout that discards them; Spilled counts them.
	Spout Spout[T]
	// Backend is where the ring lives. Auto picks BackendC when it is in
	// the build and T holds no pointers, and BackendGo otherwise.
	Backend Backend
	// SpillBuffer is the size, in items, of the C backend's spill area:
	// how many items a C thread that owns the ring can spill before its
	// pushes fail with -ENOBUFS (see CSpill). 0 means Capacity. The Go
	// backend has no spill area and ignores it.
	SpillBuffer int
}

// SpillRing is a ring of power-of-two capacity that never loses an item: a
// push into a full ring first spills the oldest item into the ring's spout,
// then stores the new one. If the spout refuses the oldest item, the push
// fails and nothing changes.
//
// A SpillRing has one owner: no method may be called concurrently with
// another, and none of them synchronizes with anything. So it needs no
// atomics: a Push that has room, or spills into the default spout, is a slot
// store and an index store. To move one between goroutines, hand it over
// with a channel or a mutex.
//
// Items leave a ring by a pop (Pop, PopSlice, Drain, Clear) or a spill (a
// push into a full ring, Flush), and pushed == popped + spilled + Len()
// holds between any two calls (Pushed, Popped, Spilled).
//
// A SpillRing is itself a Spout: Send is Push, SendBatch is PushSlice, and
// Flush sends everything on and flushes the spout. A spout must not use the
// ring that spills into it.
//
// On the C backend the ring lives in C memory laid out by csrc/spill.h, and a
// C thread can own it for a while and push into it (see CSpill).
//
// Close frees the ring's memory at once; without it, the memory goes when
// the SpillRing becomes unreachable (C memory included: the GC frees it with
// a cleanup, but it does not see it, so it does not hurry).
type SpillRing[T any] struct {
	_ noCopy

	// l is the owner's state line (struct sr_spill in csrc/spill.h): C
	// memory on the C backend, Go memory on the Go backend. Either way one
	// owner reads and writes it with plain loads and stores.
	l     *spillLayout
	slots unsafe.Pointer // cap items of T, at sequence & mask
	mask  uint64
	cap   uint64
	// limit is how far tail may run ahead of head before Push must spill
	// through the spout: cap, or, with the default spout, more than any
	// ring will ever be pushed (see settle). 0 once closed, which sends
	// every Push to pushSlow, where it finds the ring closed.
	limit uint64

	spout   Spout[T]
	discard bool // the spout is the default one: spills are counted, not sent

	area  unsafe.Pointer // the spill area (C backend only): items C spilled
	clear bool           // T holds pointers: zero slots items leave, so the ring does not keep them alive
	cptr  unsafe.Pointer // the struct sr_spill (C backend only; freed once closed)
	keep  []T            // the Go backend's slots, which slots points into

	// closed is set by Close, which frees the memory above. Every method
	// that writes, or reads more than l's words, checks it first; the
	// others read l, which Close points at closedSpill. So a closed ring
	// never touches the freed memory.
	closed  bool
	cleanup runtime.Cleanup // the C backend's release at GC, which Close stops
	pooled  bool            // a WorkerPool's ring: the pool frees it, Close refuses
}

// closedSpill is the state line of every closed SpillRing: zero, so a closed
// ring reads as empty, and never written (each writer checks closed first).
var closedSpill spillLayout

// spillLayout mirrors struct sr_spill in csrc/spill.h field for field; a cgo
// file asserts the offsets at compile time. Only the second line is used
// after construction.
type spillLayout struct {
	// Line 0: immutable after init, except refs, C's atomic reference
	// count, which Go never touches.
	magic         uint64
	version       uint32
	refs          uint32
	capacity      uint64
	mask          uint64
	elemSize      uint64
	slotsOffset   uint64
	spillOffset   uint64
	spillCapacity uint64
	totalSize     uint64
	flags         uint32
	_             [lineSize - 76]byte

	// Line 1: the owner's state. The ring holds the items head..tail-1;
	// tail counts every push, head every item that left, spilled those
	// that left by a spill. The spill area's pending items are
	// spillHead..spillHead+spillLen-1 of the area, oldest first, already
	// counted in spilled.
	head      uint64
	tail      uint64
	spilled   uint64
	spillHead uint64
	spillLen  uint64
	_         [lineSize - 40]byte
}

// spillDiscard is the default spout: it takes every item and keeps none.
// Its count of dropped items is the ring's spilled counter, which the ring
// keeps for every spout and a C owner keeps too, so it is exact even for
// items C spilled. The ring never calls Send or SendBatch on it: it drops by
// overwriting (see Push) or by skipping the call (see sendBatch).
type spillDiscard[T any] struct{}

func (spillDiscard[T]) Send(T) error                  { return nil }
func (spillDiscard[T]) SendBatch(vs []T) (int, error) { return len(vs), nil }
func (spillDiscard[T]) Flush() error                  { return nil }

// discardLimit lets a discarding ring's tail run ahead of its head for 2^63
// pushes between two settles: more than any ring will be pushed.
const discardLimit = 1 << 63

// NewSpillRing creates an empty SpillRing. An invalid cfg or element type
// gets an error wrapping ErrInvalidConfig: a Capacity that is not a power of
// two in [1, MaxCapacity], a zero-size T, a SpillBuffer out of [0,
// MaxCapacity], ErrPointerType for BackendC with a T that holds pointers,
// and ErrBackendUnavailable for BackendC in a build without it.
func NewSpillRing[T any](cfg SpillConfig[T]) (*SpillRing[T], error) {
	if cfg.Capacity == 0 {
		return nil, fmt.Errorf("%w: capacity 0 (a ring needs at least one slot)", ErrInvalidConfig)
	}
	if cfg.SpillBuffer < 0 || cfg.SpillBuffer > MaxCapacity {
		return nil, fmt.Errorf("%w: spill buffer %d out of range [0, MaxCapacity]", ErrInvalidConfig, cfg.SpillBuffer)
	}
	t := reflect.TypeFor[T]()
	// The channel's checks cover capacity, size, backend and pointers.
	c, err := Config{Capacity: cfg.Capacity, Backend: cfg.Backend}.validate(t)
	if err != nil {
		return nil, err
	}
	r := &SpillRing[T]{
		spout: cfg.Spout,
		cap:   uint64(c.Capacity),
		mask:  uint64(c.Capacity) - 1,
		limit: uint64(c.Capacity),
	}
	if r.spout == nil {
		r.spout = spillDiscard[T]{}
		r.discard = true
		r.limit = discardLimit
	}
	if c.Backend == BackendC {
		if err := newSpillC(r, cfg.SpillBuffer); err != nil {
			return nil, err
		}
		return r, nil
	}
	r.keep = make([]T, r.cap)
	r.slots = unsafe.Pointer(&r.keep[0])
	r.l = new(spillLayout)
	r.clear = hasPointers(t)
	return r, nil
}

func (r *SpillRing[T]) slot(seq uint64) *T {
	// In bounds: seq&mask < cap, and slots holds cap items.
	return (*T)(unsafe.Add(r.slots, uintptr(seq&r.mask)*unsafe.Sizeof(*new(T))))
}

// buf views the slots as a slice, for batch copies.
func (r *SpillRing[T]) buf() []T { return unsafe.Slice((*T)(r.slots), r.cap) }

// settle makes head exact. With the default spout, Push does not stop at a
// full ring: it overwrites the oldest item, which is the drop, and lets tail
// run ahead, so tail - head > cap means the oldest tail - head - cap items
// are gone. settle moves head past them and counts them as spilled. Every
// method that uses head settles first (or, if it only reads, uses bounds);
// C does the same (csrc/spill.h).
func (r *SpillRing[T]) settle() *spillLayout {
	l := r.l
	if n := l.tail - l.head; n > r.cap {
		l.head += n - r.cap
		l.spilled += n - r.cap
	}
	return l
}

// bounds returns the sequences of the oldest item and one past the newest,
// as settle would leave them, without writing anything.
func (r *SpillRing[T]) bounds() (h, t uint64) {
	l := r.l
	h, t = l.head, l.tail
	if t-h > r.cap {
		h = t - r.cap
	}
	runtime.KeepAlive(r)
	return h, t
}

// Push appends v. If the ring is full it first spills the oldest item into
// the spout; if the spout refuses it, Push returns the spout's error, v is
// not taken and the ring is unchanged. On the C backend Push first forwards
// what a C owner spilled (see Forward), and returns its error, taking
// nothing, if that fails.
func (r *SpillRing[T]) Push(v T) error {
	// One branch, no call on the paths that matter: room, or, with the
	// default spout, any push (see settle). Push itself does not inline
	// (its call to pushSlow is most of the inliner's price); its cost
	// against the floors of a call and of a slice ring is in
	// bench/README.md.
	l := r.l
	t := l.tail
	if t-l.head < r.limit && l.spillLen == 0 {
		*r.slot(t) = v
		l.tail = t + 1
		runtime.KeepAlive(r) // see pushSlow
		return nil
	}
	return r.pushSlow(v)
}

func (r *SpillRing[T]) pushSlow(v T) error {
	if r.closed {
		return ErrClosed
	}
	if err := r.Forward(); err != nil {
		return err
	}
	l := r.l
	t := l.tail
	if t-l.head >= r.limit {
		// Full, with a real spout (settled: a non-discarding ring never
		// holds more than cap). Send before any change: a refusal (or a
		// panic in the spout) leaves the ring as it was.
		if err := r.spout.Send(*r.slot(l.head)); err != nil {
			return err
		}
		l.head++
		l.spilled++
	}
	*r.slot(t) = v
	l.tail = t + 1
	// On the C backend a GC cleanup frees the memory l points into once r
	// is unreachable: keep r alive past the last access through l. Every
	// method that touches l after its last use of r does the same.
	runtime.KeepAlive(r)
	return nil
}

// PushSlice appends vs in order and returns how many it took, n: vs[:n] were
// taken and vs[n:] were not. The items it must evict go to the spout with
// SendBatch, oldest first: at most two calls for the ring's own items (the
// ring wraps) and, if vs is longer than the capacity, one more for vs's own
// first items, which never enter the ring. The ring's slots are written
// with at most two copies.
//
// n < len(vs) only with an error: the spout's, after it refused some of the
// evictions (the ring still takes what fits in the room it made), or that
// of forwarding a C owner's spills first (see Forward), in which case
// nothing is taken.
func (r *SpillRing[T]) PushSlice(vs []T) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if err := r.Forward(); err != nil {
		return 0, err
	}
	l := r.settle()
	n := uint64(len(vs))
	free := r.cap - (l.tail - l.head)
	if n <= free {
		r.copyIn(vs)
		runtime.KeepAlive(r)
		return len(vs), nil
	}
	need := n - free // items to spill
	// The ring's own items go first, oldest first.
	fromRing := min(need, r.cap-free)
	k, err := r.spillOldest(fromRing)
	if k < fromRing || err != nil {
		// The spout refused the rest: fill the room it did make.
		m := free + k
		r.copyIn(vs[:m])
		runtime.KeepAlive(r)
		return int(m), err
	}
	// Then, if vs is longer than the ring, its own first items. The ring
	// is empty now: they count as pushed and spilled at once.
	var taken uint64
	if direct := need - fromRing; direct > 0 {
		var j uint64
		j, err = r.sendBatch(vs[:direct])
		l.tail += j
		l.head += j
		l.spilled += j
		if j < direct || err != nil {
			r.copyIn(vs[j : j+r.cap])
			runtime.KeepAlive(r)
			return int(j + r.cap), err
		}
		taken = direct
	}
	r.copyIn(vs[taken:])
	runtime.KeepAlive(r)
	return len(vs), nil
}

// copyIn appends vs, which fits, with at most two copies.
func (r *SpillRing[T]) copyIn(vs []T) {
	l := r.l
	buf := r.buf()
	i := l.tail & r.mask
	k := copy(buf[i:], vs)
	copy(buf, vs[k:])
	l.tail += uint64(len(vs))
}

// spillOldest sends the oldest n items to the spout with at most two
// SendBatch calls and removes the ones it took. It returns how many that
// was and the spout's error.
func (r *SpillRing[T]) spillOldest(n uint64) (uint64, error) {
	k, err := r.sendOldest(n, r.sendBatch)
	r.l.spilled += k
	return k, err
}

// sendOldest hands the oldest n items to send, at most two calls (the ring
// wraps), and removes the ones it took: the body of spillOldest and sendTo.
func (r *SpillRing[T]) sendOldest(n uint64, send func([]T) (uint64, error)) (uint64, error) {
	l := r.l
	buf := r.buf()
	h := l.head
	i := h & r.mask
	first := min(n, r.cap-i)
	k, err := send(buf[i : i+first])
	if k == first && n > first && err == nil {
		var k2 uint64
		k2, err = send(buf[:n-first])
		k += k2
	}
	r.zero(h, k)
	l.head = h + k
	return k, err
}

// peekOldest shows the oldest n items (n <= Len, the ring settled) to f,
// in place, as at most two slices, and leaves them in the ring.
func (r *SpillRing[T]) peekOldest(n uint64, f func([]T)) {
	if n == 0 {
		return
	}
	buf := r.buf()
	i := r.l.head & r.mask
	first := min(n, r.cap-i)
	f(buf[i : i+first])
	if n > first {
		f(buf[:n-first])
	}
}

// sendBatch hands vs to the spout and returns how many items it took. A
// spout that takes fewer without saying why gets an error here, so a short
// batch always reports one.
func (r *SpillRing[T]) sendBatch(vs []T) (uint64, error) {
	if r.discard {
		return uint64(len(vs)), nil // the caller counts them in spilled
	}
	return sendBatchTo(r.spout, vs)
}

// sendTo moves every item to sink, oldest first, with at most two SendBatch
// calls, as Flush does to the spout; but the items sink takes count as
// popped, not spilled (a WorkerPool's Collect). It returns how many that
// was and sink's error.
func (r *SpillRing[T]) sendTo(sink Spout[T]) (int, error) {
	l := r.settle()
	k, err := r.sendOldest(l.tail-l.head, func(vs []T) (uint64, error) { return sendBatchTo(sink, vs) })
	runtime.KeepAlive(r)
	return int(k), err
}

// sendBatchTo hands vs to s and returns how many items it took, with an
// error whenever that is fewer.
func sendBatchTo[T any](s Spout[T], vs []T) (uint64, error) {
	if len(vs) == 0 {
		return 0, nil
	}
	k, err := s.SendBatch(vs)
	k = max(0, min(k, len(vs))) // a spout cannot take more than it got
	if k < len(vs) && err == nil {
		err = fmt.Errorf("spillring: spout took %d of %d items and returned no error: %w", k, len(vs), io.ErrShortWrite)
	}
	return uint64(k), err
}

// zero clears the slots of seq h..h+n-1 when T holds pointers, so items that
// left the ring are not kept alive by it.
func (r *SpillRing[T]) zero(h, n uint64) {
	if !r.clear || n == 0 {
		return
	}
	buf := r.buf()
	i := h & r.mask
	end := min(i+n, r.cap)
	clear(buf[i:end])
	clear(buf[:n-(end-i)])
}

// Pop removes and returns the oldest item, or reports false if the ring is
// empty. It never touches the spout.
func (r *SpillRing[T]) Pop() (T, bool) {
	if r.closed {
		var zero T
		return zero, false
	}
	l := r.settle()
	h := l.head
	if h == l.tail {
		var zero T
		return zero, false
	}
	p := r.slot(h)
	v := *p
	if r.clear {
		var zero T
		*p = zero
	}
	l.head = h + 1
	runtime.KeepAlive(r)
	return v, true
}

// PopSlice moves up to len(dst) of the oldest items into dst, in order, with
// at most two copies, and returns how many.
func (r *SpillRing[T]) PopSlice(dst []T) int {
	if r.closed {
		return 0
	}
	l := r.settle()
	h := l.head
	n := min(uint64(len(dst)), l.tail-h)
	if n == 0 {
		return 0
	}
	buf := r.buf()
	i := h & r.mask
	k := copy(dst[:n], buf[i:])
	copy(dst[k:n], buf)
	r.zero(h, n)
	l.head = h + n
	runtime.KeepAlive(r)
	return int(n)
}

// Peek returns the oldest item without removing it, or reports false if the
// ring is empty.
func (r *SpillRing[T]) Peek() (T, bool) { return r.Get(0) }

// PeekBack returns the newest item without removing it, or reports false if
// the ring is empty.
func (r *SpillRing[T]) PeekBack() (T, bool) {
	h, t := r.bounds()
	if h == t {
		var zero T
		return zero, false
	}
	v := *r.slot(t - 1)
	runtime.KeepAlive(r)
	return v, true
}

// Get returns the i-th item from the oldest (Get(0) is Peek, Get(Len()-1)
// is PeekBack) without removing it, or reports false if i is out of range.
func (r *SpillRing[T]) Get(i int) (T, bool) {
	h, t := r.bounds()
	if i < 0 || uint64(i) >= t-h {
		var zero T
		return zero, false
	}
	v := *r.slot(h + uint64(i))
	runtime.KeepAlive(r)
	return v, true
}

// All returns an iterator over the items, oldest first, that leaves them in
// the ring: a view. The loop body must not change the ring (All panics if it
// does); use Drain to take the items out as it goes.
func (r *SpillRing[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		l := r.settle()
		h, t := l.head, l.tail
		for s := h; s != t; s++ {
			if !yield(*r.slot(s)) {
				break
			}
			if l.head != h || l.tail != t {
				panic("spillring: SpillRing misuse: ring changed during All")
			}
		}
		runtime.KeepAlive(r)
	}
}

// Drain returns an iterator that pops the items, oldest first, each before
// it is yielded, until the ring is empty. Breaking out of the loop leaves
// the rest in the ring. The loop body may push: Drain pops until the ring is
// empty, whatever it holds by then.
func (r *SpillRing[T]) Drain() iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, ok := r.Pop()
			if !ok || !yield(v) {
				return
			}
		}
	}
}

// Flush sends every item in the ring to the spout, oldest first, with at
// most two SendBatch calls, then flushes the spout, and returns the first
// error. On the C backend it first forwards what a C owner spilled (see
// Forward). Items the spout took have left the ring (they count as
// spilled); if it refused some, they stay in the ring and the spout is not
// flushed.
func (r *SpillRing[T]) Flush() error {
	if r.closed {
		return ErrClosed
	}
	if err := r.Forward(); err != nil {
		return err
	}
	l := r.settle()
	if n := l.tail - l.head; n > 0 {
		if _, err := r.spillOldest(n); err != nil {
			return err
		}
	}
	runtime.KeepAlive(r)
	return r.spout.Flush()
}

// Clear discards every item in the ring without sending it to the spout.
// They count as popped. Items a C owner spilled are not in the ring: Clear
// leaves them pending.
func (r *SpillRing[T]) Clear() {
	if r.closed {
		return
	}
	l := r.settle()
	r.zero(l.head, l.tail-l.head)
	l.head = l.tail
	runtime.KeepAlive(r)
}

// Send pushes v: it is Push, which makes the ring a Spout.
func (r *SpillRing[T]) Send(v T) error { return r.Push(v) }

// SendBatch pushes vs: it is PushSlice, which makes the ring a Spout.
func (r *SpillRing[T]) SendBatch(vs []T) (int, error) { return r.PushSlice(vs) }

// Forward sends the items a C owner spilled, which wait in the C spill area,
// to the spout, oldest first, as one SendBatch. Push, PushSlice, Send,
// SendBatch and Flush call it first, so everything C spilled reaches the
// spout before anything Go spills later; call it yourself to pass the items
// on sooner. Items the spout refuses stay pending (see Pending) and Forward
// returns the spout's error. On the Go backend nothing is ever pending and
// Forward returns nil.
func (r *SpillRing[T]) Forward() error {
	if r.closed {
		return ErrClosed
	}
	l := r.l
	n := l.spillLen
	if n == 0 {
		return nil
	}
	// In bounds: the pending run lies inside the area's spillCapacity
	// items (csrc/spill.h), and the slice does not outlive this call (the
	// spout must not keep it).
	first := (*T)(unsafe.Add(r.area, uintptr(l.spillHead)*unsafe.Sizeof(*new(T))))
	k, err := r.sendBatch(unsafe.Slice(first, n))
	l.spillHead += k
	l.spillLen -= k
	if l.spillLen == 0 {
		l.spillHead = 0 // an empty area always starts at 0 (csrc/spill.h)
	}
	runtime.KeepAlive(r)
	return err
}

// Len returns the number of items in the ring.
func (r *SpillRing[T]) Len() int {
	h, t := r.bounds()
	return int(t - h)
}

// Cap returns the capacity of the ring.
func (r *SpillRing[T]) Cap() int { return int(r.cap) }

// IsFull reports whether the next Push will spill.
func (r *SpillRing[T]) IsFull() bool { return r.Len() == int(r.cap) }

// IsEmpty reports whether the ring holds no items.
func (r *SpillRing[T]) IsEmpty() bool { return r.Len() == 0 }

// Pushed returns how many items the ring has taken, by any push.
func (r *SpillRing[T]) Pushed() uint64 {
	n := r.l.tail
	runtime.KeepAlive(r)
	return n
}

// Popped returns how many items left the ring by a pop, Drain or Clear.
func (r *SpillRing[T]) Popped() uint64 {
	n := r.l.head - r.l.spilled
	runtime.KeepAlive(r)
	return n
}

// Spilled returns how many items left the ring by a spill: those the spout
// took, plus on the C backend those pending in the spill area (see Pending).
// With the default spout it is the number of items dropped.
func (r *SpillRing[T]) Spilled() uint64 {
	h, _ := r.bounds()
	n := r.l.spilled + (h - r.l.head) // and the drops settle would count
	runtime.KeepAlive(r)
	return n
}

// Pending returns how many items a C owner spilled that have not yet been
// forwarded to the spout (see Forward). It is always 0 on the Go backend.
func (r *SpillRing[T]) Pending() int {
	n := r.l.spillLen
	runtime.KeepAlive(r)
	return int(n)
}

// Backend reports where the ring lives: BackendC or BackendGo.
func (r *SpillRing[T]) Backend() Backend {
	if r.cptr != nil {
		return BackendC
	}
	return BackendGo
}

// CSpill returns the ring's struct sr_spill (csrc/spill.h) so a C thread can
// own it for a while: it pushes with sr_spill_push or sr_spill_push_burst
// (and may pop), and when the ring is full and the spill area too, its push
// takes nothing and returns -ENOBUFS. The handover both ways is the
// caller's synchronization (a cgo call that returns after the C thread is
// joined, a mutex, a release/acquire flag): while C owns the ring, no method
// of the SpillRing may be called, not even Len. After the handback, the
// next Push, PushSlice, Flush or Forward sends what C spilled to the spout,
// in one batch, before anything else.
//
// The memory stays valid while the SpillRing is reachable from Go; C code
// that may outlive it takes its own reference with sr_spill_retain and drops
// it with sr_spill_release. It returns ErrNotC on the Go backend.
func (r *SpillRing[T]) CSpill() (unsafe.Pointer, error) {
	if r.cptr == nil {
		return nil, ErrNotC
	}
	if r.closed {
		return nil, ErrClosed
	}
	return r.cptr, nil
}

// Close frees the ring's memory now instead of when the SpillRing becomes
// unreachable. Items still in the ring, and on the C backend items a C
// owner spilled that were not forwarded yet (Pending), are discarded: Close
// does not flush, so call Flush first to pass them on (Len and Pending tell
// how many there are). The spout is left alone: Close is not part of the
// Spout contract, and a ring never closes the spout it spills into.
//
// After Close, Push, PushSlice, Send, SendBatch, Flush and Forward return
// ErrClosed (a ring that spills into a closed ring gets its error, and
// keeps the item); Pop, Peek, PeekBack and Get report false; PopSlice,
// Len, Pending and the counters (Pushed, Popped, Spilled) return 0; All and
// Drain yield nothing; Clear does nothing; CSpill returns ErrClosed. Cap
// and Backend still describe the ring. A second Close returns ErrClosed.
//
// On the C backend Close drops Go's reference to the C block
// (sr_spill_release), which frees it at once unless C code took its own
// reference with sr_spill_retain: the block then lives until that C code
// releases it. Close is a method of the owner, like every other: it must
// not run while a C thread owns the ring (see CSpill).
func (r *SpillRing[T]) Close() error {
	if r.pooled {
		return ErrPoolRing
	}
	if r.closed {
		return ErrClosed
	}
	r.detach()
	r.freeC()
	return nil
}

// detach points a closed ring away from its memory (see closed).
func (r *SpillRing[T]) detach() {
	r.closed = true
	r.limit = 0
	r.l = &closedSpill
	r.slots, r.area, r.keep = nil, nil, nil
}

// viewSpill makes a SpillRing of the struct sr_spill at mem, which a
// WorkerPool owns (pooled): the pool frees the memory, after detaching the
// view. spout nil drops, as in SpillConfig.
func viewSpill[T any](mem unsafe.Pointer, spout Spout[T]) *SpillRing[T] {
	l := (*spillLayout)(mem)
	r := &SpillRing[T]{
		l:      l,
		slots:  unsafe.Add(mem, l.slotsOffset),
		area:   unsafe.Add(mem, l.spillOffset),
		cptr:   mem,
		cap:    l.capacity,
		mask:   l.mask,
		limit:  l.capacity,
		spout:  spout,
		pooled: true,
	}
	if spout == nil {
		r.spout = spillDiscard[T]{}
		r.discard = true
		r.limit = discardLimit
	}
	return r
}
