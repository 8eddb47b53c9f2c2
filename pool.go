package spillring

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultPoolRingCapacity is the capacity of each of a worker's rings when
// PoolConfig.RingCapacity is 0.
const DefaultPoolRingCapacity = 1024

// MaxPoolWorkers is the most workers a pool can have.
const MaxPoolWorkers = 1024

// MaxOrderWindow is the largest PoolConfig.OrderWindow, in rounds: the
// window costs 8 bytes a round per worker (512 KiB at most).
const MaxOrderWindow = 1 << 16

// poolRings is the number of rings each worker owns (SR_POOL_RINGS in
// csrc/pool.h): active, published, and one in the collector's hands.
const poolRings = 3

// Pool errors. Test for them with errors.Is.
var (
	// ErrRoundRunning is returned by Dispatch and Run while the last round
	// was not joined: a pool runs one round at a time.
	ErrRoundRunning = errors.New("spillring: pool round running (Join it first)")

	// ErrNoRound is returned by Join when no round waits to be joined.
	ErrNoRound = errors.New("spillring: no pool round to join")

	// ErrNilSpout is returned by Collect for a nil sink.
	ErrNilSpout = errors.New("spillring: nil spout")

	// ErrPoolRing is returned by Close on a ring a WorkerPool gave its
	// work function: the pool owns its rings and frees them itself.
	ErrPoolRing = errors.New("spillring: ring belongs to a WorkerPool")

	// ErrOrderWindow is returned by Dispatch and Run on an ordered pool
	// when the round would be OrderWindow rounds ahead of the oldest
	// round not yet collected: collect, then dispatch again.
	ErrOrderWindow = errors.New("spillring: pool order window full (collect the oldest round first)")
)

// WorkFunc is a Go work function: it fills out, the worker's active ring,
// for one round, and returns nil or an error that Join reports as a
// *WorkerError. It runs on the worker's own thread (a C thread pinned to its
// CPU on the C backend, a goroutine locked to its OS thread on the Go
// backend), once per round; the worker owns out until it returns.
type WorkFunc[T, A any] func(out *SpillRing[T], worker int, args A) error

// CWork is a C work function for a pool on the C backend: Fn is a C
// function pointer of type sr_work_fn (csrc/pool.h), Ctx its ctx argument.
// It runs with no Go involvement at all; the round's args reach it as a
// pointer to a copy in C memory (so A must hold no Go pointers).
type CWork struct {
	Fn  unsafe.Pointer
	Ctx unsafe.Pointer
}

// PoolConfig configures a WorkerPool. Workers and one of Work or CWork are
// required; the other fields have usable zero values.
type PoolConfig[T, A any] struct {
	// Workers is the number of worker threads, 1 to MaxPoolWorkers.
	Workers int
	// CPUs[i] is the CPU worker i is pinned to. nil pins each worker to
	// the CPU this process may run on with the fewest workers of open
	// pools (the first of those on a tie): for a lone pool, worker i on
	// the i-th CPU, wrapping around when there are more workers than
	// CPUs; for pools in a row, the next pool's workers on the CPUs the
	// earlier ones left free. A CPU the process may not run on is an
	// error. On a system without thread affinity (the Go backend off
	// Linux), nil leaves the workers unpinned and a non-nil CPUs is an
	// error.
	CPUs []int
	// RingCapacity is the capacity of each of a worker's three rings: a
	// power of two, at most MaxCapacity. 0 means DefaultPoolRingCapacity.
	RingCapacity int
	// SpillBuffer is, on the C backend, the size of each ring's spill
	// area (csrc/spill.h): what a C work function can spill before its
	// pushes fail with -ENOBUFS, when Overflow is set. 0 means
	// RingCapacity. The Go backend has no spill area and ignores it.
	SpillBuffer int
	// Overflow takes the items a worker's full ring spills, oldest first
	// per worker. Its calls come from worker threads (a Go work
	// function's Push into a full ring) and from Collect (what rings
	// spilled into their C spill areas), one call at a time: the pool
	// serializes them. nil drops them; Stats counts them either way.
	Overflow Spout[T]
	// Wait is how an idle worker waits for a round, and Join for the
	// workers: Adaptive(d) polls for d, then sleeps (the default,
	// Adaptive(DefaultSpinTime)); Park sleeps at once. Nobody spins when
	// Workers + 1 exceed the CPUs the process may use, since a spinner
	// would only take the CPU a worker needs; nor when this pool's
	// workers, the open pools' and one dispatcher do (a pool made
	// then waits as Park does). Workers then sleep at once
	// (a wake-up preempts whoever holds the CPU), and on the C backend
	// Join polls with sched_yield, keeping the CPU only when no worker
	// wants it; on the Go backend Join sleeps at once too, as it does
	// when Workers + 1 exceed GOMAXPROCS. Other strategies are an error.
	Wait WaitStrategy
	// Work is the Go work function, or nil when CWork is set.
	Work WorkFunc[T, A]
	// CWork is the C work function (C backend only), or zero.
	CWork CWork
	// Backend: Auto picks BackendC when it is in the build and T holds no
	// pointers, BackendGo otherwise. CWork needs BackendC.
	Backend Backend
	// OrderWindow, when not 0, makes the pool ordered: Collect, FanIn and
	// Mergers hand the items on round by round in dispatch order (see
	// WorkerPool, Ordered completion), and Dispatch refuses with
	// ErrOrderWindow a round OrderWindow rounds ahead of the oldest round
	// some worker's collector has not handed on yet. It bounds what the
	// pool keeps per worker to know where each round's items are
	// (OrderWindow counts, allocated once). 0 means unordered; at most
	// MaxOrderWindow.
	OrderWindow int
}

