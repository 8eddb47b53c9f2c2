package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/panjf2000/ants/v2"
	"github.com/spillring/spillring"
	"golang.org/x/sys/unix"
)

// The WorkerPool scenarios: rounds of work on a set of workers, whose items
// the main goroutine collects into a counting sink.
//   - pool-round-1, pool-round-2: a round is a Dispatch and a Join of
//     trivial work (each worker pushes one item), then a Collect; the cost
//     of a round trip through the workers, per round.
//   - pool-stream: each of 2 workers pushes StreamItems items per round
//     while the main goroutine collects them as they are published; per
//     item.
//
// They are not queue scenarios (Scenario), so they have their own impls and
// harness; the driver prints them in a table of their own.

// PoolScenario is one way of running a pool's rounds.
type PoolScenario struct {
	Name    string
	Workers int
	Items   int  // items each worker pushes per round
	Stream  bool // collected while the round runs; reported per item, not per round
	// Mergers > 0: the spillring impls collect with that many Mergers,
	// each on a goroutine of its own (the peers as in pool-stream).
	Mergers int
}

const (
	// StreamItems is what each worker pushes per pool-stream round.
	StreamItems = 4096
	// streamRingCapacity holds two rounds of a worker's items: nothing
	// spills even if a batch waits a round for the collector.
	streamRingCapacity = 2 * StreamItems
	// poolBurst is the batch the stream work pushes at a time.
	poolBurst = 256
)

// PoolScenarios are all pool scenarios, in table order.
var PoolScenarios = []PoolScenario{
	{Name: "pool-round-1", Workers: 1, Items: 1},
	{Name: "pool-round-2", Workers: 2, Items: 1},
	{Name: "pool-stream", Workers: 2, Items: StreamItems, Stream: true},
	{Name: "mergers-1", Workers: 4, Items: StreamItems, Stream: true, Mergers: 1},
	{Name: "mergers-2", Workers: 4, Items: StreamItems, Stream: true, Mergers: 2},
}

// Metric is the unit the scenario reports.
func (sc PoolScenario) Metric() string {
	if sc.Stream {
		return "ns/item"
	}
	return "ns/round"
}

// Base is the impl the table's speed-up column divides by: the OpenMP
// reference for rounds, a Go channel for the stream.
func (sc PoolScenario) Base() string {
	if sc.Stream {
		return "chan-fanin"
	}
	return "openmp"
}

// Items are values: worker w's item j of the round seq is seq + j + w<<40,
// so the sum of a round tells a lost, repeated or garbled item (or another
// worker's) from the right ones without a per-item check.

// sumRounds is the sum of the items of n rounds from seq.
func (sc PoolScenario) sumRounds(seq, n uint64) uint64 {
	w, k := uint64(sc.Workers), uint64(sc.Items)
	return w*k*(n*seq+n*(n-1)/2) + n*(w*(k*(k-1)/2)+k*(w*(w-1)/2)<<40)
}

// fill appends count items of worker base (seq + w<<40) to out.
func fill(out []uint64, base uint64, count int) []uint64 {
	for j := range uint64(count) {
		out = append(out, base+j)
	}
	return out
}

// countSink is the sink every pool impl collects into: it counts and sums
// the items, so every impl reads each item it moves (a sink that took
// batches by their length could leave them untouched). Only the collecting
// goroutine uses it.
type countSink struct{ n, sum uint64 }

var _ spillring.Spout[uint64] = (*countSink)(nil)

func (s *countSink) Send(v uint64) error {
	s.n++
	s.sum += v
	return nil
}

func (s *countSink) SendBatch(vs []uint64) (int, error) {
	for _, v := range vs {
		s.sum += v
	}
	s.n += uint64(len(vs))
	return len(vs), nil
}

func (s *countSink) Flush() error { return nil }

// PoolImpl is one way of running rounds on workers.
type PoolImpl struct {
	Name   string
	Rounds bool // takes part in pool-round-*
	Stream bool // takes part in pool-stream
	open   func(PoolScenario) (poolOps, error)
}

// poolOps is a PoolImpl opened for one scenario: round runs the round seq
// (every worker pushes sc.Items items) and collects every item into sink;
// or, for openmp, rounds runs n rounds from seq in one call.
type poolOps struct {
	round  func(seq uint64, sink *countSink) error
	rounds func(seq uint64, n int, sink *countSink) error
	close  func()
}

