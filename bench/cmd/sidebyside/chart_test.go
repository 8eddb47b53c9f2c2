package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteChart draws the committed results (both panels) and checks the
// SVG holds them; with no rows it writes nothing.
func TestWriteChart(t *testing.T) {
	data, err := os.ReadFile("../../results/latest.json")
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "chart.svg")
	if err := writeChart(path, r.Results); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "speed-up over a Go channel", "rtt: a ping-pong", "spsc-batch256", "c11-loop"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	empty := filepath.Join(t.TempDir(), "none.svg")
	if err := writeChart(empty, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("a chart with no rows was written: %v", err)
	}
}
