package bench

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// dropTestTime is long enough for every producer to lap its consumer many
// times (a few hundred thousand items), short enough for go test.
const dropTestTime = 30 * time.Millisecond

// TestDropOldest runs every impl briefly: each run checks its own
// accounting (Run fails otherwise); here also that the producer did
// outrun the consumer, so that the checks had evictions to account for,
// and that no goroutine is left. On a busy machine, or under the race
// detector (which slows the producer's atomics more than the consumer's
// arithmetic), a consumer may keep up: the run is repeated with more work.
func TestDropOldest(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, im := range DropImpls {
		var r DropResult
		var err error
		for work := DropWork; ; work *= 4 {
			r, err = im.Run(dropTestTime, work)
			if err != nil || r.Evicted > 0 || work >= 64*DropWork {
				break
			}
		}
		if err != nil {
			t.Error(err)
			continue
		}
		switch {
		case r.Delivered == 0:
			t.Errorf("%s: nothing delivered of %d", im.Name, r.Pushed)
		case r.Evicted == 0 && raceBuild():
			t.Logf("%s: no evictions under the race detector", im.Name)
		case r.Evicted == 0:
			t.Errorf("%s: no evictions of %d pushed, even with %d rounds of work", im.Name, r.Pushed, 64*DropWork)
		}
		if r.Delivered+r.Evicted+r.Stranded < r.Pushed {
			t.Errorf("%s: %+v: items unaccounted for", im.Name, r)
		}
		t.Logf("%-18s pushed %d, delivered %d, evicted %d, skipped %d, stranded %d", im.Name, r.Pushed, r.Delivered, r.Evicted, r.Skipped, r.Stranded)
	}
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// raceBuild reports whether the test binary was built with -race.
func raceBuild() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// TestDropOldestLose makes every consumer ignore its first item, as if the
// queue had lost it: every impl's accounting must notice.
func TestDropOldestLose(t *testing.T) {
	dropTestLose = true
	defer func() { dropTestLose = false }()
	for _, im := range DropImpls {
		if _, err := im.Run(dropTestTime, DropWork); err == nil {
			t.Errorf("%s: a lost item passed the check", im.Name)
		} else {
			t.Logf("%s: %v", im.Name, err)
		}
	}
}

// TestEvictSpoutCheck feeds the item-by-item check of spillring-evicted
// with sets whose counts add up but whose items do not (an item evicted and
// delivered both, and so another missing), and with an item past the last
// pushed: each must fail.
func TestEvictSpoutCheck(t *testing.T) {
	mk := func(items ...uint64) bitmap {
		var b bitmap
		for _, v := range items {
			b.set(v)
		}
		return b
	}
	delivered := make([]uint64, 0, 68)
	for v := uint64(2); v < 70; v++ {
		delivered = append(delivered, v)
	}
	for _, tc := range []struct {
		name    string
		evicted []uint64
		want    string // "" for a pass
	}{
		{"exact", []uint64{0, 1}, ""},
		{"both", []uint64{0, 2}, "both evicted and delivered"},
		{"missing", []uint64{0, 3}, "both evicted and delivered"},
		{"past", []uint64{0, 1, 70}, "never pushed"},
		{"past-far", []uint64{0, 1, 1000}, "never pushed"},
	} {
		r := DropResult{Pushed: 70, Delivered: uint64(len(delivered)), Evicted: uint64(len(tc.evicted))}
		e := &evictSpout{n: r.Evicted, seen: mk(tc.evicted...)}
		s := &dropSink{n: uint64(len(delivered)), seen: mk(delivered...)}
		err := e.check(s, r)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestDiodeCheck feeds the diode accounting with the cases a ManyToOne run
// can end in: holes the reader passed, items stranded behind a hole at
// the end, and the same figures off by one.
func TestDiodeCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pushed   uint64
		next, n  uint64   // the sink: last delivered + 1, items delivered
		alerted  uint64   // the Alerter's sum
		collided []uint64 // item being set at each collision
		ok       bool
	}{
		{"onetoone", 100, 100, 60, 40, nil, true},
		{"onetoone-lost", 100, 100, 59, 40, nil, false},
		{"onetoone-last-missing", 100, 99, 59, 40, nil, false},
		{"hole-passed", 100, 100, 60, 41, []uint64{50}, true},
		{"hole-not-reported", 100, 100, 60, 40, []uint64{50}, false},
		{"stranded", 100, 90, 60, 31, []uint64{50, 90}, true},
		{"stranded-two-holes", 100, 90, 60, 31, []uint64{50, 90, 95}, true},
		{"stranded-no-hole", 100, 90, 60, 31, []uint64{50}, false},
		{"stranded-hole-later", 100, 90, 60, 31, []uint64{50, 92}, false},
		{"hole-after-last", 100, 100, 60, 40, []uint64{100}, false},
	} {
		r := DropResult{Pushed: tc.pushed, Delivered: tc.n, Evicted: tc.alerted}
		err := r.diodeCheck(&dropSink{next: tc.next, n: tc.n}, tc.collided)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestDropWork: the work is the same function of the item for every
// impl and takes some time.
func TestDropWork(t *testing.T) {
	if dropWork(1, DropWork) == dropWork(2, DropWork) {
		t.Error("dropWork maps 1 and 2 to the same value")
	}
	if ns := DropWorkNs(DropWork, 1<<16); ns <= 0 {
		t.Errorf("DropWorkNs = %v", ns)
	}
}