// PoolImpls are all pool impls, in table order.
var PoolImpls = []PoolImpl{
	{Name: "spillring-c", Rounds: true, Stream: true, open: openPool(spillring.BackendC, true)},
	{Name: "spillring-cgo", Rounds: true, Stream: true, open: openPool(spillring.BackendC, false)},
	{Name: "spillring-go", Rounds: true, Stream: true, open: openPool(spillring.BackendGo, false)},
	{Name: "openmp", Rounds: true, open: openOpenMP},
	{Name: "waitgroup", Rounds: true, open: openGoroutines(false)},
	{Name: "ants", Rounds: true, open: openAnts},
	{Name: "chan-fanin", Stream: true, open: openChanFanin},
	{Name: "slices-merge", Stream: true, open: openGoroutines(true)},
}

// PoolSupported reports whether im takes part in sc.
func PoolSupported(sc PoolScenario, im PoolImpl) bool {
	if sc.Stream {
		return im.Stream
	}
	return im.Rounds
}

func openImpl(sc PoolScenario, im PoolImpl) (poolOps, error) {
	if !PoolSupported(sc, im) {
		return poolOps{}, ErrUnsupported
	}
	o, err := im.open(sc)
	if err != nil {
		return poolOps{}, fmt.Errorf("%s/%s: %w", sc.Name, im.Name, err)
	}
	return o, nil
}

// checkedRound runs round seq and checks what reached sink: every item,
// once.
func (o poolOps) checkedRound(sc PoolScenario, seq uint64, sink *countSink) error {
	n, sum := sink.n, sink.sum
	if err := o.round(seq, sink); err != nil {
		return err
	}
	return sc.check(sink.n-n, sink.sum-sum, seq, 1)
}

func (sc PoolScenario) check(n, sum, seq, rounds uint64) error {
	if want := rounds * uint64(sc.Workers*sc.Items); n != want {
		return fmt.Errorf("the sink got %d items, want %d", n, want)
	}
	if want := sc.sumRounds(seq, rounds); sum != want {
		return fmt.Errorf("wrong items: they sum to %d, want %d", sum, want)
	}
	return nil
}

// PoolRounds opens the pair, runs n rounds and checks them: the pair's
// correctness without timing (the tests and the driver's preflight).
func PoolRounds(sc PoolScenario, im PoolImpl, n int) error {
	o, err := openImpl(sc, im)
	if err != nil {
		return err
	}
	defer o.close()
	return o.run(sc, 1, n)
}

func (o poolOps) run(sc PoolScenario, seq uint64, n int) error {
	var sink countSink
	if o.rounds != nil {
		if err := o.rounds(seq, n, &sink); err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		return sc.check(sink.n, sink.sum, seq, uint64(n))
	}
	for i := range uint64(n) {
		if err := o.checkedRound(sc, seq+i, &sink); err != nil {
			return fmt.Errorf("%s: round %d: %w", sc.Name, i, err)
		}
	}
	return nil
}

// PoolBench returns the benchmark body of one pair: each b.Loop iteration
// runs one checked round; ns/round (or, streaming, ns/item) is the elapsed
// time over all rounds (items). openmp runs all b.N rounds in one C call.
func PoolBench(sc PoolScenario, im PoolImpl) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		o, err := openImpl(sc, im)
		if errors.Is(err, ErrUnsupported) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		defer o.close()
		if o.rounds != nil {
			b.ResetTimer()
			if err := o.run(sc, 1, b.N); err != nil {
				b.Fatalf("%s: %v", im.Name, err)
			}
		} else {
			var sink countSink
			for seq := uint64(1); b.Loop(); seq++ {
				if err := o.checkedRound(sc, seq, &sink); err != nil {
					b.Fatalf("%s/%s: %v", sc.Name, im.Name, err)
				}
			}
		}
		per := float64(b.N)
		if sc.Stream {
			per *= float64(sc.Workers * sc.Items)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, sc.Metric())
	}
}

// PoolPinNote says how the pool scenarios are pinned.
func PoolPinNote() string {
	note := "pool workers pinned by the pool itself (default CPUs: worker i on the i-th CPU the process may use); " +
		"the main goroutine and the peers' goroutines and threads unpinned"
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() < 3 {
		note += fmt.Sprintf("; 2 workers + the main goroutine oversubscribe these %d CPUs "+
			"(the pool's workers then sleep at once instead of spinning)", set.Count())
	}
	return note
}

