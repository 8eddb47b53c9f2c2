// Command sidebyside runs every (scenario, impl) pair of the bench package
// several times, interleaved, and prints and saves the medians.
//
// Interleaving (each round runs every pair once, the impl order rotating
// from round to round) spreads a noisy machine's slow phases over all impls
// instead of one; the median of the runs then drops the outliers.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spillring/spillring"
	"github.com/spillring/spillring/bench"
)

// result is one row of latest.json: a table pair (ns_per_item), a pool
// pair (pool-round-*: ns_per_round; pool-stream*, mergers-*: ns_per_item;
// pipeline2: ns_per_record), an idle CPU
// figure (scenario "idle-cpu", or "idle-cpu-pool" for an idle WorkerPool),
// a loaded pair (scenario "loaded-cap1", "loaded-cap65536":
// items_per_sec and ns_per_item) or a dropoldest impl (scenario
// "dropoldest": delivered items_per_sec and evictions_per_sec, as the
// queue counts them) or a latency pair (scenario "rtt" or "wake":
// percentiles in ns from the pair's merged histogram).
type result struct {
	Scenario    string  `json:"scenario"`
	Impl        string  `json:"impl"`
	Wait        string  `json:"wait,omitempty"`
	NsPerItem   float64 `json:"ns_per_item,omitempty"`
	NsPerRound  float64 `json:"ns_per_round,omitempty"`
	NsPerRecord float64 `json:"ns_per_record,omitempty"`
	ItemsPerSec float64 `json:"items_per_sec,omitempty"`
	IdleCPUPct  float64 `json:"idle_cpu_pct,omitempty"`
	EvictPerSec float64 `json:"evictions_per_sec,omitempty"`
	// Min and Max are the fastest and slowest runs, in the unit of the
	// row's figure (ns per item, round or record; items/s).
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
	Samples int64   `json:"samples,omitempty"`
	P50Ns   int64   `json:"p50_ns,omitempty"`
	P99Ns   int64   `json:"p99_ns,omitempty"`
	P999Ns  int64   `json:"p999_ns,omitempty"`
	MaxNs   int64   `json:"max_ns,omitempty"`
	Runs    int     `json:"runs"`
}

func main() {
	testing.Init()
	runs := flag.Int("runs", 5, "rounds; each runs every pair once")
	benchtime := flag.String("benchtime", "200ms", "time per pair per round")
	out := flag.String("out", "results", "directory for latest.json and latest.txt")
	// 150ms: the pool table's pairs then add about 35s to a default run.
	poolBenchtime := flag.String("poolbenchtime", "150ms", "pool table: time per pair per round")
	idleTime := flag.Duration("idletime", 500*time.Millisecond, "idle CPU: time per strategy")
	poolIdleTime := flag.Duration("poolidletime", time.Second, "idle CPU: time per idle WorkerPool")
	loadedRuns := flag.Int("loadedruns", 3, "loaded: rounds; each runs every pair once")
	loadedTime := flag.Duration("loadedtime", 300*time.Millisecond, "loaded: time per pair per round")
	dropRuns := flag.Int("dropruns", 3, "dropoldest: rounds; each runs every impl once")
	dropTime := flag.Duration("droptime", 300*time.Millisecond, "dropoldest: time per impl per round")
	dropWork := flag.Int("dropwork", bench.DropWork, "dropoldest: the consumer's work per item, in rounds of a multiply-xorshift")
	latencyRuns := flag.Int("latencyruns", 3, "latency: rounds; each runs every pair once")
	latencyTime := flag.Duration("latencytime", 100*time.Millisecond, "latency: time per pair per round")
	profileDir := flag.String("profile", "", "also write a CPU profile of every table and pool pair into this directory, and print their top frames")
	sections := flag.String("sections", "table,pool,idle,loaded,dropoldest,latency", "which sections to run")
	flag.Parse()
	want := map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		want[strings.TrimSpace(s)] = true
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fail(err)
	}
	start := time.Now()
	runStart = start
	lastWall = previousWall(filepath.Join(*out, "latest.json"))
	procs := runtime.GOMAXPROCS(0)
	cpu := cpuModel()
	fmt.Printf("machine: %s, nproc %d, %s, GOMAXPROCS %d\n", cpu, runtime.NumCPU(), runtime.Version(), procs)

	var results []result
	lines := []string{"goos: " + runtime.GOOS, "goarch: " + runtime.GOARCH, "pkg: github.com/spillring/spillring/bench", "cpu: " + cpu}
	if want["table"] {
		results, lines = table(*runs, *benchtime, procs, start, results, lines)
	}
	if want["pool"] {
		results, lines = poolTable(*runs, *poolBenchtime, procs, results, lines)
	}
	if want["idle"] {
		results = idle(*idleTime, *poolIdleTime, results)
	}
	if want["loaded"] {
		results = loaded(*loadedRuns, *loadedTime, results)
	}
	if want["dropoldest"] {
		results = dropOldest(*dropRuns, *dropTime, *dropWork, results)
	}
	if want["latency"] {
		results = latency(*latencyRuns, *latencyTime, results)
	}
	if *profileDir != "" {
		profiles(*profileDir)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	js, _ := json.MarshalIndent(report{Machine: machine(cpu), Commit: gitCommit(), Date: start.UTC().Format(time.RFC3339),
		WallSeconds: math.Round(time.Since(start).Seconds()*10) / 10, Results: results}, "", "  ")
	write(filepath.Join(*out, "latest.json"), append(js, '\n'))
	write(filepath.Join(*out, "latest.txt"), []byte(strings.Join(lines, "\n")+"\n"))
	if err := writeChart(filepath.Join(*out, "latest.svg"), results); err != nil {
		fail(err)
	}
	fmt.Printf("\nwrote %s/latest.{json,txt,svg}; wall time %.1fs\n", *out, time.Since(start).Seconds())
}

