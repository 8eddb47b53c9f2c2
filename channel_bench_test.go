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

// The chunk paths in one goroutine: 16 items built in place with Claim and
// Commit and read in place with ReadClaim and Release, against PushBatch
// and PopBatch of 16 (make bench's spsc-claim16 measures them across
// threads). ns/item is the instruction cost of each path. Run pinned, e.g.
//
//	taskset -c 0 go test -run '^$' -bench ChunkSingleThread -count 8 .
func BenchmarkChunkSingleThread(b *testing.B) {
	const chunk, capacity = 16, 1024
	for _, be := range backends() {
		b.Run(be.String()+"/claim", func(b *testing.B) {
			p, c, err := New[uint64](Config{Capacity: capacity, Backend: be})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var v, sum, want uint64
			for b.Loop() {
				for range capacity / chunk {
					a, s, err := p.Claim(chunk)
					if err != nil {
						b.Fatal(err)
					}
					for i := range a {
						a[i] = v
						want += v
						v++
					}
					for i := range s {
						s[i] = v
						want += v
						v++
					}
					if _, err := p.Commit(len(a) + len(s)); err != nil {
						b.Fatal(err)
					}
				}
				for range capacity / chunk {
					a, s, err := c.ReadClaim(chunk)
					if err != nil {
						b.Fatal(err)
					}
					for _, x := range a {
						sum += x
					}
					for _, x := range s {
						sum += x
					}
					if err := c.Release(len(a) + len(s)); err != nil {
						b.Fatal(err)
					}
				}
			}
			if sum != want {
				b.Fatalf("sum %d, want %d", sum, want)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*capacity), "ns/item")
		})
		b.Run(be.String()+"/batch", func(b *testing.B) {
			p, c, err := New[uint64](Config{Capacity: capacity, Backend: be})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			in, out := make([]uint64, chunk), make([]uint64, chunk)
			var v, sum, want uint64
			for b.Loop() {
				for range capacity / chunk {
					for i := range in {
						in[i] = v
						want += v
						v++
					}
					if _, err := p.PushBatch(in); err != nil {
						b.Fatal(err)
					}
				}
				for range capacity / chunk {
					n, err := c.PopBatch(out)
					if err != nil {
						b.Fatal(err)
					}
					for _, x := range out[:n] {
						sum += x
					}
				}
			}
			if sum != want {
				b.Fatalf("sum %d, want %d", sum, want)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*capacity), "ns/item")
		})
	}
}
