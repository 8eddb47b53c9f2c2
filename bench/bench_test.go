package bench

import (
	"runtime"
	"testing"
	"time"
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