// table runs every (scenario, impl) pair and prints the main table.
func table(runs int, benchtime string, procs int, start time.Time, results []result, lines []string) ([]result, []string) {
	// Preflight: every pair moves and checks items before any timing, so a
	// broken pair fails here with its reason (testing.Benchmark drops the
	// b.Fatal message).
	for _, sc := range bench.Scenarios {
		for _, im := range bench.Impls {
			if !bench.Supported(sc, im) {
				continue
			}
			if err := bench.Rounds(sc, im, 2*bench.Capacity, 1); err != nil {
				fail(err)
			}
		}
	}

	ns := map[[2]string][]float64{}
	n := len(bench.Impls)
	for r := range runs {
		for _, sc := range bench.Scenarios {
			for j := range n {
				im := bench.Impls[(j+r)%n]
				if !bench.Supported(sc, im) {
					continue
				}
				br := testing.Benchmark(bench.Bench(sc, im, bench.RoundItems))
				if br.N == 0 {
					fail(fmt.Errorf("%s/%s failed; rerun: go test -run TestPairs", sc.Name, im.Name))
				}
				k := [2]string{sc.Name, im.Name}
				ns[k] = append(ns[k], br.Extra["ns/item"])
				name := fmt.Sprintf("BenchmarkSideBySide/%s/%s", sc.Name, im.Name)
				if procs != 1 {
					name += fmt.Sprintf("-%d", procs)
				}
				lines = append(lines, fmt.Sprintf("%s\t%s\t%s", name, br.String(), br.MemString()))
			}
		}
		progress("", r+1, runs, start)
	}

	fmt.Printf("\nns/item, median of %d interleaved runs of %s each; %s (SPSC scenarios; mpsc* run unpinned)\n", runs, benchtime, bench.PinNote())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\timpl\tmedian\tmin\tmax\tbase/impl\timpl/c11-loop\t")
	for _, sc := range bench.Scenarios {
		med := func(im string) float64 { return median(ns[[2]string{sc.Name, im}]) }
		base := "chan" // the SpillRing scenarios compare with a plain slice ring
		if sc.Spill {
			base = "go-slice"
		}
		for _, im := range bench.Impls {
			v := ns[[2]string{sc.Name, im.Name}]
			if len(v) == 0 {
				continue // not part of this scenario
			}
			m := med(im.Name)
			c11 := "-"
			if ref := med("c11-loop"); ref > 0 {
				c11 = fmt.Sprintf("%.2fx", m/ref)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.2fx %s\t%s\t\n", sc.Name, im.Name,
				m, slices.Min(v), slices.Max(v), med(base)/m, base, c11)
			results = append(results, result{Scenario: sc.Name, Impl: im.Name, NsPerItem: round3(m),
				Min: round3(slices.Min(v)), Max: round3(slices.Max(v)), Runs: len(v)})
		}
	}
	tw.Flush()
	if sp := ns[[2]string{"spsc-single", "spillring-c-spinyield"}]; len(sp) > 0 {
		fmt.Println("\ndefault wait strategy vs SpinYield(100), spsc-single (median ns/item; goal: default within 1.10x):")
		for _, b := range bench.Backends {
			d, y := median(ns[[2]string{"spsc-single", b.Name}]), median(ns[[2]string{"spsc-single", b.Name + "-spinyield"}])
			fmt.Printf("  %-12s default %.2f, spinyield %.2f: %.2fx\n", b.Name, d, y, d/y)
		}
	}
	for _, sc := range []string{"spsc-claim16", "mpsc2-claim16", "spsc-claim16-64b"} {
		ch := median(ns[[2]string{sc, "chan"}])
		if ch == 0 {
			continue
		}
		what := "goals: claims 1.3x faster than pushbatch, 30x faster than chan"
		if sc == "spsc-claim16-64b" {
			what = "64-byte records, where the copies cost more; the goals are set for uint64s"
		}
		fmt.Printf("\n%s: claims vs PushBatch/PopBatch of %d and chan (median ns/item, same run; %s):\n",
			sc, bench.ClaimChunk, what)
		for _, b := range bench.Backends {
			cl, pb := median(ns[[2]string{sc, b.Name}]), median(ns[[2]string{sc, b.Name + "-pushbatch"}])
			fmt.Printf("  %-12s claim %.2f, pushbatch %.2f: %.2fx faster; chan %.2f: %.1fx faster\n", b.Name, cl, pb, pb/cl, ch, ch/cl)
		}
	}
	return results, lines
}

