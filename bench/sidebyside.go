// Package bench measures spillring side by side with its peers: a Go
// buffered channel, xsync's SPSCQueue (MPMCQueue for the MPSC scenarios),
// Workiva's RingBuffer (MPSC scenarios), a plain C11 loop over the same C
// core (the reference limit, SPSC scenarios), and a plain Go slice ring
// (the SpillRing scenarios). Every (scenario, impl) pair shares one
// harness; only the per-item hot loops differ, so that the harness adds no
// per-item cost to any of them. The WorkerPool scenarios (pool.go) have a
// harness and peers of their own: OpenMP, goroutines with a WaitGroup, an
// ants pool, a channel fan-in.
package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	// Capacity is the slot count of every queue.
	Capacity = 65536
	// Batch is the batch size of spsc-batch256.
	Batch = 256
	// RoundItems is the number of items one b.Loop iteration moves: several
	// ring-fulls, so each round exercises full and empty rings and the
	// per-round hand-off to the producer is noise (well under 1%).
	RoundItems = 4 * Capacity
)

// Scenario is one way of moving items.
type Scenario struct {
	Name      string
	Cross     bool // producer and consumer on two threads (pinned if SPSC)
	Batch     bool // spillring and c11-loop move Batch items per call
	Producers int  // MPSC: this many producer goroutines, unpinned; 0 for SPSC
	Chunk     int  // claim scenarios: items per claim (or per PushBatch, PopBatch)
	Wide      bool // claim scenarios: 64-byte Item64 records instead of uint64s

	Spill      bool // a SpillRing scenario: one goroutine pushes into a full ring
	SpoutChain bool // spills go through a spout chain, pushed Batch at a time
}

// ErrUnsupported is returned by an Impl's open for a scenario it does not
// take part in (c11-loop has no MPSC loop; workiva runs only MPSC). The
// pair is skipped and shown as "-".
var ErrUnsupported = errors.New("scenario not supported by this impl")

// Scenarios are all scenarios, in table order.
var Scenarios = []Scenario{
	{Name: "single-thread"},
	{Name: "spsc-single", Cross: true},
	{Name: "spsc-batch256", Cross: true, Batch: true},
	{Name: "mpsc2", Cross: true, Producers: 2},
	{Name: "mpsc4", Cross: true, Producers: 4},
	{Name: "mpsc2-batch256", Cross: true, Batch: true, Producers: 2},
	{Name: "spsc-claim16", Cross: true, Chunk: ClaimChunk},
	{Name: "mpsc2-claim16", Cross: true, Chunk: ClaimChunk, Producers: 2},
	{Name: "spsc-claim16-64b", Cross: true, Chunk: ClaimChunk, Wide: true},
	{Name: "spill-push", Spill: true},
	{Name: "spout-batch", Spill: true, SpoutChain: true},
}

// Impl is one queue implementation.
type Impl struct {
	Name string
	open func(Scenario) (ops, error)
}

// ops is an Impl opened for one scenario. Items are sequence numbers; every
// consumer checks each one, keeps going after a wrong one (so the producer
// always finishes its round and can be stopped) and returns the first
// mismatch.
type ops struct {
	single  func(seq uint64, k int) error // one goroutine: push then pop, k times
	produce func(seq uint64, k int)       // producer thread: push k items; nil if consume brings its own producer
	consume func(seq uint64, k int) error // consumer thread: pop and check k items
	close   func()

	// MPSC scenarios: producers[i] pushes n items start, start+stride, ...
	// (its own handle, where the queue has handles); consumeMP pops k items
	// and hands each to see.
	producers []func(start uint64, n, stride int)
	consumeMP func(k int, see func(uint64)) error
}

func mismatch(prev error, got, want uint64) error {
	if prev != nil {
		return prev
	}
	return fmt.Errorf("wrong item: got %d, want %d", got, want)
}

// CPUs for pinning: the first two the process may use (CPU 0 and 1 on a
// plain machine), or -1 when there are fewer than two and pinning is off.
var prodCPU, consCPU = pinCPUs()

func pinCPUs() (int, int) {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return -1, -1
	}
	var cpus []int
	for i := 0; i < len(set)*64 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return -1, -1
	}
	return cpus[0], cpus[1]
}

// PinNote says how cross-thread runs are pinned.
func PinNote() string {
	if prodCPU < 0 {
		return "cross-thread runs NOT pinned: fewer than 2 CPUs available"
	}
	return fmt.Sprintf("cross-thread runs pinned: producer on CPU %d, consumer on CPU %d", prodCPU, consCPU)
}

var warnNoPin sync.Once

