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
//   - pool-stream-ordered: pool-stream on an ordered pool
//     (PoolConfig.OrderWindow), the spillring impls only: what ordered
//     collection costs per item, against pool-stream in the same run. Its
//     sink also checks that the items come in dispatch order.
//   - pipeline2 (pipeline.go): two stages, a pool each, pipelined; per
//     record, end to end.
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
	// OrderWindow > 0: the spillring impls' pools are ordered with that
	// window (the peers do not take part), and the sink checks the order.
	OrderWindow int
	// Unordered names the scenario this one is the ordered twin of: the
	// driver prints, per impl, this one's median over that one's.
	Unordered string
	// Pipeline: pipeline2 (pipeline.go). Workers is the workers per stage,
	// Items the records per round; reported per record.
	Pipeline bool
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
	{Name: "pool-stream-ordered", Workers: 2, Items: StreamItems, Stream: true, OrderWindow: streamOrderWindow, Unordered: "pool-stream"},
	{Name: "mergers-1", Workers: 4, Items: StreamItems, Stream: true, Mergers: 1},
	{Name: "mergers-2", Workers: 4, Items: StreamItems, Stream: true, Mergers: 2},
	{Name: "pipeline2", Workers: 1, Items: PipeChunk, Pipeline: true},
}

// streamOrderWindow is pool-stream-ordered's OrderWindow: a round is
// collected before the next is dispatched, so any window would do; 4
// leaves room, as an application would.
const streamOrderWindow = 4

// perItem reports whether sc is timed per item (per record), not per round.
func (sc PoolScenario) perItem() bool { return sc.Stream || sc.Pipeline }

// ordered reports whether sc's sink checks the items' order.
func (sc PoolScenario) ordered() bool { return sc.OrderWindow > 0 || sc.Pipeline }

// Metric is the unit the scenario reports.
func (sc PoolScenario) Metric() string {
	if sc.Pipeline {
		return "ns/record"
	}
	if sc.Stream {
		return "ns/item"
	}
	return "ns/round"
}

// Base is the impl the table's speed-up column divides by: the OpenMP
// reference for rounds, a Go channel for the stream, the goroutine and
// channel pipeline for pipeline2. An ordered twin takes its base from the
// unordered scenario (BaseScenario): its peers do not run it.
func (sc PoolScenario) Base() string {
	if sc.Pipeline {
		return "chan-pipeline"
	}
	if sc.Stream {
		return "chan-fanin"
	}
	return "openmp"
}

