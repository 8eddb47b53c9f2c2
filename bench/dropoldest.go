package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	diodes "code.cloudfoundry.org/go-diodes"
	"github.com/spillring/spillring"
)

// The dropoldest scenario: overwrite-on-full, against go-diodes, which is
// what Go users pick for it. One producer goroutine pushes the items 0, 1,
// 2, ... as fast as it can for a fixed time; one consumer goroutine does a
// fixed amount of work per item (dropWork), so the producer is the faster
// side and the queue keeps dropping its oldest items. The figure is the
// consumer's delivered items per second; drops are counted too, and every
// run checks that each pushed item was either delivered or dropped:
// exactly, item by item, for spillring with an Evicted spout; by count for
// the others (go-diodes only reports a count to its Alerter).
//
// Every impl's consumer checks that its items come in order (a later item
// never before an earlier one), marks each in a bitmap and runs dropWork
// on it: the same per-item cost for all, so the rates differ only by what
// the queue costs the consumer (and what the producer's pace costs it, on
// shared cores).
//
// The run ends the same way for every impl: a timer sets a flag the
// producer checks before each push; the producer then notes how many it
// pushed and closes its side (spillring: Producer.Close; go-diodes: cancels
// the Waiter's context, after its last Set); the consumer takes what is
// left until the queue reports it closed and empty (spillring: ErrClosed
// from Pop or PopBatch; go-diodes: Next returns nil, which after the cancel
// means TryNext found nothing). Nothing is pushed after the close, so nothing is
// dropped during the drain, and the last item pushed is delivered (but see
// dropDiode for ManyToOne).

// DropCapacity is the slot count of every queue in the dropoldest scenario:
// small, so the producer laps the consumer often.
const DropCapacity = 1024

// DropBatch is how many items the spillring and spillring-evicted
// consumers take per PopBatch: a consumer of a drop-oldest queue that has
// fallen behind takes what is there in one go. go-diodes has no batch
// read; its consumers take one item per Next, all it offers, and so does
// spillring-pop, with Pop.
const DropBatch = 64

// DropWork is the consumer's per-item work by default, in rounds of
// dropWork: about 22 ns on a 2-vCPU EPYC guest, where every producer here
// outruns its consumer. At 16 rounds (12 ns) spillring's batch consumers
// mostly kept up with their producer, which then dropped only a few
// percent; more work shrinks the queues' share of the consumer's time, and
// so the differences between them (bench/README.md has figures). The
// driver's -dropwork changes it.
const DropWork = 24

// dropWork is the consumer's per-item work: rounds dependent
// multiply-xorshift steps. It depends on v and its result is summed, so
// the compiler cannot drop it.
func dropWork(v uint64, rounds int) uint64 {
	for range rounds {
		v ^= v >> 31
		v *= 0xbf58476d1ce4e5b9
	}
	return v
}

// DropWorkNs measures dropWork of the given rounds alone: ns per item over
// n items, the consumer's floor (1e9/DropWorkNs items/s is what a free
// queue would deliver).
func DropWorkNs(rounds, n int) float64 {
	var acc uint64
	start := time.Now()
	for v := range uint64(n) {
		acc += dropWork(v, rounds)
	}
	el := time.Since(start)
	workSink.Add(acc)
	return float64(el.Nanoseconds()) / float64(n)
}

// workSink takes every consumer's sum of dropWork results.
var workSink atomic.Uint64

// bitmap is a set of item numbers, grown as needed: a few MB for a run.
type bitmap []uint64

func (b *bitmap) set(v uint64) {
	i := v >> 6
	if i >= uint64(len(*b)) {
		b.grow(i)
	}
	(*b)[i] |= 1 << (v & 63)
}

func (b *bitmap) grow(i uint64) {
	*b = append(*b, make([]uint64, i+1-uint64(len(*b)))...)
}