// openPool: a WorkerPool[uint64, poolArgs] with the default Wait and CPUs:
// the C work function (spillring-c, BackendC only) or the Go one.
func openPool(backend spillring.Backend, cwork bool) func(PoolScenario) (poolOps, error) {
	return func(sc PoolScenario) (poolOps, error) {
		cfg := spillring.PoolConfig[uint64, poolArgs]{Workers: sc.Workers, Backend: backend}
		if sc.Stream {
			cfg.RingCapacity = streamRingCapacity
		}
		if cwork {
			cfg.CWork = cPoolWork()
		} else {
			cfg.Work = goPoolWork(sc.Workers)
		}
		p, err := spillring.NewPool(cfg)
		if err != nil {
			return poolOps{}, err
		}
		o := poolOps{close: func() { _ = p.Close() }}
		if sc.Mergers > 0 {
			return mergersOps(p, sc)
		}
		if !sc.Stream {
			o.round = func(seq uint64, sink *countSink) error {
				if err := p.Run(poolArgs{Seq: seq, Count: uint64(sc.Items)}); err != nil {
					return err
				}
				_, err := p.Collect(sink)
				return err
			}
			return o, nil
		}
		want := sc.Workers * sc.Items
		o.round = func(seq uint64, sink *countSink) error {
			if err := p.Dispatch(poolArgs{Seq: seq, Count: uint64(sc.Items)}); err != nil {
				return err
			}
			// Each worker publishes its batch when its work returns:
			// Collect takes the first while the other still works. The
			// polling is bounded, so a worker that failed (and published
			// less) cannot keep it going: past the bound, Join reports
			// the failure, and the final Collect takes what is left.
			got := 0
			for empty := 0; got < want && empty < maxEmptyPolls; {
				n, err := p.Collect(sink)
				if err != nil {
					_ = p.Join()
					return err
				}
				if got += n; n == 0 {
					empty++
					runtime.Gosched()
				}
			}
			if err := p.Join(); err != nil {
				return err
			}
			_, err := p.Collect(sink) // what came after the bound, if it was hit
			return err
		}
		return o, nil
	}
}

// mergersOps runs the mergers-* rounds (4 workers pushing 4096 items a
// round, as pool-stream with 2): sc.Mergers merger goroutines,
// started once (a round allocates nothing), each told per round how many
// items its workers push, collect them into sinks of their own while the
// workers run; then the round is joined and the sinks' figures added up.
func mergersOps(p *spillring.WorkerPool[uint64, poolArgs], sc PoolScenario) (poolOps, error) {
	ms, err := p.Mergers(sc.Mergers)
	if err != nil {
		_ = p.Close()
		return poolOps{}, err
	}
	start := make([]chan int, len(ms))
	done := make(chan error, len(ms))
	sinks := make([]countSink, len(ms))
	wants := make([]int, len(ms)) // a merger's items per round
	for j, m := range ms {
		wants[j] = len(m.Workers()) * sc.Items
		start[j] = make(chan int)
		go func() {
			for want := range start[j] {
				var err error
				for got, empty := 0, 0; got < want && empty < maxEmptyPolls && err == nil; {
					var n int
					n, err = m.Collect(&sinks[j])
					if got += n; n == 0 {
						empty++
						runtime.Gosched()
					}
				}
				done <- err
			}
		}()
	}
	return poolOps{
		round: func(seq uint64, sink *countSink) error {
			if err := p.Dispatch(poolArgs{Seq: seq, Count: uint64(sc.Items)}); err != nil {
				return err
			}
			for j, want := range wants {
				start[j] <- want
			}
			var first error
			for range ms {
				if err := <-done; err != nil && first == nil {
					first = err
				}
			}
			if err := p.Join(); err != nil && first == nil {
				first = err
			}
			_, err := p.Collect(sink) // what came after a bound, if one was hit
			for j := range sinks {
				sink.n += sinks[j].n
				sink.sum += sinks[j].sum
				sinks[j] = countSink{}
			}
			if first != nil {
				return first
			}
			return err
		},
		close: func() {
			for _, ch := range start {
				close(ch)
			}
			_ = p.Close()
		},
	}, nil
}

// maxEmptyPolls bounds pool-stream's polling of a round (each empty poll
// yields): far more than a round takes, even on a busy machine.
const maxEmptyPolls = 1 << 20