// WorkerPanic is the error Join reports for a Go work function that
// panicked. The worker recovered it and is ready for the next round.
type WorkerPanic struct {
	Worker int
	Value  any
	Stack  []byte // the panicking goroutine's stack (runtime.Stack)
}

func (e *WorkerPanic) Error() string {
	return fmt.Sprintf("spillring: worker %d panicked: %v", e.Worker, e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *WorkerPanic) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// WorkerError is the error Join reports for a work function that failed: a
// Go work function's error (Err), or a C work function's nonzero return
// value (Code).
type WorkerError struct {
	Worker int
	Code   int   // a C work function's return value; 0 for Go work
	Err    error // a Go work function's error; nil for C work
}

func (e *WorkerError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("spillring: worker %d: %v", e.Worker, e.Err)
	}
	return fmt.Sprintf("spillring: worker %d: work function returned %d", e.Worker, e.Code)
}

// Unwrap returns the Go work function's error.
func (e *WorkerError) Unwrap() error { return e.Err }

// PoolStats are a pool's counters. Items are conserved: once a round is
// joined and no Collect runs, Pushed == Collected + Spilled + InRings.
type PoolStats struct {
	Rounds    uint64 // rounds dispatched
	Pushed    uint64 // items the work functions pushed
	Collected uint64 // items Collect handed to its sinks
	Spilled   uint64 // items rings spilled (to Overflow, pending for it, or dropped)
	Merged    uint64 // items workers merged back into an uncollected batch
	Published uint64 // batches workers published
	// InRings is Pushed - Collected - Spilled: the items in the rings,
	// published or not (a figure of the counters, exact between rounds).
	InRings uint64
	// Spin and Parked are the workers' total time waiting for rounds:
	// spinning, and asleep.
	Spin, Parked time.Duration
}

// poolWorkerLayout mirrors struct sr_pool_worker in csrc/pool.h; a cgo file
// asserts every offset. On the C backend it is C memory, on the Go backend
// Go memory; Collect and Stats read it the same way.
type poolWorkerLayout struct {
	// Line 0: the handoff slot. batch is 0 or seq<<8 | ring+1 (H1, H3);
	// recycle has bit k set for each ring k recycled (H2). Then an
	// ordered pool's collector words (O1-O3): emit, the worker's next
	// round to hand on; held, the batch word of the ring the collector
	// holds; drop, items gone from its front; part, items of round emit
	// handed on or dropped.
	batch   atomic.Uint64
	recycle atomic.Uint32
	_       uint32
	emit    atomic.Uint64
	held    uint64
	drop    uint64
	part    uint64
	_       [lineSize - 48]byte

	// Line 1: the signal (G1, D1, S1).
	goWord atomic.Uint32
	parked atomic.Uint32
	done   atomic.Uint32
	status atomic.Int32
	_      [lineSize - 16]byte

	// Line 2: the worker's own: its rings (C pointers, C backend only),
	// active ring and spare mask, and its counters.
	rings     [poolRings]unsafe.Pointer
	active    uint32
	spare     uint32
	rounds    atomic.Uint64
	pushed    atomic.Uint64
	spilled   atomic.Uint64
	merged    atomic.Uint64
	published atomic.Uint64
	spinNs    atomic.Uint64
	parkNs    atomic.Uint64
	counts    unsafe.Pointer // C backend, ordered: the worker's counts (O1)
	_         [lineSize - 96]byte
}

func batchWord(seq uint64, ring int) uint64 { return seq<<8 | uint64(ring+1) }

// poolBackend is where a pool's threads and layout live.
type poolBackend interface {
	// dispatch starts a round (G1); the args are in place.
	dispatch()
	// join waits for the round (D1), or until ctx is done.
	join(ctx context.Context) error
	// stop stops and joins the workers, after a running round, and
	// frees the layout (S1).
	stop()
}

