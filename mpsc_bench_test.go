package spillring

import "testing"

// The MPSC single-item paths in one goroutine: two handles of a cloned
// Producer push mpscBenchBurst items in turn, then the Consumer pops them,
// so ns/item is one push plus one pop with no other thread involved: the
// instruction cost of the paths, not the cost of sharing lines (make bench's
// mpsc2 and mpsc4 measure that). Run pinned, e.g.
//
//	taskset -c 0 go test -run '^$' -bench MPSCSingleThread -count 8 .
func BenchmarkMPSCSingleThread(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			p, c, err := New[uint64](Config{Capacity: mpscBenchBurst, Backend: be})
			if err != nil {
				b.Fatal(err)
			}
			q, err := p.Clone()
			if err != nil {
				b.Fatal(err)
			}
			handles := [2]*Producer[uint64]{p, q}
			b.ReportAllocs()
			var sum, want uint64
			for b.Loop() {
				for i := range uint64(mpscBenchBurst) {
					if err := handles[i&1].Push(i); err != nil {
						b.Fatal(err)
					}
				}
				for range mpscBenchBurst {
					v, err := c.Pop()
					if err != nil {
						b.Fatal(err)
					}
					sum += v
				}
				want += mpscBenchBurst * (mpscBenchBurst - 1) / 2
			}
			srReportPerItem(b, mpscBenchBurst)
			if sum != want {
				b.Fatalf("popped items sum to %d, want %d", sum, want)
			}
		})
	}
}

const mpscBenchBurst = 1024
