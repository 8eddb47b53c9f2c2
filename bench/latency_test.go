package bench

import (
	"testing"
	"time"
)

// TestLatencyPairs: every latency pair runs, records samples, and checks
// its items (a pair whose check fails returns an error).
func TestLatencyPairs(t *testing.T) {
	for _, lp := range LatencyPairs() {
		t.Run(lp.Scenario+"/"+lp.Impl+"/"+lp.Wait, func(t *testing.T) {
			h := NewHistogram()
			if err := lp.Run(20*time.Millisecond, h); err != nil {
				t.Fatal(err)
			}
			if h.TotalCount() == 0 {
				t.Fatal("no samples")
			}
			if p50 := h.ValueAtQuantile(50); p50 <= 0 || p50 > int64(time.Second) {
				t.Fatalf("p50 %d ns", p50)
			}
		})
	}
}