// WorkerPool is a thread-per-core pool: Workers threads, each pinned to a
// CPU and owning three rings in rotation, run a work function once per
// round (Dispatch, Join, or Run for both) and publish what it pushed into
// a handoff slot; Collect takes the published batches, also while a round
// runs, and hands them to a sink.
//
// Threads: on the C backend each worker is a C pthread pinned with
// pthread_setaffinity_np, which waits in C (spin, then futex sleep) and so
// holds no Go P while idle. A C work function (CWork) runs there with no Go
// at all. A Go work function runs there through one cgo callback per round
// (never per item: its pushes go straight into the ring's C memory). A
// callback needs a P: with GOMAXPROCS at least Workers + 1, every worker
// can run Go at once beside the goroutine calling Join; with fewer, the
// callbacks take turns. Callbacks also wait out the GC's stop-the-world
// pauses. On the Go backend each worker is a goroutine locked to its OS
// thread and pinned through sched_setaffinity.
//
// Ordering: everything Dispatch's caller wrote before Dispatch happens
// before the work functions of that round run; everything a work function
// wrote before it returned happens before the Join that waits for it, and
// before the Collect that takes the batch it published.
//
// Ordered completion: with PoolConfig.OrderWindow, Collect (and a FanIn's
// Flush, a Merger's Collect) hands the items on round by round in dispatch
// order: every worker's items of round r, worker 0 first, before any of
// round r+1. It stops at the first worker that has not ended the round at
// hand, and the next call goes on from there; it never waits. A worker
// that merged several rounds into one batch is split back into them by
// the counts its publishes recorded; items that spilled are not in the
// stream (Overflow has them). Rounds are numbered from 1 (Stats.Rounds is
// the last one dispatched).
//
// Methods: Dispatch, Join and Run are the dispatcher's, and serialize;
// Collect is the collector's, and collects each worker under a lock of
// that worker's, so Collects, FanIns and Mergers may run at once on
// different goroutines, and alongside the dispatcher. Close stops everything, from any
// goroutine. A work function or a sink must not call the pool's methods
// other than Stats, Workers and Backend: each would wait for the call that
// is running it.
type WorkerPool[T, A any] struct {
	life sync.RWMutex // write: Close; read: every other method
	mu   sync.Mutex   // the dispatcher's: Dispatch, Join, Run
	// slot[i] is worker i's collector lock: whoever collects worker i's
	// batches (Collect, a FanIn, the Merger it belongs to) holds it, so
	// collectors of different workers run at once.
	slot []poolSlotLock

	closed   atomic.Bool
	backend  poolBackend
	backendK Backend
	workers  int
	cwork    bool

	cpus      []int                      // worker i's CPU (nil: unpinned), counted in poolPlacement
	w         []*poolWorkerLayout        // per worker
	rings     [][poolRings]*SpillRing[T] // per worker; C backend: views of C memory
	held      []int8                     // per worker: the ring the collector holds (-1: none)
	args      A                          // the running round's args (Go work)
	cargs     unsafe.Pointer             // C work: where the args go (C memory)
	work      WorkFunc[T, A]             // Go work
	errs      []error                    // per worker: the last round's Go error or panic
	spout     *LockedSpout[T]            // the serialized Overflow, or nil
	shad      []poolShadow               // race detector edges (poolShadow)
	table     int                        // index in poolTable (C backend, Go work)
	running   bool                       // a round was dispatched and not joined
	rounds    atomic.Uint64
	collected atomic.Uint64
	// final is Stats after Close. Stats takes no lock (so a sink or a
	// work function may call it while Close waits): it counts itself in
	// readers while it reads the counters, and Close frees them only
	// once final is set and no reader is left (seq_cst both ways).
	final   atomic.Pointer[PoolStats]
	readers atomic.Int32

	// Ordered pools (pool_ordered.go): per worker, counts[i][seq&mask]
	// is what round seq's publish put into the handoff slot (O1).
	counts [][]atomic.Uint64
	mask   uint64
	window uint64
	floor  uint64      // the dispatcher's: a past minimum of the workers' emit (O3)
	all    []int       // 0 .. workers-1: the workers Collect goes through
	cursor orderCursor // Collect's and FanIn's place in the rounds
}

