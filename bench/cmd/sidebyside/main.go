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
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/spillring/spillring"
	"github.com/spillring/spillring/bench"
)

type result struct {
	Scenario  string  `json:"scenario"`
	Impl      string  `json:"impl"`
	NsPerItem float64 `json:"ns_per_item"`
	Runs      int     `json:"runs"`
}

func main() {
	testing.Init()
	runs := flag.Int("runs", 5, "rounds; each runs every pair once")
	benchtime := flag.String("benchtime", "300ms", "time per pair per round")
	out := flag.String("out", "results", "directory for latest.json and latest.txt")
	flag.Parse()
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fail(err)
	}
	start := time.Now()
	procs := runtime.GOMAXPROCS(0)
	cpu := cpuModel()
	fmt.Printf("machine: %s, nproc %d, %s, GOMAXPROCS %d\n", cpu, runtime.NumCPU(), runtime.Version(), procs)

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
	lines := []string{"goos: " + runtime.GOOS, "goarch: " + runtime.GOARCH, "pkg: github.com/spillring/spillring/bench", "cpu: " + cpu}
	n := len(bench.Impls)
	for r := range *runs {
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
		fmt.Fprintf(os.Stderr, "run %d/%d done (%.0fs)\n", r+1, *runs, time.Since(start).Seconds())
	}

	fmt.Printf("\nns/item, median of %d interleaved runs of %s each; %s (SPSC scenarios; mpsc* run unpinned)\n", *runs, *benchtime, bench.PinNote())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\timpl\tmedian\tmin\tmax\tbase/impl\timpl/c11-loop\t")
	var results []result
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
			results = append(results, result{sc.Name, im.Name, math.Round(m*1000) / 1000, len(v)})
		}
	}
	tw.Flush()

	fmt.Println("\nidle CPU of Park (consumer blocked in Pop on an empty channel for 1 s):")
	for _, b := range []struct {
		name    string
		backend spillring.Backend
	}{{"spillring-c", spillring.BackendC}, {"spillring-go", spillring.BackendGo}} {
		pct, err := bench.ParkIdleCPU(b.backend, time.Second)
		if err != nil {
			fail(err)
		}
		fmt.Printf("  %-12s %5.1f%% of one core\n", b.name, pct)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	js, _ := json.MarshalIndent(results, "", "  ")
	write(filepath.Join(*out, "latest.json"), append(js, '\n'))
	write(filepath.Join(*out, "latest.txt"), []byte(strings.Join(lines, "\n")+"\n"))
	fmt.Printf("\nwrote %s/latest.{json,txt}; wall time %.1fs\n", *out, time.Since(start).Seconds())
}

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