// poolTable runs every WorkerPool (scenario, impl) pair like table does,
// for benchtime each, and prints their table: ns/round for pool-round-*,
// ns/item for pool-stream*, ns/record for pipeline2, with the speed-up over
// the scenario's base; then, per impl, each ordered scenario's median over
// its unordered twin's (both from this run), and pipeline2's goal.
func poolTable(runs int, benchtime string, procs int, results []result, lines []string) ([]result, []string) {
	for _, sc := range bench.PoolScenarios {
		for _, im := range bench.PoolImpls {
			if bench.PoolSupported(sc, im) {
				if err := bench.PoolRounds(sc, im, 3); err != nil {
					fail(err)
				}
			}
		}
	}
	// testing.Benchmark takes its time from the test flag; table's is
	// restored after.
	old := flag.Lookup("test.benchtime").Value.String()
	if err := flag.Set("test.benchtime", benchtime); err != nil {
		fail(err)
	}
	defer func() { _ = flag.Set("test.benchtime", old) }()

	ns := map[[2]string][]float64{}
	n := len(bench.PoolImpls)
	start := time.Now()
	for r := range runs {
		for _, sc := range bench.PoolScenarios {
			for j := range n {
				im := bench.PoolImpls[(j+r)%n]
				if !bench.PoolSupported(sc, im) {
					continue
				}
				br := testing.Benchmark(bench.PoolBench(sc, im))
				if br.N == 0 {
					fail(fmt.Errorf("%s/%s failed; rerun: go test -run TestPoolPairs", sc.Name, im.Name))
				}
				k := [2]string{sc.Name, im.Name}
				ns[k] = append(ns[k], br.Extra[sc.Metric()])
				name := fmt.Sprintf("BenchmarkSideBySide/%s/%s", sc.Name, im.Name)
				if procs != 1 {
					name += fmt.Sprintf("-%d", procs)
				}
				lines = append(lines, fmt.Sprintf("%s\t%s\t%s", name, br.String(), br.MemString()))
			}
		}
		progress("pool ", r+1, runs, start)
	}

	fmt.Printf("\nWorkerPool: ns/round (pool-round-N: Dispatch + Join of N workers pushing one item each, then Collect),\n"+
		"ns/item (pool-stream: 2 workers push %d items each per round, collected while they run; pool-stream-ordered: the same on\n"+
		"an ordered pool, the sink checking the order; mergers-M: 4 workers, collected by M Mergers on goroutines of their own) and\n"+
		"ns/record (pipeline2: %d-record chunks through two stages, a one-worker ordered pool each, pinned to CPUs of their own),\n"+
		"median of %d interleaved runs of %s each;\n"+
		"%s\n", bench.StreamItems, bench.PipeChunk, runs, benchtime, bench.PoolPinNote())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\timpl\tunit\tmedian\tmin\tmax\tbase/impl\t")
	med := func(sc, im string) float64 { return median(ns[[2]string{sc, im}]) }
	for _, sc := range bench.PoolScenarios {
		base, label := med(sc.BaseScenario(), sc.Base()), sc.Base()
		if sc.BaseScenario() != sc.Name {
			label += " (" + sc.BaseScenario() + ")" // an ordered twin: its peers run the unordered scenario
		}
		for _, im := range bench.PoolImpls {
			v := ns[[2]string{sc.Name, im.Name}]
			if len(v) == 0 {
				continue // not part of this scenario
			}
			m := median(v)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2fx %s\t\n", sc.Name, im.Name, sc.Metric(),
				m, slices.Min(v), slices.Max(v), base/m, label)
			row := result{Scenario: sc.Name, Impl: im.Name, Min: round3(slices.Min(v)), Max: round3(slices.Max(v)), Runs: len(v)}
			switch sc.Metric() {
			case "ns/record":
				row.NsPerRecord = round3(m)
			case "ns/item":
				row.NsPerItem = round3(m)
			default:
				row.NsPerRound = round3(m)
			}
			results = append(results, row)
		}
	}
	tw.Flush()
	for _, sc := range bench.PoolScenarios {
		if sc.Unordered == "" {
			continue
		}
		fmt.Printf("\nordered vs unordered collection, %s over %s (median %s, same run; goal: ordered within 1.10x):\n",
			sc.Name, sc.Unordered, sc.Metric())
		for _, im := range bench.PoolImpls {
			o, u := med(sc.Name, im.Name), med(sc.Unordered, im.Name)
			if o > 0 && u > 0 {
				fmt.Printf("  %-14s unordered %.2f, ordered %.2f: %.2fx\n", im.Name, u, o, o/u)
			}
		}
	}
	for _, sc := range bench.PoolScenarios {
		if !sc.Pipeline {
			continue
		}
		base := med(sc.Name, sc.Base())
		fmt.Printf("\n%s vs %s (median %s, same run; goal: spillring at least 5x faster):\n", sc.Name, sc.Base(), sc.Metric())
		for _, im := range bench.PoolImpls {
			if m := med(sc.Name, im.Name); m > 0 && im.Name != sc.Base() {
				fmt.Printf("  %-14s %.2f vs %.2f: %.2fx faster\n", im.Name, m, base, base/m)
			}
		}
	}
	return results, lines
}