func (b bitmap) word(i int) uint64 {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// dropSink is the consumer side of every impl: order check, bitmap, work.
type dropSink struct {
	work int    // rounds of dropWork per item
	next uint64 // last item taken + 1; 0 before the first
	n    uint64 // items taken
	acc  uint64 // dropWork's results
	seen bitmap
	bad  error
}

func newDropSink(work int) *dropSink {
	return &dropSink{work: work, seen: make(bitmap, 0, 1<<18)}
}

// dropTestLose, if set by a test, makes every sink ignore its first item,
// as if the queue had lost it: each impl's accounting must fail then.
var dropTestLose bool

func (s *dropSink) take(v uint64) {
	if dropTestLose && s.next == 0 {
		s.next = v + 1
		return
	}
	if v < s.next && s.bad == nil {
		s.bad = fmt.Errorf("out of order: item %d after %d", v, s.next-1)
	}
	s.next = v + 1
	s.n++
	s.seen.set(v)
	s.acc += dropWork(v, s.work)
}

// DropResult is one run of one impl.
type DropResult struct {
	Pushed    uint64 // items the producer pushed
	Delivered uint64 // items the consumer took
	// Evicted is the queue's own count of what it dropped: spillring's
	// Stats.Evicted; the sum of go-diodes' Alerter calls.
	Evicted uint64
	// Skipped (diodes-manytoone) is how many write indexes its Set skipped
	// after losing a CAS to the reader: each is a "Diode set collision"
	// log line, and each that the reader passed is in Evicted although no
	// item was dropped there.
	Skipped uint64
	// Stranded (diodes-manytoone) is how many items the reader could not
	// get at the end: they sit behind a skipped index, and the reader waits
	// at that index until the writer laps it.
	Stranded uint64
	Elapsed  time.Duration // from the producer's start to the end of the drain
}

// Rate is delivered items per second.
func (r DropResult) Rate() float64 { return float64(r.Delivered) / r.Elapsed.Seconds() }

// EvictRate is the queue's reported drops per second.
func (r DropResult) EvictRate() float64 { return float64(r.Evicted) / r.Elapsed.Seconds() }

// DropImpl is one impl of the dropoldest scenario.
type DropImpl struct {
	Name string
	run  func(d time.Duration, work int) (DropResult, error)
}

// Run runs the impl for about d, its consumer doing work rounds of dropWork
// per item, and checks its accounting. It collects the garbage first, so
// that what one run leaves (go-diodes allocates in every Set) is not
// collected in the next one's time.
func (im DropImpl) Run(d time.Duration, work int) (DropResult, error) {
	runtime.GC()
	r, err := im.run(d, work)
	if err != nil {
		return r, fmt.Errorf("dropoldest %s: %w", im.Name, err)
	}
	return r, nil
}

// DropImpls are the impls of the dropoldest scenario: spillring's first.
// spillring-pop takes one item per Pop, as go-diodes' consumers take one
// per Next, to show what the batches are worth.
var DropImpls = []DropImpl{
	{"spillring", func(d time.Duration, work int) (DropResult, error) { return dropSpillring(d, work, DropBatch, false) }},
	{"spillring-evicted", func(d time.Duration, work int) (DropResult, error) { return dropSpillring(d, work, DropBatch, true) }},
	{"spillring-pop", func(d time.Duration, work int) (DropResult, error) { return dropSpillring(d, work, 0, false) }},
	{"diodes-onetoone", func(d time.Duration, work int) (DropResult, error) {
		return dropDiode(d, work, func(a diodes.Alerter) diodes.Diode { return diodes.NewOneToOne(DropCapacity, a) })
	}},
	{"diodes-manytoone", func(d time.Duration, work int) (DropResult, error) {
		return dropDiode(d, work, func(a diodes.Alerter) diodes.Diode { return diodes.NewManyToOne(DropCapacity, a) })
	}},
}

// evictSpout is the Evicted spout of spillring-evicted: it checks the
// order of what it gets (evictions come oldest first) and marks each item
// in a bitmap of its own. It runs on the producer's goroutine.
type evictSpout struct {
	next uint64
	n    uint64
	seen bitmap
	bad  error
}

func (e *evictSpout) Send(v uint64) error {
	if v < e.next && e.bad == nil {
		e.bad = fmt.Errorf("evicted out of order: item %d after %d", v, e.next-1)
	}
	e.next = v + 1
	e.n++
	e.seen.set(v)
	return nil
}

func (e *evictSpout) SendBatch(vs []uint64) (int, error) {
	for _, v := range vs {
		_ = e.Send(v)
	}
	return len(vs), nil
}

func (e *evictSpout) Flush() error { return nil }

// dropSpillring runs a channel under DropOldest, with the default Config
// otherwise (Auto backend: C here; Adaptive wait). The producer pushes one
// item per Push; the consumer takes up to batch items per PopBatch, or one
// per Pop if batch is 0. With spout, every eviction goes to an evictSpout,
// and the run checks item by item that the spout's items and the
// consumer's are 0..pushed-1, each once; without, that the channel's
// counts add up.
func dropSpillring(d time.Duration, work, batch int, spout bool) (DropResult, error) {
	cfg := spillring.Config{Capacity: DropCapacity, Backpressure: spillring.DropOldest}
	var ev *evictSpout
	if spout {
		ev = &evictSpout{seen: make(bitmap, 0, 1<<18)}
		cfg.Evicted = spillring.Spout[uint64](ev)
	}
	p, c, err := spillring.New[uint64](cfg)
	if err != nil {
		return DropResult{}, err
	}
	defer c.Close()
	var stop atomic.Bool
	var pushed uint64
	var perr error
	done := make(chan struct{})
	start := time.Now()
	t := time.AfterFunc(d, func() { stop.Store(true) })
	defer t.Stop()
	go func() {
		defer close(done)
		var v uint64
		for ; !stop.Load(); v++ {
			if err := p.Push(v); err != nil {
				perr = err
				break
			}
		}
		pushed = v
		if err := p.Close(); err != nil && perr == nil {
			perr = err
		}
	}()
	s := newDropSink(work)
	// The consumer pops until ErrClosed: the producer closed and every
	// item left was taken.
	var cerr error
	if batch == 0 {
		for {
			v, err := c.Pop()
			if err != nil {
				cerr = err
				break
			}
			s.take(v)
		}
	} else {
		buf := make([]uint64, batch)
		for {
			n, err := c.PopBatch(buf)
			if err != nil {
				cerr = err
				break
			}
			for _, v := range buf[:n] {
				s.take(v)
			}
		}
	}
	elapsed := time.Since(start)
	<-done
	workSink.Add(s.acc)
	st := c.Stats()
	r := DropResult{Pushed: pushed, Delivered: st.Popped, Evicted: st.Evicted, Elapsed: elapsed}
	switch {
	case perr != nil:
		return r, fmt.Errorf("push: %w", perr)
	case !errors.Is(cerr, spillring.ErrClosed):
		return r, fmt.Errorf("pop: %w", cerr)
	case s.bad != nil:
		return r, s.bad
	case pushed == 0:
		return r, errors.New("nothing pushed")
	case st.Pushed != pushed:
		return r, fmt.Errorf("stats say %d pushed, the producer %d", st.Pushed, pushed)
	case st.Len != 0:
		return r, fmt.Errorf("%d items left after the drain", st.Len)
	case s.n != st.Popped:
		return r, fmt.Errorf("the consumer took %d items, stats say %d popped", s.n, st.Popped)
	case st.Popped+st.Evicted != pushed:
		return r, fmt.Errorf("popped %d + evicted %d = %d, pushed %d", st.Popped, st.Evicted, st.Popped+st.Evicted, pushed)
	case s.next != pushed:
		// A push evicts only older items, and none follows the last.
		return r, fmt.Errorf("last item delivered %d, last pushed %d", int64(s.next)-1, pushed-1)
	}
	if ev != nil {
		return r, ev.check(s, r)
	}
	return r, nil
}

// check is the item-by-item accounting of spillring-evicted: the spout got
// exactly the evicted count, and its items and the consumer's are disjoint
// and together make up 0..pushed-1 (so each item came out once).
func (e *evictSpout) check(s *dropSink, r DropResult) error {
	if e.bad != nil {
		return e.bad
	}
	if e.n != r.Evicted {
		return fmt.Errorf("the spout got %d items, stats say %d evicted", e.n, r.Evicted)
	}
	words := int((r.Pushed + 63) / 64)
	for i := range max(words, len(e.seen), len(s.seen)) {
		a, b := e.seen.word(i), s.seen.word(i)
		want := ^uint64(0)
		switch {
		case i >= words:
			want = 0
		case i == words-1 && r.Pushed%64 != 0:
			want = 1<<(r.Pushed%64) - 1
		}
		at := func(w uint64) uint64 { return uint64(i)*64 + uint64(bits.TrailingZeros64(w)) }
		if both := a & b; both != 0 {
			return fmt.Errorf("item %d both evicted and delivered", at(both))
		}
		if miss := want &^ (a | b); miss != 0 {
			return fmt.Errorf("item %d neither evicted nor delivered", at(miss))
		}
		if extra := (a | b) &^ want; extra != 0 {
			return fmt.Errorf("item %d, never pushed, came out", at(extra))
		}
	}
	return nil
}

// dropChunk is how many items the diode producer allocates at once.
const dropChunk = 4096

// collisionLog replaces the standard logger while a diode runs: go-diodes'
// ManyToOne reports a skipped write index only as a log.Println, on the
// writer's goroutine inside Set, so counting those lines (and noting the
// item being set) is how the run learns of them. Other lines go on to the
// previous writer. (It also spares the run the writes to stderr.)
type collisionLog struct {
	cur   *uint64  // the item the producer is setting
	items []uint64 // the item being set at each collision, in order
	prev  io.Writer
}

func (l *collisionLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("Diode set collision")) {
		l.items = append(l.items, *l.cur)
		return len(b), nil
	}
	return l.prev.Write(b)
}

