package spillring

import "testing"

// The SPSC single-item paths in one goroutine, per backpressure: Push a
// burst, then Pop it, so ns/item is one push plus one pop with no other
// thread involved (the instruction cost of the paths; make bench measures
// the cross-thread cost). DropOldest pops win head by a CAS (C1) and free
// the slot's stamp (R3), where Block's pop is one store: the difference is
// the price of eviction. Run pinned, e.g.
//
//	taskset -c 0 go test -run '^$' -bench PushPopSingleThread -count 8 .
func BenchmarkPushPopSingleThread(b *testing.B) {
	const burst = 64
	for _, be := range backends() {
		for _, bp := range []Backpressure{Block, DropOldest} {
			b.Run(be.String()+"/"+bp.String(), func(b *testing.B) {
				p, c, err := New[uint64](Config{Capacity: burst, Backend: be, Backpressure: bp})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				var sum, want uint64
				for b.Loop() {
					for i := range uint64(burst) {
						if err := p.Push(i); err != nil {
							b.Fatal(err)
						}
					}
					for range burst {
						v, err := c.Pop()
						if err != nil {
							b.Fatal(err)
						}
						sum += v
					}
					want += burst * (burst - 1) / 2
				}
				if sum != want {
					b.Fatalf("popped sum %d, want %d", sum, want)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burst), "ns/item")
			})
		}
	}
}
