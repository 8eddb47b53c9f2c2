package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/spillring/spillring/bench"
)

// profileTopFrames is how many frames profiles prints per profile.
const profileTopFrames = 5

// profiles runs every table pair and every pool pair once more under the
// CPU profiler (PROFILE=1 in the Makefile: -profile DIR), writes one
// profile per pair to dir/<scenario>_<impl>.pprof, and prints each
// profile's top frames by flat time, read back with
// github.com/google/pprof/profile. C code shows as _ExternalCode (cgo
// does not symbolise it); `go tool pprof` on a file goes further.
func profiles(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	fmt.Printf("\nCPU profiles in %s (one run of each pair), top %d frames by flat time:\n", dir, profileTopFrames)
	for _, sc := range bench.Scenarios {
		for _, im := range bench.Impls {
			if bench.Supported(sc, im) {
				profilePair(dir, sc.Name, im.Name, bench.Bench(sc, im, bench.RoundItems))
			}
		}
	}
	for _, sc := range bench.PoolScenarios {
		for _, im := range bench.PoolImpls {
			if bench.PoolSupported(sc, im) {
				profilePair(dir, sc.Name, im.Name, bench.PoolBench(sc, im))
			}
		}
	}
}

// profilePair profiles one benchmark and prints its top frames.
func profilePair(dir, scenario, impl string, b func(*testing.B)) {
	path := filepath.Join(dir, scenario+"_"+impl+".pprof")
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail(err)
	}
	testing.Benchmark(b)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		fail(err)
	}
	top, total, err := topFrames(path, profileTopFrames)
	if err != nil {
		fail(err)
	}
	fmt.Printf("  %s / %s (%d samples):", scenario, impl, total)
	for _, fr := range top {
		fmt.Printf(" %s %.0f%%;", fr.name, 100*float64(fr.flat)/float64(max(total, 1)))
	}
	fmt.Println()
}

type frame struct {
	name string
	flat int64
}

// topFrames reads a CPU profile and returns its n functions with the most
// flat samples (the leaf of each stack), and the total.
func topFrames(path string, n int) ([]frame, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	flat := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		if len(s.Value) == 0 {
			continue
		}
		v := s.Value[0] // samples/count
		total += v
		name := ""
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function != nil {
			name = s.Location[0].Line[0].Function.Name
		}
		flat[shortName(name)] += v
	}
	var fs []frame
	for name, v := range flat {
		fs = append(fs, frame{name, v})
	}
	slices.SortFunc(fs, func(a, b frame) int {
		if a.flat != b.flat {
			return int(b.flat - a.flat)
		}
		if a.name < b.name {
			return -1
		}
		return 1
	})
	return fs[:min(n, len(fs))], total, nil
}

// shortName drops a function name's package path (github.com/.../bench.f
// is bench.f); an unnamed frame (C code cgo could not name) is "(C)".
func shortName(name string) string {
	if name == "" {
		return "(C)"
	}
	head := name
	if i := strings.IndexAny(head, "(["); i >= 0 {
		head = head[:i]
	}
	if i := strings.LastIndex(head, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}
