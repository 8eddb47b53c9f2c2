package spillring

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"testing"
)

// Memory is measured, not time: these tests read the resident set size
// (RSS) of the test process before and during a loop that creates and
// closes rings, and bound its growth. Go's GC does not see C memory, so
// before Close released it, the C backend grew by the size of each ring's
// touched pages until the handles were collected (about 0.5 MiB per default
// channel: 10,000 of them took 5 GiB).

// rssBytes is the process's resident set size from /proc/self/statm
// (resident pages * page size).
func rssBytes(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatalf("read /proc/self/statm: %v", err)
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		t.Fatalf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		t.Fatalf("/proc/self/statm: %q: %v", b, err)
	}
	return pages * int64(os.Getpagesize())
}

// memCycles is how many create/close cycles a memory test runs and the RSS
// growth it allows. The full run is 10,000 cycles under 64 MiB. -short
// (which the race and cgocheck runs use) and -race run 2,000 under 32 MiB:
// still 30 times below what 2,000 leaked default rings would take.
func memCycles() (cycles int, bound int64) {
	if testing.Short() || raceEnabled {
		return 2000, 32 << 20
	}
	return 10000, 64 << 20
}

// goMemory is the memory the Go runtime holds from the OS and has not
// returned: what a soft memory limit counts.
func goMemory() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// checkRSSGrowth runs cycle n times after a short warm-up (so the first
// allocations of the runtime, the C allocator and the loop itself are in
// the baseline) and fails if the RSS ever grows more than bound above the
// baseline. It samples every 64 cycles: the peak counts, not just the end.
// It never calls runtime.GC: the point is what Close releases, not what a
// collection would.
//
// For the Go backend (b == BackendGo), whose rings are Go memory, the RSS
// follows the GC's pacing, and on a loaded machine that overshoots: a mark
// slowed down by other processes counts the 1 MiB rings allocated meanwhile
// as live, and the next goal doubles them (we measured 226 MiB of heap in
// use with 4 MiB live). So for it the test sets a soft memory limit of the
// Go runtime's current memory plus half the bound (restored afterwards),
// which makes the GC hold the heap there; a ring the library kept reachable
// would still be live and break the bound. The C backend runs without it:
// a limit counts only Go memory, and this loop's Go heap grows too little
// to reach it, so it could not hide C memory either way.
func checkRSSGrowth(t *testing.T, b Backend, n int, bound int64, cycle func()) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc/self/statm, which only Linux has")
	}
	if b == BackendGo {
		old := debug.SetMemoryLimit(goMemory() + bound/2)
		defer debug.SetMemoryLimit(old)
	}
	for range min(64, n/4) {
		cycle()
	}
	base := rssBytes(t)
	var peak int64
	for i := range n {
		cycle()
		if i%64 == 63 || i == n-1 {
			peak = max(peak, rssBytes(t)-base)
			if peak > bound {
				t.Fatalf("RSS grew by %.1f MiB after %d cycles (bound %d MiB for %d cycles)",
					float64(peak)/(1<<20), i+1, bound>>20, n)
			}
		}
	}
	t.Logf("%d cycles: peak RSS growth %.1f MiB (bound %d MiB), baseline %.1f MiB",
		n, float64(peak)/(1<<20), bound>>20, float64(base)/(1<<20))
}

// TestCloseReleasesMemory: creating and closing default channels (one Push,
// one Pop, both handles closed and dropped) must not grow the RSS.
func TestCloseReleasesMemory(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		n, bound := memCycles()
		checkRSSGrowth(t, b, n, bound, func() {
			p, c, err := New[uint64](Config{Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Push(1); err != nil {
				t.Fatal(err)
			}
			if v, err := c.Pop(); err != nil || v != 1 {
				t.Fatalf("Pop = %d, %v", v, err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestCloseReleasesUsedRing: the same for rings whose memory is in use. A
// default Block ring that has gone round once has every slot page resident
// (the cycle fills and empties it with one batch each way); a DropOldest
// ring writes every stamp when it is created (the cycle pushes and pops one
// item: DropOldest batches are slow under the race detector). Close must
// hand those pages back: without it, each cycle keeps 0.5 MiB (150 MiB
// here). Filling the ring costs time, so these run fewer cycles.
func TestCloseReleasesUsedRing(t *testing.T) {
	cycles, bound := 300, int64(64<<20)
	if testing.Short() || raceEnabled {
		cycles, bound = 100, 32<<20
	}
	full := make([]uint64, DefaultCapacity)
	for i := range full {
		full[i] = uint64(i)
	}
	dst := make([]uint64, DefaultCapacity)
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, bp := range []Backpressure{Block, DropOldest} {
			t.Run(bp.String(), func(t *testing.T) {
				checkRSSGrowth(t, b, cycles, bound, func() {
					p, c, err := New[uint64](Config{Backend: b, Backpressure: bp})
					if err != nil {
						t.Fatal(err)
					}
					k := len(full)
					if bp == DropOldest {
						k = 1
					}
					if n, err := p.PushBatch(full[:k]); n != k || err != nil {
						t.Fatalf("PushBatch = %d, %v", n, err)
					}
					if n, err := c.PopBatch(dst); n != k || err != nil {
						t.Fatalf("PopBatch = %d, %v", n, err)
					}
					if err := c.Close(); err != nil { // the consumer first, this time
						t.Fatal(err)
					}
					if err := p.Close(); err != nil {
						t.Fatal(err)
					}
				})
			})
		}
	})
}

// TestSpillRingCloseReleasesMemory: SpillRing.Close frees the ring at once.
// Each cycle creates a ring of 65536 items, pushes 4096 of them (eight
// pages' worth, so a ring kept until the GC costs 36 KiB) and closes it.
func TestSpillRingCloseReleasesMemory(t *testing.T) {
	n, bound := memCycles()
	items := make([]uint64, 4096)
	eachBackend(t, func(t *testing.T, b Backend) {
		checkRSSGrowth(t, b, n, bound, func() {
			r, err := NewSpillRing(SpillConfig[uint64]{Capacity: DefaultCapacity, Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Push(1); err != nil {
				t.Fatal(err)
			}
			if k, err := r.PushSlice(items); k != len(items) || err != nil {
				t.Fatalf("PushSlice = %d, %v", k, err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		})
	})
}