// dropDiode runs a go-diodes diode (made by mk with the run's Alerter)
// wrapped in a Waiter, its blocking reader: Set signals a channel of one
// slot (a non-blocking send, cheap while the token is still there), Next
// tries TryNext and waits on that channel only when it finds nothing. (The
// Poller, the other wrapper, sleeps 10ms by default whenever it finds the
// diode empty.)
//
// A diode carries unsafe.Pointers: each item is a uint64 in a chunk of
// dropChunk, allocated once per chunk and never reused (a slot reused while
// a stale pointer to it may still sit in the diode would be a data race),
// so the producer allocates 8 bytes per item in 32 KiB chunks, on top of
// the 16-byte bucket go-diodes itself allocates in every Set. A Go user
// passing a pointer to a value allocated per item would allocate more.
//
// The Alerter is called on the reader's goroutine with how many indexes the
// writer overwrote before the reader got to them (when it finds a newer
// item than it expected, it skips to it, dropping also the items between
// that were still there). For OneToOne their sum is the items dropped, and
// with the delivered ones it makes up what was pushed. ManyToOne's Set
// claims its index with an atomic add and installs the item with a CAS;
// when the reader's swap of that slot beats the CAS, Set logs a collision
// and claims the next index, leaving a hole. Even with one writer this
// happens whenever the writer laps the reader. The reader then waits at the
// hole until the writer laps it and drops a ring's worth, which its Alerter
// reports including the hole; and a hole near the end strands the items
// after it. The check accounts for both exactly: the holes the reader
// passed are the collisions seen while setting items it got past, and the
// stranded items are those after the last one delivered, which must start
// at a collision.
func dropDiode(d time.Duration, work int, mk func(diodes.Alerter) diodes.Diode) (DropResult, error) {
	var alerted uint64
	dio := mk(diodes.AlertFunc(func(missed int) { alerted += uint64(missed) }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := diodes.NewWaiter(dio, diodes.WithWaiterContext(ctx))
	var v uint64 // the item being set; collisionLog reads it, on the same goroutine
	cl := &collisionLog{cur: &v, prev: log.Writer()}
	log.SetOutput(cl)
	defer log.SetOutput(cl.prev)
	var stop atomic.Bool
	var pushed uint64
	done := make(chan struct{})
	start := time.Now()
	t := time.AfterFunc(d, func() { stop.Store(true) })
	defer t.Stop()
	go func() {
		defer close(done)
		var chunk []uint64
		for ; !stop.Load(); v++ {
			if len(chunk) == 0 {
				chunk = make([]uint64, dropChunk)
			}
			chunk[0] = v
			w.Set(diodes.GenericDataType(&chunk[0]))
			chunk = chunk[1:]
		}
		pushed = v
		cancel() // after the last Set: the reader drains, then Next returns nil
	}()
	s := newDropSink(work)
	for {
		data := w.Next()
		if data == nil {
			break // the context is cancelled and TryNext found nothing
		}
		s.take(*(*uint64)(unsafe.Pointer(data)))
	}
	elapsed := time.Since(start)
	<-done
	// Next returned nil after one TryNext found nothing, but a OneToOne
	// diode's TryNext can report nothing once and then an item (seen once
	// in CI): drain it for good, so that the accounting below covers
	// everything the diode still held.
	for {
		data, ok := dio.TryNext()
		if !ok {
			break
		}
		s.take(*(*uint64)(unsafe.Pointer(data)))
	}
	workSink.Add(s.acc)
	r := DropResult{Pushed: pushed, Delivered: s.n, Evicted: alerted, Skipped: uint64(len(cl.items)), Elapsed: elapsed}
	if s.bad != nil {
		return r, s.bad
	}
	if pushed == 0 {
		return r, errors.New("nothing pushed")
	}
	return r, r.diodeCheck(s, cl.items)
}

// diodeCheck is the count accounting of a diode run, given the item being
// set at each collision (none for OneToOne). Items up to the last delivered
// were each delivered or reported dropped: the Alerter's sum is the gaps
// between delivered items plus the holes before the last one delivered,
// one per collision while setting an item up to it. Items after it were
// stranded, which only a hole right before the first of them explains.
func (r *DropResult) diodeCheck(s *dropSink, collided []uint64) error {
	holes := uint64(0) // collisions the reader got past
	for _, it := range collided {
		if it < s.next {
			holes++
		}
	}
	r.Stranded = r.Pushed - s.next
	switch {
	case s.next > r.Pushed:
		return fmt.Errorf("item %d, never pushed, was delivered", s.next-1)
	case r.Evicted != s.next-s.n+holes:
		return fmt.Errorf("the alerter reported %d dropped; delivered %d of items 0..%d, with %d holes passed",
			r.Evicted, s.n, int64(s.next)-1, holes)
	case r.Stranded > 0 && (holes == uint64(len(collided)) || collided[holes] != s.next):
		return fmt.Errorf("items %d..%d stranded without a hole before them", s.next, r.Pushed-1)
	case r.Stranded == 0 && holes != uint64(len(collided)):
		return fmt.Errorf("%d holes after the last item delivered", uint64(len(collided))-holes)
	}
	return nil
}