// idle prints and records the idle CPU of every strategy on both backends,
// then of an idle WorkerPool on both.
func idle(d, poolD time.Duration, results []result) []result {
	fmt.Printf("\nidle CPU (consumer blocked in Pop on an empty channel for %v; goal for the default: ~0%%):\n", d)
	for _, w := range bench.Waits {
		for _, b := range bench.Backends {
			pct, err := bench.IdleCPU(b.Backend, w.Wait, d)
			if err != nil {
				fail(err)
			}
			fmt.Printf("  %-12s %-22s %5.1f%% of one core\n", b.Name, w.Name, pct)
			results = append(results, result{Scenario: "idle-cpu", Impl: b.Name, Wait: w.Name, IdleCPUPct: math.Round(pct*10) / 10, Runs: 1})
		}
	}
	fmt.Printf("idle WorkerPool (2 workers waiting for a round, after one, for %v; goal: ~0%%):\n", poolD)
	for _, name := range bench.IdlePools {
		pct, err := bench.IdlePoolCPU(name, poolD)
		if err != nil {
			fail(err)
		}
		fmt.Printf("  %-12s %-22s %5.1f%% of one core\n", name, bench.Waits[0].Name, pct)
		results = append(results, result{Scenario: "idle-cpu-pool", Impl: name, Wait: bench.Waits[0].Name, IdleCPUPct: math.Round(pct*10) / 10, Runs: 1})
	}
	return results
}