// BaseScenario is the scenario whose Base row the speed-up column divides
// by: sc itself, or the unordered scenario sc is the ordered twin of.
func (sc PoolScenario) BaseScenario() string {
	if sc.Unordered != "" {
		return sc.Unordered
	}
	return sc.Name
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
// batches by their length could leave them untouched). In an ordered
// scenario (ord set) it also checks that each item is the one expected
// next. Only the collecting goroutine uses it.
type countSink struct {
	n, sum uint64
	ord    *orderCheck
}

var _ spillring.Spout[uint64] = (*countSink)(nil)

// newSink is the sink of sc's rounds from seq: with the order check when
// sc is ordered.
func (sc PoolScenario) newSink(seq uint64) countSink {
	if !sc.ordered() {
		return countSink{}
	}
	c := &orderCheck{pipe: sc.Pipeline, workers: uint64(sc.Workers), items: uint64(sc.Items), round: seq}
	c.next, c.left = c.start(seq, 0), c.items
	return countSink{ord: c}
}

func (s *countSink) Send(v uint64) error {
	if s.ord != nil {
		s.sendOrdered([]uint64{v})
		return nil
	}
	s.n++
	s.sum += v
	return nil
}

func (s *countSink) SendBatch(vs []uint64) (int, error) {
	if s.ord != nil {
		s.sendOrdered(vs)
		return len(vs), nil
	}
	for _, v := range vs {
		s.sum += v
	}
	s.n += uint64(len(vs))
	return len(vs), nil
}

// orderCheck is the order an ordered scenario's items must reach the sink
// in: runs of items, each worker's items of a round, round after round and
// worker after worker in a round (dispatch order). In pool-stream-ordered
// round s's run of worker w is s + w<<40 + j, j < Items; in pipeline2
// round s's run is pipeOut(x) for its records x = (s-1)*Items + 1 + j.
type orderCheck struct {
	pipe           bool
	workers, items uint64
	round, worker  uint64 // the run at hand
	next           uint64 // its next item (pipeline2: its next record)
	left           uint64 // its items not yet seen
	err            error  // the first item out of order
}

// start is the first item (pipeline2: record) of worker w's run of round
// seq.
func (c *orderCheck) start(seq, w uint64) uint64 {
	if c.pipe {
		return pipeRecord(seq, 0)
	}
	return seq + w<<40
}

// sendOrdered is SendBatch with the order check: the sum as countSink's,
// item by item, and beside it each item's difference from the one
// expected, or-ed into one word per run. The sum's chain through memory
// bounds both loops (s.sum is loaded and stored per item), so the check
// adds next to nothing per item: the ordered and the unordered scenarios'
// sinks cost the same, and their ratio is the pool's.
func (s *countSink) sendOrdered(vs []uint64) {
	c := s.ord
	s.n += uint64(len(vs))
	for len(vs) > 0 {
		if c.left == 0 {
			if c.worker++; c.worker == c.workers {
				c.worker = 0
				c.round++
			}
			c.next, c.left = c.start(c.round, c.worker), c.items
		}
		run := vs[:min(uint64(len(vs)), c.left)]
		base := c.next
		var bad uint64
		if c.pipe {
			for j, v := range run {
				s.sum += v
				bad |= v ^ pipeOut(base+uint64(j))
			}
		} else {
			for j, v := range run {
				s.sum += v
				bad |= v ^ (base + uint64(j))
			}
		}
		if bad != 0 && c.err == nil {
			c.wrong(run)
		}
		c.next += uint64(len(run))
		c.left -= uint64(len(run))
		vs = vs[len(run):]
	}
}

// wrong records the first item of run that is not the one expected.
func (c *orderCheck) wrong(run []uint64) {
	for j, v := range run {
		x := c.next + uint64(j)
		switch {
		case c.pipe && v != pipeOut(x):
			c.err = fmt.Errorf("record %d (round %d) out of order or wrong: got %#x, want pipeOut(%d) = %#x", x, c.round, v, x, pipeOut(x))
		case !c.pipe && v != x:
			c.err = fmt.Errorf("item out of order: got %#x, want %#x (round %d, worker %d, item %d)", v, x, c.round, c.worker, c.items-c.left+uint64(j))
		default:
			continue
		}
		return
	}
}

// orderErr is the order check's first error, or nil.
func (s *countSink) orderErr() error {
	if s.ord == nil {
		return nil
	}
	return s.ord.err
}

func (s *countSink) Flush() error { return nil }

// PoolImpl is one way of running rounds on workers.
type PoolImpl struct {
	Name     string
	Rounds   bool // takes part in pool-round-*
	Stream   bool // takes part in pool-stream
	Ordered  bool // takes part in pool-stream-ordered
	Pipeline bool // takes part in pipeline2
	open     func(PoolScenario) (poolOps, error)
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
	{Name: "spillring-c", Rounds: true, Stream: true, Ordered: true, open: openPool(spillring.BackendC, true)},
	{Name: "spillring-cgo", Rounds: true, Stream: true, Ordered: true, Pipeline: true, open: openPool(spillring.BackendC, false)},
	{Name: "spillring-go", Rounds: true, Stream: true, Ordered: true, Pipeline: true, open: openPool(spillring.BackendGo, false)},
	{Name: "openmp", Rounds: true, open: openOpenMP},
	{Name: "waitgroup", Rounds: true, open: openGoroutines(false)},
	{Name: "ants", Rounds: true, open: openAnts},
	{Name: "chan-fanin", Stream: true, open: openChanFanin},
	{Name: "slices-merge", Stream: true, open: openGoroutines(true)},
	{Name: "chan-pipeline", Pipeline: true, open: openChanPipeline},
	{Name: "one-goroutine", Pipeline: true, open: openOneGoroutine},
}

// PoolSupported reports whether im takes part in sc.
func PoolSupported(sc PoolScenario, im PoolImpl) bool {
	switch {
	case sc.Pipeline:
		return im.Pipeline
	case sc.OrderWindow > 0:
		return im.Ordered
	case sc.Stream:
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
// once (and, ordered, in order).
func (o poolOps) checkedRound(sc PoolScenario, seq uint64, sink *countSink) error {
	n, sum := sink.n, sink.sum
	if err := o.round(seq, sink); err != nil {
		return err
	}
	if err := sink.orderErr(); err != nil {
		return err
	}
	return sc.check(sink.n-n, sink.sum-sum, seq, 1)
}

// roundItems is what reaches the sink per round: every worker's items, or
// pipeline2's records.
func (sc PoolScenario) roundItems() int {
	if sc.Pipeline {
		return sc.Items
	}
	return sc.Workers * sc.Items
}

func (sc PoolScenario) check(n, sum, seq, rounds uint64) error {
	if want := rounds * uint64(sc.roundItems()); n != want {
		return fmt.Errorf("the sink got %d items, want %d", n, want)
	}
	if sc.Pipeline {
		// The order check compared every record's output with
		// pipeOut's: the sum would tell nothing more (and has no
		// closed form).
		return nil
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
	sink := sc.newSink(seq)
	if o.rounds != nil {
		if err := o.rounds(seq, n, &sink); err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		if err := sink.orderErr(); err != nil {
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
// runs one checked round; ns/round (or, streaming, ns/item; pipeline2,
// ns/record) is the elapsed time over all rounds (items, records). openmp
// runs all b.N rounds in one C call.
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
			sink := sc.newSink(1)
			for seq := uint64(1); b.Loop(); seq++ {
				if err := o.checkedRound(sc, seq, &sink); err != nil {
					b.Fatalf("%s/%s: %v", sc.Name, im.Name, err)
				}
			}
		}
		per := float64(b.N)
		if sc.perItem() {
			per *= float64(sc.roundItems())
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, sc.Metric())
	}
}

// PoolPinNote says how the pool scenarios are pinned.
func PoolPinNote() string {
	note := "pool workers pinned by the pool itself (default CPUs: worker i on the i-th CPU the process may use; " +
		"pipeline2's second pool on the CPU the first left free); " +
		"the main goroutine and the peers' goroutines and threads unpinned"
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() < 3 {
		note += fmt.Sprintf("; 2 workers + the main goroutine oversubscribe these %d CPUs "+
			"(the pool's workers then sleep at once instead of spinning; pipeline2's one-worker pools are told to, with Park)", set.Count())
	}
	return note
}

// openPool: a WorkerPool[uint64, poolArgs] with the default Wait and CPUs:
// the C work function (spillring-c, BackendC only) or the Go one; ordered
// with sc.OrderWindow (pool-stream-ordered runs exactly as pool-stream
// otherwise). pipeline2 has pools of its own (openPipeline).
func openPool(backend spillring.Backend, cwork bool) func(PoolScenario) (poolOps, error) {
	return func(sc PoolScenario) (poolOps, error) {
		if sc.Pipeline {
			if cwork {
				return poolOps{}, ErrUnsupported
			}
			return openPipeline(backend)
		}
		cfg := spillring.PoolConfig[uint64, poolArgs]{Workers: sc.Workers, Backend: backend, OrderWindow: sc.OrderWindow}
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
			// Collect takes the first while the other still works (an
			// ordered pool's, only if it is worker 0's: worker 1's
			// waits for it). The
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
