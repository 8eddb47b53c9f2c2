package bench

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spillring/spillring"
)

// BenchmarkSideBySide: go test -run '^$' -bench . -count 10 > new.txt
func BenchmarkSideBySide(b *testing.B) {
	for _, sc := range Scenarios {
		b.Run(sc.Name, func(b *testing.B) {
			for _, im := range Impls {
				b.Run(im.Name, Bench(sc, im, RoundItems))
			}
		})
	}
	for _, sc := range PoolScenarios {
		b.Run(sc.Name, func(b *testing.B) {
			for _, im := range PoolImpls {
				b.Run(im.Name, PoolBench(sc, im))
			}
		})
	}
}

// testRound is more than a ring-full, so rings wrap and producers block on
// a full ring.
const testRound = Capacity + Capacity/2

// TestPairs runs two small rounds of every pair (the second checks that the
// sequence carries over) and checks that no producer goroutine is left.
func TestPairs(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, sc := range Scenarios {
		for _, im := range Impls {
			if !Supported(sc, im) {
				continue
			}
			if err := Rounds(sc, im, testRound, 2); err != nil {
				t.Error(err)
			}
		}
	}
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMismatch skews every cross-thread producer by one: each consumer must
// fail the round, and still drain it so that the pair stops cleanly.
func TestMismatch(t *testing.T) {
	testSkew = 1
	defer func() { testSkew = 0 }()
	for _, sc := range Scenarios {
		if !sc.Cross {
			continue
		}
		for _, im := range Impls {
			if !Supported(sc, im) {
				continue
			}
			if err := Rounds(sc, im, testRound, 1); err == nil {
				t.Errorf("%s/%s: a wrong item passed", sc.Name, im.Name)
			}
		}
	}
}

// TestLoaded runs every loaded pair briefly (without burners: the pairs'
// correctness and shutdown, not their speed) and one burner process, which
// must be running until it is stopped and gone after.
func TestLoaded(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, lp := range LoadedPairs() {
		for _, capacity := range []int{1, 64} {
			rate, err := lp.Run(capacity, 20*time.Millisecond)
			if err != nil {
				t.Error(err)
			} else if rate <= 0 {
				t.Errorf("%s %s cap %d: %v items/s", lp.Impl, lp.Wait, capacity, rate)
			}
		}
	}
	b, err := StartBurners(1)
	if err != nil {
		t.Fatal(err)
	}
	pid := b.cmds[0].Process.Pid
	time.Sleep(50 * time.Millisecond)
	share, err := b.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if share <= 0 {
		t.Errorf("the burner used %.2f of a core", share)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("burner %d still exists after Stop", pid)
	}
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIdleCPU: every strategy measures without error; the default sleeps
// (loosely checked: this machine may be busy, but a spinner uses a core).
func TestIdleCPU(t *testing.T) {
	for _, b := range Backends {
		for _, w := range Waits {
			pct, err := IdleCPU(b.Backend, w.Wait, 20*time.Millisecond)
			if err != nil {
				t.Fatalf("%s %s: %v", b.Name, w.Name, err)
			}
			t.Logf("%s %s: %.1f%%", b.Name, w.Name, pct)
			if w.Wait == (spillring.WaitStrategy{}) && pct > 50 {
				t.Errorf("%s: the default strategy used %.1f%% of a core while idle", b.Name, pct)
			}
		}
	}
}

// TestPoolPairs runs a few rounds of every pool pair and checks that no
// goroutine is left (the pools' workers, ants' goroutines).
func TestPoolPairs(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, sc := range PoolScenarios {
		for _, im := range PoolImpls {
			if !PoolSupported(sc, im) {
				continue
			}
			if err := PoolRounds(sc, im, 3); err != nil {
				t.Errorf("%s/%s: %v", sc.Name, im.Name, err)
			}
		}
	}
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPoolCheck: the sink's check catches a lost item, a repeated one and
// a wrong one, so a broken impl fails its round.
func TestPoolCheck(t *testing.T) {
	sc := PoolScenarios[1]
	bad := map[string]func(seq uint64, sink *countSink){
		"lost":     func(seq uint64, sink *countSink) { _ = sink.Send(seq) },
		"repeated": func(seq uint64, sink *countSink) { _, _ = sink.SendBatch([]uint64{seq, seq, seq + 1<<40}) },
		"wrong":    func(seq uint64, sink *countSink) { _, _ = sink.SendBatch([]uint64{seq, seq + 1}) },
	}
	for name, round := range bad {
		o := poolOps{round: func(seq uint64, sink *countSink) error { round(seq, sink); return nil }}
		if err := o.run(sc, 1, 2); err == nil {
			t.Errorf("%s item: the round passed", name)
		}
	}
	good := poolOps{round: func(seq uint64, sink *countSink) error {
		_, err := sink.SendBatch([]uint64{seq, seq + 1<<40})
		return err
	}}
	if err := good.run(sc, 1, 2); err != nil {
		t.Error(err)
	}
}

// TestPoolOrderCheck: the ordered scenarios' sinks catch what the count
// and the sum cannot: items in the wrong order. pool-stream-ordered (with
// 4 items a worker) must get worker 0's items, then worker 1's, round
// after round; pipeline2, pipeOut of every record in order.
func TestPoolOrderCheck(t *testing.T) {
	var stream, pipe PoolScenario
	for _, sc := range PoolScenarios {
		switch {
		case sc.Pipeline:
			pipe = sc
		case sc.OrderWindow > 0:
			stream = sc
		}
	}
	stream.Items = 4
	// run runs two rounds whose sink gets what items makes of the round.
	run := func(sc PoolScenario, items func(seq uint64) []uint64) error {
		o := poolOps{round: func(seq uint64, sink *countSink) error {
			_, err := sink.SendBatch(items(seq))
			return err
		}}
		return o.run(sc, 1, 2)
	}
	workers := func(seq uint64, order ...uint64) []uint64 {
		var vs []uint64
		for _, w := range order {
			vs = fill(vs, seq+w<<40, stream.Items)
		}
		return vs
	}
	records := func(seq uint64, f func(uint64) uint64) []uint64 {
		vs := make([]uint64, pipe.Items)
		for j := range vs {
			vs[j] = f(pipeRecord(seq, uint64(j)))
		}
		return vs
	}
	bad := map[string]error{
		"stream: workers swapped": run(stream, func(seq uint64) []uint64 { return workers(seq, 1, 0) }),
		"stream: items swapped": run(stream, func(seq uint64) []uint64 {
			vs := workers(seq, 0, 1)
			vs[1], vs[2] = vs[2], vs[1]
			return vs
		}),
		"pipeline: stage 2 skipped": run(pipe, func(seq uint64) []uint64 { return records(seq, pipeF1) }),
		"pipeline: records swapped": run(pipe, func(seq uint64) []uint64 {
			vs := records(seq, pipeOut)
			vs[7], vs[8] = vs[8], vs[7]
			return vs
		}),
		"pipeline: a chunk repeated": run(pipe, func(uint64) []uint64 { return records(1, pipeOut) }),
	}
	for name, err := range bad {
		if err == nil {
			t.Errorf("%s: the rounds passed", name)
		}
	}
	if err := run(stream, func(seq uint64) []uint64 { return workers(seq, 0, 1) }); err != nil {
		t.Error(err)
	}
	if err := run(pipe, func(seq uint64) []uint64 { return records(seq, pipeOut) }); err != nil {
		t.Error(err)
	}
	// Item by item, as chan-pipeline hands them on.
	o := poolOps{round: func(seq uint64, sink *countSink) error {
		for _, v := range records(seq, pipeOut) {
			_ = sink.Send(v)
		}
		return nil
	}}
	if err := o.run(pipe, 1, 2); err != nil {
		t.Error(err)
	}
}

// TestPoolNoAllocs: a pool round (Run + Collect; the stream's Dispatch,
// Collects and Join; pipeline2's two pools' rounds and collections)
// allocates nothing once the pool runs.
func TestPoolNoAllocs(t *testing.T) {
	for _, sc := range PoolScenarios {
		for _, im := range PoolImpls {
			if !strings.HasPrefix(im.Name, "spillring-") || !PoolSupported(sc, im) {
				continue
			}
			o, err := openImpl(sc, im)
			if err != nil {
				t.Fatal(err)
			}
			sink := sc.newSink(1)
			seq := uint64(1)
			round := func() {
				if err := o.checkedRound(sc, seq, &sink); err != nil {
					t.Fatalf("%s/%s: %v", sc.Name, im.Name, err)
				}
				seq++
			}
			for range 10 {
				round()
			}
			if n := testing.AllocsPerRun(100, round); n != 0 {
				t.Errorf("%s/%s: %.1f allocations per round", sc.Name, im.Name, n)
			}
			o.close()
		}
	}
}

// TestIdlePoolCPU: both backends' idle pools measure without error and
// sleep (loosely checked, as in TestIdleCPU).
func TestIdlePoolCPU(t *testing.T) {
	for _, name := range IdlePools {
		pct, err := IdlePoolCPU(name, 20*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %.1f%%", name, pct)
		if pct > 50 {
			t.Errorf("%s: an idle pool used %.1f%% of a core", name, pct)
		}
	}
}