// loaded runs spsc-single with burner processes on every CPU, for every
// strategy on both backends and a Go channel, at capacity 1 and the default
// capacity, interleaved like the table.
func loaded(runs int, d time.Duration, results []result) []result {
	pairs := bench.LoadedPairs()
	fmt.Fprintf(os.Stderr, "loaded: starting %d burner processes\n", bench.LoadedBurners)
	burners, err := bench.StartBurners(bench.LoadedBurners)
	if err != nil {
		fail(err)
	}
	rates := map[[2]int][]float64{} // (pair, capacity)
	start := time.Now()
	for r := range runs {
		for j := range pairs {
			k := (j + r) % len(pairs)
			for _, capacity := range bench.LoadedCapacities {
				rate, err := pairs[k].Run(capacity, d)
				if err != nil {
					_, _ = burners.Stop()
					fail(err)
				}
				rates[[2]int{k, capacity}] = append(rates[[2]int{k, capacity}], rate)
			}
		}
		progress("loaded ", r+1, runs, start)
	}
	share, err := burners.Stop()
	if err != nil {
		fail(err)
	}

	fmt.Printf("\nloaded: spsc-single with %d CPU-burning processes on the %d CPUs (each burner got %.0f%% of a core), unpinned;\n"+
		"items/s, median of %d interleaved runs of %v (goals: every strategy >= 100k at capacity 1 and >= 1M at %d; the default within 2x of chan)\n",
		bench.LoadedBurners, runtime.NumCPU(), 100*share, runs, d, spillring.DefaultCapacity)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "impl\twait\t")
	for _, capacity := range bench.LoadedCapacities {
		fmt.Fprintf(tw, "cap %d\tmin\tmax\t", capacity)
	}
	fmt.Fprintln(tw)
	med := func(k, capacity int) float64 { return median(rates[[2]int{k, capacity}]) }
	for k, p := range pairs {
		w := p.Wait
		if w == "" {
			w = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t", p.Impl, w)
		for _, capacity := range bench.LoadedCapacities {
			v := rates[[2]int{k, capacity}]
			fmt.Fprintf(tw, "%s\t%s\t%s\t", si(med(k, capacity)), si(slices.Min(v)), si(slices.Max(v)))
			results = append(results, result{Scenario: fmt.Sprintf("loaded-cap%d", capacity), Impl: p.Impl, Wait: p.Wait,
				Min: math.Round(slices.Min(v)), Max: math.Round(slices.Max(v)),
				ItemsPerSec: math.Round(med(k, capacity)), NsPerItem: round3(1e9 / med(k, capacity)), Runs: len(v)})
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	ch := len(pairs) - 1 // chan is last
	for k, p := range pairs {
		if p.Wait != bench.Waits[0].Name {
			continue
		}
		fmt.Printf("  %s default vs chan:", p.Impl)
		for _, capacity := range bench.LoadedCapacities {
			fmt.Printf("  cap %d: %.2fx chan's items/s", capacity, med(k, capacity)/med(ch, capacity))
		}
		fmt.Println()
	}
	return results
}

// dropOldest runs every dropoldest impl runs times for d each,
// interleaved like loaded (the impl order rotating each round), and prints
// delivered items/s, the queue's evictions and each spillring impl's ratio
// to the better go-diodes impl. Every run checks its accounting; a failed
// check ends the driver.
func dropOldest(runs int, d time.Duration, work int, results []result) []result {
	if runs < 1 {
		return results
	}
	impls := bench.DropImpls
	type agg struct {
		rate, pushed, evict, share []float64 // share: evicted over pushed
		skipped, stranded          uint64
	}
	got := make([]agg, len(impls))
	workNs := bench.DropWorkNs(work, 1<<20)
	start := time.Now()
	for r := range runs {
		for j := range impls {
			k := (j + r) % len(impls)
			res, err := impls[k].Run(d, work)
			if err != nil {
				fail(err)
			}
			a := &got[k]
			a.rate = append(a.rate, res.Rate())
			a.pushed = append(a.pushed, float64(res.Pushed)/res.Elapsed.Seconds())
			a.evict = append(a.evict, res.EvictRate())
			a.share = append(a.share, float64(res.Evicted)/float64(res.Pushed))
			a.skipped += res.Skipped
			a.stranded += res.Stranded
		}
		progress("dropoldest ", r+1, runs, start)
	}

	fmt.Printf("\ndropoldest: one producer pushing u64 items as fast as it can, one consumer doing %d rounds of work per item\n"+
		"(%.1f ns alone: at most %s items/s), capacity %d, unpinned; delivered items/s, median of %d interleaved runs of %v;\n"+
		"every run checks that each item pushed was delivered or counted as dropped (goal: spillring >= 3x the better go-diodes impl)\n",
		work, workNs, si(1e9/workNs), bench.DropCapacity, runs, d)
	best := -1 // the go-diodes impl with the higher median
	for k, im := range impls {
		if strings.HasPrefix(im.Name, "diodes") && (best < 0 || median(got[k].rate) > median(got[best].rate)) {
			best = k
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "impl\tdelivered/s\tmin\tmax\tpushed/s\tevicted/s\tevicted %%\tvs %s\t\n", impls[best].Name)
	for k, im := range impls {
		a := got[k]
		m, p, e := median(a.rate), median(a.pushed), median(a.evict)
		ratio := "-"
		if !strings.HasPrefix(im.Name, "diodes") {
			ratio = fmt.Sprintf("%.2fx", m/median(got[best].rate))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t%s\t\n", im.Name, si(m), si(slices.Min(a.rate)), si(slices.Max(a.rate)),
			si(p), si(e), 100*median(a.share), ratio)
		results = append(results, result{Scenario: "dropoldest", Impl: im.Name, ItemsPerSec: math.Round(m), EvictPerSec: math.Round(e),
			Min: math.Round(slices.Min(a.rate)), Max: math.Round(slices.Max(a.rate)), Runs: len(a.rate)})
	}
	tw.Flush()
	for k, im := range impls {
		if a := got[k]; a.skipped > 0 || a.stranded > 0 {
			fmt.Printf("  %s: %d write indexes skipped over the %d runs (\"Diode set collision\"): its Alerter counts each one\n"+
				"    the reader passes as a dropped item, though none was; %d items stranded behind one at the runs' ends, neither\n"+
				"    delivered nor reported\n",
				im.Name, a.skipped, len(a.rate), a.stranded)
		}
	}
	return results
}

// si formats items per second.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sidebyside:", err)
	os.Exit(1)
}

// latency runs every latency pair runs times for d each, interleaved (the
// pair order rotating each round), merges each pair's histograms, and
// prints the percentiles with the goals: the spinning strategies'
// rtt p50 within 1.2x of c11-loop's and their p99.9 within 3x of their own
// p50; the default's rtt p99 no worse than chan's.
func latency(runs int, d time.Duration, results []result) []result {
	pairs := bench.LatencyPairs()
	hs := make([]*hdrhistogram.Histogram, len(pairs))
	for k := range hs {
		hs[k] = bench.NewHistogram()
	}
	start := time.Now()
	for r := range runs {
		for j := range pairs {
			k := (j + r) % len(pairs)
			if err := pairs[k].Run(d, hs[k]); err != nil {
				fail(fmt.Errorf("%s/%s/%s: %w", pairs[k].Scenario, pairs[k].Impl, pairs[k].Wait, err))
			}
		}
		progress("latency ", r+1, runs, start)
	}
	fmt.Printf("\nlatency: ns, percentiles of every sample of %d interleaved runs of %v (HdrHistogram, 3 digits); %s;\n"+
		"rtt: a ping-pong over two channels, one item in flight, timed per round trip on the pinging thread;\n"+
		"latency-loaded: push to pop of timestamped items sent at half the pair's flat-out rate;\n"+
		"wake: push to the return of a Pop that was asleep (the producer waits %v before each push)\n",
		runs, d, bench.PinNote(), bench.WakeGap)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\timpl\twait\tsamples\tp50\tp99\tp99.9\tmax\t")
	q := func(k int, p float64) int64 { return hs[k].ValueAtQuantile(p) }
	find := func(sc, impl, wait string) int {
		for k, p := range pairs {
			if p.Scenario == sc && p.Impl == impl && p.Wait == wait {
				return k
			}
		}
		return -1
	}
	for k, p := range pairs {
		w := p.Wait
		if w == "" {
			w = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", p.Scenario, p.Impl, w, hs[k].TotalCount(), q(k, 50), q(k, 99), q(k, 99.9), hs[k].Max())
		results = append(results, result{Scenario: p.Scenario, Impl: p.Impl, Wait: p.Wait, Samples: hs[k].TotalCount(),
			P50Ns: q(k, 50), P99Ns: q(k, 99), P999Ns: q(k, 99.9), MaxNs: hs[k].Max(), Runs: runs})
	}
	tw.Flush()
	c11, ch := find("rtt", "c11-loop", ""), find("rtt", "chan", "")
	fmt.Println("rtt goals (spinning strategies: p50 within 1.2x of c11-loop's, p99.9 within 3x of their own p50; the default: p99 no worse than chan's):")
	for _, b := range bench.Backends {
		for _, w := range []string{"Spin", "SpinYield(100)"} {
			k := find("rtt", b.Name, w)
			fmt.Printf("  %-12s %-15s p50 %.2fx c11-loop's, p99.9 %.2fx its p50\n", b.Name, w,
				float64(q(k, 50))/float64(q(c11, 50)), float64(q(k, 99.9))/float64(q(k, 50)))
		}
		k := find("rtt", b.Name, bench.Waits[0].Name)
		fmt.Printf("  %-12s %-15s p99 %.2fx chan's\n", b.Name, "default", float64(q(k, 99))/float64(q(ch, 99)))
	}
	return results
}

// report is latest.json: where and when the run was made, then its rows.
type report struct {
	Machine     machineInfo `json:"machine"`
	Commit      string      `json:"commit"`
	Date        string      `json:"date"`
	WallSeconds float64     `json:"wall_seconds"`
	Results     []result    `json:"results"`
}

type machineInfo struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	GCC        string `json:"gcc"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

func machine(cpu string) machineInfo {
	return machineInfo{CPU: cpu, Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		GCC: commandLine("gcc", "-dumpfullversion"), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// gitCommit is the commit the run measured, with "-dirty" when the work
// tree had changes, or "unknown" outside a git checkout.
func gitCommit() string {
	c := commandLine("git", "rev-parse", "--short=12", "HEAD")
	if c == "unknown" {
		return c
	}
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		c += "-dirty"
	}
	return c
}

// commandLine is the first line of a command's output, or "unknown".
func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// runStart is when the run began; lastWall is the wall time of the run
// that wrote the previous latest.json (0: none), the ETA's yardstick.
var (
	runStart time.Time
	lastWall float64
)

// previousWall reads wall_seconds from a previous latest.json, or 0.
func previousWall(path string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var r report
	if json.Unmarshal(data, &r) != nil {
		return 0
	}
	return r.WallSeconds
}

// progress reports round r of runs of a section that began at start, with
// how long the section still needs at its pace so far and, when a previous
// run's wall time is known, about how long the whole run still needs.
func progress(section string, r, runs int, start time.Time) {
	el := time.Since(start).Seconds()
	msg := fmt.Sprintf("%srun %d/%d done (%.0fs; this section ~%.0fs more", section, r, runs, el, el/float64(r)*float64(runs-r))
	if lastWall > 0 {
		if left := lastWall - time.Since(runStart).Seconds(); left > 0 {
			msg += fmt.Sprintf("; the whole run ~%.0fs more, by the last run's %.0fs", left, lastWall)
		}
	}
	fmt.Fprintln(os.Stderr, msg+")")
}
