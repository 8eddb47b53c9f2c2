package spillring

import (
	"fmt"
	"testing"
)

// BenchmarkPoolCollect times Collect alone, per item, into a sink that
// sums the items, on a pool whose 2 workers each published 4096 items (the
// round joined first, untimed): the collector's own cost, ordered
// (OrderWindow) against unordered, with no waiting for workers in it.
// (make bench's pool-stream-ordered times the whole stream, where ordering
// also makes the collector wait for worker 0 before it may take worker 1's
// batch.) Each iteration runs an untimed round: use -benchtime 20000x.
func BenchmarkPoolCollect(b *testing.B) {
	const items = 4096
	for _, bk := range poolBackends() {
		for _, window := range []int{0, 4} {
			name := fmt.Sprintf("%v/unordered", bk)
			if window != 0 {
				name = fmt.Sprintf("%v/ordered", bk)
			}
			b.Run(name, func(b *testing.B) {
				buf := make([][items]uint64, 2)
				p, err := NewPool(PoolConfig[uint64, uint64]{
					Workers: 2, RingCapacity: 2 * items, OrderWindow: window, Backend: bk,
					Work: func(out *SpillRing[uint64], w int, r uint64) error {
						for j := range buf[w] {
							buf[w][j] = r<<32 | uint64(w)<<16 | uint64(j)
						}
						_, err := out.PushSlice(buf[w][:])
						return err
					},
				})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				var sink sumSpout
				r := uint64(0)
				for b.Loop() {
					b.StopTimer()
					r++
					if err := p.Run(r); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if n, err := p.Collect(&sink); err != nil || n != 2*items {
						b.Fatalf("Collect: %d items, %v", n, err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*items), "ns/item")
			})
		}
	}
}

// sumSpout sums what it takes, so a benchmark's sink reads every item.
type sumSpout struct{ n, sum uint64 }

func (s *sumSpout) Send(v uint64) error { s.n++; s.sum += v; return nil }
func (s *sumSpout) Flush() error        { return nil }
func (s *sumSpout) SendBatch(vs []uint64) (int, error) {
	for _, v := range vs {
		s.sum += v
	}
	s.n += uint64(len(vs))
	return len(vs), nil
}
