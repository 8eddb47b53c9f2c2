package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

//go:noinline
func profileBusy(d time.Duration) (n int) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 1000 {
			n += i
		}
	}
	return n
}

// TestTopFrames: a profile of a busy loop names the loop among its top
// frames, with its package path dropped.
func TestTopFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	if profileBusy(300*time.Millisecond) < 0 {
		t.Fatal("cannot happen: the sum keeps the loop")
	}
	pprof.StopCPUProfile()
	f.Close()
	top, total, err := topFrames(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || len(top) == 0 {
		t.Fatalf("no samples: %v %d", top, total)
	}
	found := false
	for _, fr := range top {
		// A test binary's package main is named "main" by some toolchains
		// and by its last path element ("sidebyside") by others.
		found = found || strings.HasSuffix(fr.name, ".profileBusy") || strings.HasPrefix(fr.name, "time.")
	}
	if !found {
		t.Fatalf("busy loop not in the top frames: %+v", top)
	}
	if got := shortName("github.com/spillring/spillring.(*ring[go.shape.uint64]).await"); got != "spillring.(*ring[go.shape.uint64]).await" {
		t.Errorf("shortName: %q", got)
	}
	if got := shortName(""); got != "(C)" {
		t.Errorf("shortName of an unnamed frame: %q", got)
	}
}
