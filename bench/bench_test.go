package bench

import (
	"runtime"
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