// NewPool starts a pool: its threads run, idle, until Close, which every
// pool needs (its threads keep it alive). An invalid cfg gets an error wrapping
// ErrInvalidConfig: Workers out of [1, MaxPoolWorkers], a CPU the process
// may not run on, both or neither of Work and CWork, a RingCapacity that is
// not a power of two, a Wait other than Adaptive or Park, CWork on the Go
// backend (ErrBackendUnavailable when the build has no C backend), or, for
// CWork, an A that holds pointers (ErrPointerType).
func NewPool[T, A any](cfg PoolConfig[T, A]) (*WorkerPool[T, A], error) {
	if cfg.Workers < 1 || cfg.Workers > MaxPoolWorkers {
		return nil, fmt.Errorf("%w: %d workers, want 1 to %d", ErrInvalidConfig, cfg.Workers, MaxPoolWorkers)
	}
	cw := cfg.CWork.Fn != nil
	switch {
	case cw && cfg.Work != nil:
		return nil, fmt.Errorf("%w: both Work and CWork set", ErrInvalidConfig)
	case !cw && cfg.Work == nil:
		return nil, fmt.Errorf("%w: nil work function (set Work or CWork)", ErrInvalidConfig)
	case !cw && cfg.CWork.Ctx != nil:
		return nil, fmt.Errorf("%w: CWork.Ctx without CWork.Fn", ErrInvalidConfig)
	}
	if cfg.RingCapacity == 0 {
		cfg.RingCapacity = DefaultPoolRingCapacity
	}
	if cfg.OrderWindow < 0 || cfg.OrderWindow > MaxOrderWindow {
		return nil, fmt.Errorf("%w: order window %d out of range [0, MaxOrderWindow]", ErrInvalidConfig, cfg.OrderWindow)
	}
	if cfg.SpillBuffer < 0 || cfg.SpillBuffer > MaxCapacity {
		return nil, fmt.Errorf("%w: spill buffer %d out of range [0, MaxCapacity]", ErrInvalidConfig, cfg.SpillBuffer)
	}
	// The channel's checks cover capacity, element type, backend and the
	// wait strategy's range.
	c, err := Config{Capacity: cfg.RingCapacity, Backend: cfg.Backend, Wait: cfg.Wait}.validate(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if cw {
		if cfg.Backend == BackendGo || c.Backend != BackendC {
			if !cBackendAvailable {
				return nil, fmt.Errorf("%w: CWork", ErrBackendUnavailable)
			}
			return nil, fmt.Errorf("%w: CWork needs BackendC", ErrInvalidConfig)
		}
		if hasPointers(reflect.TypeFor[A]()) {
			return nil, fmt.Errorf("%w: CWork args type %v", ErrPointerType, reflect.TypeFor[A]())
		}
	}
	spin, err := poolSpin(c.Wait)
	if err != nil {
		return nil, err
	}
	cpus, err := poolCPUs(cfg.CPUs, cfg.Workers)
	if err != nil {
		return nil, err
	}
	if others := poolPlacement.add(cpus, cfg.Workers); others+cfg.Workers+1 > poolCPUCount() {
		// With the other pools' workers, a spinner would take the CPU
		// some worker needs: sleep at once, as one oversubscribed pool
		// does.
		spin = 0
	}
	p := &WorkerPool[T, A]{
		backendK: c.Backend,
		workers:  cfg.Workers,
		cwork:    cw,
		work:     cfg.Work,
		held:     make([]int8, cfg.Workers),
		slot:     make([]poolSlotLock, cfg.Workers),
		errs:     make([]error, cfg.Workers),
		shad:     make([]poolShadow, cfg.Workers),
		rings:    make([][poolRings]*SpillRing[T], cfg.Workers),
		w:        make([]*poolWorkerLayout, cfg.Workers),
		table:    -1,
		window:   uint64(cfg.OrderWindow),
		all:      make([]int, cfg.Workers),
		cursor:   orderCursor{round: 1},
	}
	for i := range p.all {
		p.all[i] = i
	}
	if p.window != 0 {
		p.mask = 1<<bits.Len64(p.window-1) - 1 // a power of two >= window, as pool.c's
		p.floor = 1
	}
	for i := range p.held {
		p.held[i] = -1
	}
	if cfg.Overflow != nil {
		p.spout, _ = Locked(cfg.Overflow)
	}
	pc := poolStart{
		cpus:     cpus,
		spin:     spin,
		capacity: c.Capacity,
		spill:    cfg.SpillBuffer,
		cwork:    cfg.CWork,
	}
	p.cpus = cpus
	if c.Backend == BackendC {
		err = newPoolC(p, pc)
	} else {
		err = newPoolGo(p, pc)
	}
	if err != nil {
		poolPlacement.remove(cpus, cfg.Workers)
		return nil, err
	}
	return p, nil
}

// poolStart carries what a backend needs to start the workers.
type poolStart struct {
	cpus     []int // nil: unpinned
	spin     time.Duration
	capacity int
	spill    int
	cwork    CWork
}

// poolSpin turns a validated WaitStrategy into the pool's spin-then-sleep
// budget.
func poolSpin(w WaitStrategy) (time.Duration, error) {
	switch w.kind {
	case waitAdaptive:
		return time.Duration(w.spins), nil
	case waitPark:
		return 0, nil
	}
	return 0, fmt.Errorf("%w: a pool waits with Adaptive or Park, not %v", ErrInvalidConfig, w)
}

// overflow is the rings' spout: the serialized Overflow, or nil (a nil
// interface, not a nil *LockedSpout) to drop.
func (p *WorkerPool[T, A]) overflow() Spout[T] {
	if p.spout == nil {
		return nil
	}
	return p.spout
}

// Dispatch starts a round: every worker runs the work function once with
// args. It returns at once; Join waits for the round. args stays with the
// pool until the next Dispatch (Go work reads it in place; for C work it is
// copied into C memory now). A second Dispatch before Join returns
// ErrRoundRunning and changes nothing, as does a round beyond an ordered
// pool's window (ErrOrderWindow); after Close, ErrClosed.
func (p *WorkerPool[T, A]) Dispatch(args A) error {
	return p.asDispatcher(func() error { return p.dispatch(args) })
}

// asDispatcher runs f as the dispatcher: with the pool open, under the
// dispatcher's lock.
func (p *WorkerPool[T, A]) asDispatcher(f func() error) error {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return f()
}

func (p *WorkerPool[T, A]) dispatch(args A) error {
	if p.running {
		return ErrRoundRunning
	}
	if err := p.checkWindow(); err != nil {
		return err
	}
	if p.cwork {
		// In bounds: cargs is struct sr_pool's args, unsafe.Sizeof(args)
		// bytes (newPoolC), and A holds no pointers (NewPool). No round
		// runs, so no worker reads it; sr_pool_dispatch (args NULL)
		// publishes it with the round (G1).
		*(*A)(p.cargs) = args
	} else {
		p.args = args
	}
	for i := range p.shad {
		p.shad[i].release() // G1, for the race detector: args and the caller's writes
	}
	p.backend.dispatch()
	p.running = true
	p.rounds.Add(1)
	return nil
}

// Join waits for the round Dispatch started (spinning per the pool's Wait,
// then asleep) and returns nil, or what went wrong on the workers: a
// *WorkerError for each work function that returned an error or a nonzero
// code, a *WorkerPanic for each that panicked, joined with errors.Join (find
// them with errors.As). The pool is ready for the next round either way.
// It returns ErrNoRound if no round waits to be joined, ErrClosed after
// Close.
func (p *WorkerPool[T, A]) Join() error { return p.JoinContext(context.Background()) }

// JoinContext is Join that gives up when ctx is done and returns
// ctx.Err(), or ErrNilContext for a nil ctx. The round goes on (work
// functions are not interrupted): Join or JoinContext again to wait for
// it; Dispatch still returns ErrRoundRunning until then.
func (p *WorkerPool[T, A]) JoinContext(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	return p.asDispatcher(func() error { return p.join(ctx) })
}

func (p *WorkerPool[T, A]) join(ctx context.Context) error {
	if !p.running {
		return ErrNoRound
	}
	if err := p.backend.join(ctx); err != nil {
		return err
	}
	p.running = false
	var errs []error
	for i := range p.workers {
		p.shad[i].acquire()          // D1, for the race detector
		code := p.w[i].status.Load() // D1: after the join
		if code == 0 {
			continue
		}
		switch err := p.errs[i]; {
		case err != nil:
			errs = append(errs, err)
			p.errs[i] = nil
		default:
			errs = append(errs, &WorkerError{Worker: i, Code: int(code)})
		}
	}
	return errors.Join(errs...)
}

// Run is Dispatch followed by Join.
func (p *WorkerPool[T, A]) Run(args A) error {
	return p.asDispatcher(func() error {
		if err := p.dispatch(args); err != nil {
			return err
		}
		return p.join(context.Background())
	})
}

// Collect takes every batch the workers have published (H1), hands its
// items to sink in order, at most two SendBatch calls a batch, and recycles
// the ring to its worker (H2); it returns how many items sink took. It
// never waits for a worker and may run while a round runs: a worker that
// has not published yet is skipped. Batches go worker by worker, and a
// worker's items arrive in the order it pushed them. On an ordered pool
// (PoolConfig.OrderWindow) it goes round by round instead, as WorkerPool's
// Ordered completion says, one SendBatch (two where a ring wraps) per
// worker and round.
//
// Before a batch's items, what its ring spilled into its C spill area goes
// to the pool's Overflow (C backend).
//
// If sink (or Overflow) refuses items, Collect stops and returns the error:
// nothing is lost, and no worker is held up. The refused batch stays with
// the collector and goes first next time; meanwhile its worker merges its
// new items into the batch it publishes next (Stats.Merged). Collect does
// not flush sink. A nil sink returns ErrNilSpout; after Close, ErrClosed.
func (p *WorkerPool[T, A]) Collect(sink Spout[T]) (int, error) {
	return p.collectWorkers(&p.cursor, p.all, sink)
}

// collectWorkers is Collect over workers (all of them, or a Merger's),
// going on from cur's place in the rounds when the pool is ordered.
func (p *WorkerPool[T, A]) collectWorkers(cur *orderCursor, workers []int, sink Spout[T]) (int, error) {
	if sink == nil {
		return 0, ErrNilSpout
	}
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, ErrClosed
	}
	if p.window != 0 {
		return p.collectOrdered(cur, workers, sink)
	}
	total := 0
	for _, i := range workers {
		n, err := p.collectLocked(i, sink)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// poolSlotLock is a worker's collector lock, a line of its own, so that
// mergers of different workers do not share one.
type poolSlotLock struct {
	sync.Mutex
	_ [lineSize - 8]byte
}

// collectLocked is collect under worker i's collector lock.
func (p *WorkerPool[T, A]) collectLocked(i int, sink Spout[T]) (int, error) {
	p.slot[i].Lock()
	defer p.slot[i].Unlock()
	return p.collect(i, sink)
}

// collect drains worker i's held batch, if any, then its published one:
// at most two batches, so a worker that publishes fast cannot keep Collect
// going forever.
func (p *WorkerPool[T, A]) collect(i int, sink Spout[T]) (int, error) {
	w := p.w[i]
	total := 0
	for range 2 {
		k := int(p.held[i])
		if k < 0 {
			b := w.batch.Swap(0) // H1
			if b == 0 {
				break
			}
			k = int(b&0xff) - 1
			p.held[i] = int8(k)
			p.shad[i].acquire()
		}
		n, err := p.drain(p.rings[i][k], sink)
		total += n
		if err != nil {
			return total, err
		}
		p.held[i] = -1
		w.recycle.Or(1 << k) // H2
	}
	return total, nil
}

// drain empties r into sink: the spill area first (to Overflow), then the
// ring's items.
func (p *WorkerPool[T, A]) drain(r *SpillRing[T], sink Spout[T]) (int, error) {
	if err := r.Forward(); err != nil {
		return 0, err
	}
	n, err := r.sendTo(sink)
	p.collected.Add(uint64(n))
	return n, err
}

// Stats returns the pool's counters. Between rounds (joined, no Collect
// running) they are exact and Pushed == Collected + Spilled + InRings;
// during a round they are a recent view. After Close they are the final
// figures. Stats takes no lock: any goroutine may call it at any time, a
// work function or a sink included.
func (p *WorkerPool[T, A]) Stats() PoolStats {
	p.readers.Add(1)
	defer p.readers.Add(-1)
	if f := p.final.Load(); f != nil {
		return *f
	}
	return p.stats()
}

func (p *WorkerPool[T, A]) stats() PoolStats {
	s := PoolStats{Rounds: p.rounds.Load(), Collected: p.collected.Load()}
	for _, w := range p.w {
		s.Pushed += w.pushed.Load()
		s.Spilled += w.spilled.Load()
		s.Merged += w.merged.Load()
		s.Published += w.published.Load()
		s.Spin += time.Duration(w.spinNs.Load())
		s.Parked += time.Duration(w.parkNs.Load())
	}
	s.InRings = s.Pushed - s.Collected - s.Spilled
	return s
}

// Workers returns the number of workers.
func (p *WorkerPool[T, A]) Workers() int { return p.workers }

// Backend reports where the pool's rings and threads live.
func (p *WorkerPool[T, A]) Backend() Backend { return p.backendK }

// Close stops the pool: it waits for a running round's work functions to
// return (they are not interrupted) and for a running Collect, stops the
// workers whether they sleep or spin, joins their threads and frees the
// rings. Items still in the rings are discarded: Join and Collect first to
// keep them. Afterwards every method returns ErrClosed (Stats the final
// counters); a second Close returns ErrClosed.
func (p *WorkerPool[T, A]) Close() error {
	p.life.Lock()
	defer p.life.Unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	p.mu.Lock()
	if p.running {
		p.backend.join(context.Background()) // the threads finish the round first (S1)
		p.running = false
	}
	p.mu.Unlock()
	final := p.stats()
	p.final.Store(&final)
	for p.readers.Load() != 0 {
		runtime.Gosched() // a Stats reading the counters Close frees
	}
	p.backend.stop()
	p.closed.Store(true)
	for i := range p.rings {
		for k := range poolRings {
			p.rings[i][k].detach()
		}
	}
	poolTableFree(p.table)
	poolPlacement.remove(p.cpus, p.workers)
	var zero A
	p.args = zero
	return nil
}

// poolAwait waits until *word != old and returns the new value:
// sr_pool_await's twin (csrc/pool.c), for a worker waiting for a round. It
// spins for up to spin, then sleeps with sleep, after the G1 handshake on
// flag, which only the waiter writes (the waker stores the word, then
// wakes the sleeper only if flag is 1). sleep may return early. The time
// it spent goes to *spun and *slept.
func poolAwait(word, flag *atomic.Uint32, old uint32, spin time.Duration, sleep func(), spun, slept *time.Duration) uint32 {
	if v := word.Load(); v != old {
		return v
	}
	t0 := time.Now()
	t1 := t0
	if spin > 0 {
		for n := 1; ; n++ {
			if v := word.Load(); v != old {
				*spun += time.Since(t0)
				return v
			}
			if n%64 == 0 {
				if t1 = time.Now(); t1.Sub(t0) >= spin {
					break
				}
			}
		}
	}
	*spun += t1.Sub(t0)
	var v uint32
	for {
		flag.Store(1)
		if v = word.Load(); v != old {
			break
		}
		sleep()
		if v = word.Load(); v != old {
			break
		}
	}
	flag.Store(0)
	*slept += time.Since(t1)
	return v
}

// poolDispatch starts round number round on the workers ws (G1),
// sr_pool_dispatch's twin: pending counts them all, then each worker's go
// word gets the round's low 32 bits, and wake(w, i) wakes worker i if it
// sleeps. Sequentially consistent stores and loads, so that a worker going
// to sleep either sees the new word or is seen asleep.
func poolDispatch(ws []*poolWorkerLayout, pending *atomic.Uint32, round uint64, wake func(w *poolWorkerLayout, i int)) {
	pending.Store(uint32(len(ws)))
	for i, w := range ws {
		w.goWord.Store(uint32(round))
		if w.parked.Load() != 0 {
			wake(w, i)
		}
	}
}

// poolJoiner is SR_POOL_JOINER (csrc/pool.h): the bit of a pool's pending
// word that says the joiner sleeps on it.
const poolJoiner = 1 << 31

// poolJoinWait waits until pending counts no worker (D1): sr_pool_join's
// twin. It polls for up to spin, calling pause (if not nil) between polls,
// then sets poolJoiner with a CAS and sleeps with sleep(the value it
// wrote), which returns when a worker wakes it, spuriously, or once ctx is
// done (the caller arranges that); it returns ctx.Err() then.
func poolJoinWait(ctx context.Context, pending *atomic.Uint32, spin time.Duration, pause func(), sleep func(v uint32)) error {
	done := ctx.Done()
	spinning := spin > 0
	var t0 time.Time
	if spinning {
		t0 = time.Now()
	}
	for n := 1; ; n++ {
		v := pending.Load()
		if v&^poolJoiner == 0 {
			return nil
		}
		if spinning {
			if pause != nil {
				pause()
			}
			if (pause != nil || n%64 == 0) && time.Since(t0) >= spin {
				spinning = false
			}
			continue
		}
		if isDone(done) {
			return ctx.Err()
		}
		if v&poolJoiner == 0 && !pending.CompareAndSwap(v, v|poolJoiner) {
			continue // a worker left meanwhile: re-check
		}
		sleep(v | poolJoiner)
	}
}

// isDone reports whether done is closed (never, for nil).
func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// round runs worker i's round of Go work on the worker's thread: the work
// function, the counts, the publish (H3). It is the body of the Go
// backend's worker loop, and of the C backend's callback.
func (p *WorkerPool[T, A]) round(i int, seq uint64) int32 {
	w := p.w[i]
	a := p.rings[i][w.active]
	t0, s0 := a.l.tail, a.l.spilled // settled by the last publish
	code := p.runWork(i, a)
	a.settle() // a discarding ring's overwrites, for the counts
	w.pushed.Add(a.l.tail - t0)
	w.spilled.Add(a.l.spilled - s0)
	p.publish(i, w, seq)
	p.shad[i].release() // D1, for the race detector: the work and the publish's spills
	return code
}

// publish ends worker i's round (H3): sr_pool_publish's twin. The Go
// backend's workers run it, and on the C backend a Go work function's
// callback (SR_POOL_SELF_PUBLISH), so that merges spill through Go.
func (p *WorkerPool[T, A]) publish(i int, w *poolWorkerLayout, seq uint64) {
	rings := &p.rings[i]
	a := rings[w.active]
	p.countRound(i, seq, 0) // unless the publish below moves items
	if b := w.batch.Swap(0); b != 0 {
		// Not collected: merge the active ring into it and put it back.
		k := int(b&0xff) - 1
		if a.Len() == 0 && a.Pending() == 0 {
			w.batch.Store(b)
			return
		}
		old := rings[k]
		sp := old.Spilled()
		moved := mergeSpill(old, a)
		p.countRound(i, seq, moved) // O1
		w.merged.Add(moved)
		w.spilled.Add(old.Spilled() - sp)
		p.shad[i].release()              // H1, for the race detector
		w.batch.Store(batchWord(seq, k)) // H1
		w.published.Add(1)
		return
	}
	if a.Len() == 0 && a.Pending() == 0 {
		return // nothing to publish: keep the ring
	}
	w.spare |= w.recycle.Swap(0) // H2
	if w.spare == 0 {
		return // cannot happen (H3); the items would go out with the next publish
	}
	p.countRound(i, seq, uint64(a.Len()))        // O1
	p.shad[i].release()                          // H1, for the race detector
	w.batch.Store(batchWord(seq, int(w.active))) // H1
	w.published.Add(1)
	w.active = uint32(bits.TrailingZeros32(w.spare))
	w.spare &= w.spare - 1
}

// mergeSpill moves from's items to the end of into, spilling from into as
// it must, and stops where into's spout refuses, leaving the rest in from;
// sr_pool_merge's twin. It returns how many moved.
func mergeSpill[T any](into, from *SpillRing[T]) uint64 {
	l := from.settle()
	var moved uint64
	for l.tail != l.head {
		h := l.head
		i := h & from.mask
		run := min(l.tail-h, from.cap-i)
		took, _ := into.PushSlice(from.buf()[i : i+run])
		from.zero(h, uint64(took))
		l.head = h + uint64(took)
		moved += uint64(took)
		if uint64(took) < run {
			break
		}
	}
	return moved
}

// runWork runs the Go work function for worker i on ring out, recovering a
// panic, and returns the code the worker reports: 0, 1 for an error, 2 for
// a panic (the error is in errs[i]).
func (p *WorkerPool[T, A]) runWork(i int, out *SpillRing[T]) (code int32) {
	p.shad[i].acquire() // G1
	defer func() {
		if v := recover(); v != nil {
			p.errs[i] = &WorkerPanic{Worker: i, Value: v, Stack: stack()}
			code = 2
		}
	}()
	if err := p.work(out, i, p.args); err != nil {
		p.errs[i] = &WorkerError{Worker: i, Err: err}
		return 1
	}
	return 0
}

// poolTable finds a pool from a C worker's callback (C backend, Go work)
// without a map or a lock: the pool's index, which the C side holds as its
// ctx, picks the entry. Entries are claimed with a CAS and freed by Close.
var poolTable [4096]atomic.Pointer[poolEntry]

// poolEntry is what a callback needs: run runs worker i's round.
type poolEntry struct {
	run func(i int) int32
}

var poolTableNext atomic.Uint32

// poolTableAdd claims an entry for e and returns its index, or an error if
// all are taken.
func poolTableAdd(e *poolEntry) (int, error) {
	start := int(poolTableNext.Add(1))
	for j := range len(poolTable) {
		i := (start + j) % len(poolTable)
		if poolTable[i].CompareAndSwap(nil, e) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: more than %d pools with Go work functions are open", ErrInvalidConfig, len(poolTable))
}

func poolTableFree(i int) {
	if i >= 0 {
		poolTable[i].Store(nil)
	}
}

// poolShadow gives the race detector the pool's happens-before edges that
// run through C memory (G1, D1, H1), which it does not see; see raceShadow.
type poolShadow struct{ raceShadow }

func (s *poolShadow) release() { s.releaseTail() }
func (s *poolShadow) acquire() { s.acquireTail() }

// poolPlacement counts the workers of the open pools, in all and per CPU:
// NewPool's default CPUs go to the least loaded, and a pool whose workers,
// with the others', leave no CPU for a dispatcher does not spin.
var poolPlacement placement

type placement struct {
	mu      sync.Mutex
	load    map[int]int // CPU -> workers of open pools pinned there
	workers int         // workers of open pools
}

// spread picks a CPU of allowed for each of n workers, least loaded first.
func (pl *placement) spread(allowed []int, n int) []int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	load := make(map[int]int, len(allowed))
	for _, c := range allowed {
		load[c] = pl.load[c]
	}
	out := make([]int, n)
	for i := range out {
		best := allowed[0]
		for _, c := range allowed[1:] {
			if load[c] < load[best] {
				best = c
			}
		}
		out[i] = best
		load[best]++
	}
	return out
}

// add counts a new pool's workers (on cpus, or unpinned for nil) and returns
// how many workers the other open pools have.
func (pl *placement) add(cpus []int, workers int) (others int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.load == nil {
		pl.load = map[int]int{}
	}
	for _, c := range cpus {
		pl.load[c]++
	}
	others = pl.workers
	pl.workers += workers
	return others
}

// remove uncounts a closed pool's workers.
func (pl *placement) remove(cpus []int, workers int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, c := range cpus {
		if pl.load[c]--; pl.load[c] == 0 {
			delete(pl.load, c)
		}
	}
	pl.workers -= workers
}

// poolCPUCount is how many CPUs the process may run on.
func poolCPUCount() int {
	if allowed, ok := affinityCPUs(); ok {
		return len(allowed)
	}
	return runtime.NumCPU()
}

// poolCPUs validates cpus, or picks the default: each worker on the CPU,
// of those the process may run on, with the fewest workers of open pools
// (ties: the first), so that pools in a row (a pipeline) spread over the
// CPUs instead of all starting on the first. For a lone pool it is worker
// i on the i-th CPU, wrapping around.
func poolCPUs(cpus []int, workers int) ([]int, error) {
	allowed, ok := affinityCPUs()
	if cpus == nil {
		if !ok {
			return nil, nil
		}
		return poolPlacement.spread(allowed, workers), nil
	}
	if !ok {
		return nil, fmt.Errorf("%w: CPUs: this system cannot pin threads", ErrInvalidConfig)
	}
	if len(cpus) != workers {
		return nil, fmt.Errorf("%w: %d CPUs for %d workers", ErrInvalidConfig, len(cpus), workers)
	}
	for i, c := range cpus {
		found := false
		for _, a := range allowed {
			found = found || a == c
		}
		if !found {
			return nil, fmt.Errorf("%w: worker %d: CPU %d does not exist or this process may not run on it (allowed: %v)", ErrInvalidConfig, i, c, allowed)
		}
	}
	return append([]int(nil), cpus...), nil
}

// stack is the current goroutine's stack, for WorkerPanic.
func stack() []byte {
	buf := make([]byte, 64<<10)
	return buf[:runtime.Stack(buf, false)]
}