// goPoolWork is the Go work of spillring-cgo and spillring-go, pw_work's
// twin: a Push for a single item, PushSlice bursts of poolBurst from a
// buffer per worker (made once: a round allocates nothing) for more.
func goPoolWork(workers int) spillring.WorkFunc[uint64, poolArgs] {
	bufs := make([][poolBurst]uint64, workers)
	return func(out *spillring.SpillRing[uint64], w int, a poolArgs) error {
		base := a.Seq + uint64(w)<<40
		if a.Count == 1 {
			return out.Push(base)
		}
		buf := &bufs[w]
		for off := uint64(0); off < a.Count; {
			vs := buf[:min(poolBurst, a.Count-off)]
			for j := range vs {
				vs[j] = base + off + uint64(j)
			}
			if _, err := out.PushSlice(vs); err != nil {
				return err
			}
			off += uint64(len(vs))
		}
		return nil
	}
}

// goWorkers is the state the goroutine peers share: each worker's private
// slice, made once, and its task, a func value made once (a go statement
// or a Submit of a prepared func allocates no closure).
type goWorkers struct {
	seq   uint64 // the round's; written before the tasks start
	outs  [][]uint64
	tasks []func()
	wg    sync.WaitGroup
}

// newWorkers makes the tasks: worker w fills its slice with the round's
// items, then calls wg.Done.
func newWorkers(sc PoolScenario) *goWorkers {
	g := &goWorkers{outs: make([][]uint64, sc.Workers), tasks: make([]func(), sc.Workers)}
	for w := range sc.Workers {
		g.outs[w] = make([]uint64, 0, sc.Items)
		g.tasks[w] = func() {
			g.outs[w] = fill(g.outs[w][:0], g.seq+uint64(w)<<40, sc.Items)
			g.wg.Done()
		}
	}
	return g
}

// openGoroutines: per round, one new goroutine per worker, each filling its
// own slice, and a WaitGroup. waitgroup (merge false) hands each slice to
// the sink; slices-merge first copies them into one.
func openGoroutines(merge bool) func(PoolScenario) (poolOps, error) {
	return func(sc PoolScenario) (poolOps, error) {
		g := newWorkers(sc)
		merged := make([]uint64, 0, sc.Workers*sc.Items)
		return poolOps{
			round: func(seq uint64, sink *countSink) error {
				g.seq = seq
				g.wg.Add(sc.Workers)
				for _, t := range g.tasks {
					go t()
				}
				g.wg.Wait()
				if !merge {
					for _, out := range g.outs {
						_, _ = sink.SendBatch(out)
					}
					return nil
				}
				merged = merged[:0]
				for _, out := range g.outs {
					merged = append(merged, out...)
				}
				_, _ = sink.SendBatch(merged)
				return nil
			},
			close: func() {},
		}, nil
	}
}

// openAnts: an ants pool of sc.Workers goroutines (default options); per
// round, one Submit per worker and a WaitGroup.
func openAnts(sc PoolScenario) (poolOps, error) {
	p, err := ants.NewPool(sc.Workers)
	if err != nil {
		return poolOps{}, err
	}
	g := newWorkers(sc)
	return poolOps{
		round: func(seq uint64, sink *countSink) error {
			g.seq = seq
			g.wg.Add(sc.Workers)
			for i, t := range g.tasks {
				if err := p.Submit(t); err != nil {
					g.wg.Add(i - sc.Workers) // the tasks not submitted
					g.wg.Wait()
					return err
				}
			}
			g.wg.Wait()
			for _, out := range g.outs {
				_, _ = sink.SendBatch(out)
			}
			return nil
		},
		// Waits for ants' workers and its own goroutines to end: the
		// tests check that no goroutine is left.
		close: func() { _ = p.ReleaseTimeout(time.Second) },
	}, nil
}

// openChanFanin: per round, one new goroutine per worker, each sending its
// items to one buffered channel (a round's worth of slots) that the main
// goroutine receives from.
func openChanFanin(sc PoolScenario) (poolOps, error) {
	ch := make(chan uint64, sc.Workers*sc.Items)
	tasks := make([]func(), sc.Workers)
	var seq uint64 // the round's; a worker reads it before its first send
	for w := range tasks {
		tasks[w] = func() {
			base := seq + uint64(w)<<40
			for j := range uint64(sc.Items) {
				ch <- base + j
			}
		}
	}
	want := sc.Workers * sc.Items
	return poolOps{
		round: func(s uint64, sink *countSink) error {
			seq = s
			for _, t := range tasks {
				go t()
			}
			for range want {
				_ = sink.Send(<-ch)
			}
			return nil
		},
		close: func() {},
	}, nil
}