// pinThread locks the calling goroutine to its OS thread and that thread to
// cpu (no-op for cpu < 0). The returned func restores the thread's mask
// before unlocking it: the runtime reuses the thread, and a stale one-CPU
// mask would skew whatever runs on it next.
func pinThread(cpu int) (func(), error) {
	if cpu < 0 {
		return func() {}, nil
	}
	runtime.LockOSThread()
	var orig, set unix.CPUSet
	err := unix.SchedGetaffinity(0, &orig)
	if err == nil {
		set.Set(cpu)
		err = unix.SchedSetaffinity(0, &set)
	}
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &orig)
		runtime.UnlockOSThread()
	}, nil
}

// run is one opened pair. Cross-thread runs pin the calling goroutine as the
// consumer and keep one pinned producer goroutine for all rounds.
type run struct {
	ops
	cross bool
	seq   uint64 // first item of the next round; from 1, so a zero slot is caught
	start chan [2]uint64
	done  chan struct{}
	unpin func()

	mp     []chan [2]uint64 // MPSC: each producer's round requests
	mpDone sync.WaitGroup
}

func startRun(sc Scenario, im Impl) (*run, error) {
	o, err := im.open(sc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", im.Name, err)
	}
	r := &run{ops: o, cross: sc.Cross, seq: 1, unpin: func() {}}
	if !sc.Cross {
		return r, nil
	}
	if sc.Producers > 0 {
		// More threads than CPUs: nothing is pinned, the scheduler shares
		// the CPUs out.
		for _, produce := range o.producers {
			req := make(chan [2]uint64)
			r.mp = append(r.mp, req)
			r.mpDone.Go(func() {
				for q := range req {
					produce(q[0], int(q[1]), len(o.producers))
				}
			})
		}
		return r, nil
	}
	if prodCPU < 0 {
		warnNoPin.Do(func() { fmt.Fprintln(os.Stderr, "bench:", PinNote()) })
	}
	if r.unpin, err = pinThread(consCPU); err != nil {
		o.close()
		return nil, err
	}
	if o.produce == nil {
		return r, nil
	}
	r.start, r.done = make(chan [2]uint64), make(chan struct{})
	pinned := make(chan error)
	go func() {
		defer close(r.done)
		unpin, err := pinThread(prodCPU)
		pinned <- err
		if err != nil {
			return
		}
		defer unpin()
		for req := range r.start {
			o.produce(req[0], int(req[1]))
		}
	}()
	if err := <-pinned; err != nil {
		r.start = nil
		r.stop()
		return nil, err
	}
	return r, nil
}

// testSkew is a test hook: cross-thread producers start at seq+testSkew, so
// a test can prove that wrong items fail the round.
var testSkew uint64

// round moves k items and checks them; when it returns, the producer has
// finished the round too (the consumer took all k).
func (r *run) round(k int) error {
	seq := r.seq
	r.seq += uint64(k)
	if !r.cross {
		return r.single(seq, k)
	}
	if r.mp != nil {
		n := len(r.mp)
		for i, req := range r.mp {
			req <- [2]uint64{seq + uint64(i) + testSkew, uint64(k / n)}
		}
		chk := newMPCheck(seq, k, n)
		if err := r.consumeMP(k, chk.see); err != nil {
			return err
		}
		return chk.err()
	}
	if r.start != nil {
		r.start <- [2]uint64{seq + testSkew, uint64(k)}
	}
	return r.consume(seq, k)
}

// stop closes the queue first, which releases a producer still blocked in
// spillring's Push, then waits for the producer goroutine to end.
func (r *run) stop() {
	r.close()
	if r.start != nil {
		close(r.start)
	}
	for _, req := range r.mp {
		close(req)
	}
	r.mpDone.Wait()
	if r.done != nil {
		<-r.done
	}
	r.unpin()
}

// Supported reports whether im takes part in sc.
func Supported(sc Scenario, im Impl) bool {
	o, err := im.open(sc)
	if errors.Is(err, ErrUnsupported) {
		return false
	}
	if err == nil {
		o.close()
	}
	return true
}

// Rounds opens the pair, moves n rounds of k items and checks them: the
// pair's correctness without timing (the tests and the driver's preflight).
func Rounds(sc Scenario, im Impl, k, n int) error {
	r, err := startRun(sc, im)
	if err != nil {
		return err
	}
	defer r.stop()
	for range n {
		if err := r.round(k); err != nil {
			return fmt.Errorf("%s/%s: %w", sc.Name, im.Name, err)
		}
	}
	return nil
}

// Bench returns the benchmark body of one pair: each b.Loop iteration moves
// one round of k items; ns/item is the elapsed time over all items.
func Bench(sc Scenario, im Impl, k int) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		r, err := startRun(sc, im)
		if errors.Is(err, ErrUnsupported) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		defer r.stop()
		for b.Loop() {
			if err := r.round(k); err != nil {
				b.Fatalf("%s/%s: %v", sc.Name, im.Name, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(k)), "ns/item")
	}
}
