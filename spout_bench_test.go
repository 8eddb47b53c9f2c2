package spillring

import (
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchSpoutBatches sends batches of size items through s and reports the
// cost per item.
func benchSpoutBatches(b *testing.B, s Spout[uint64], size int) {
	vs := make([]uint64, size)
	for i := range vs {
		vs[i] = uint64(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size) * 8)
	for b.Loop() {
		if _, err := s.SendBatch(vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/item")
}

// must unwraps a constructor's result; the arguments here are valid.
func must[S any](s S, err error) S {
	if err != nil {
		panic(err)
	}
	return s
}

// BenchmarkSpoutBatchCounting is the pipeline of the per-item goal: a
// SendBatch through Batch into Counting into a cheap sink, with batches
// the sink owns (a fresh allocation per call) and with borrowed ones.
func BenchmarkSpoutBatchCounting(b *testing.B) {
	for _, mode := range []struct {
		name string
		make func(int, Spout[[]uint64]) (*BatchSpout[uint64], error)
	}{{"owned", Batch[uint64]}, {"borrowed", BatchBorrowed[uint64]}} {
		for _, size := range []int{256, 4096} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode.name, size), func(b *testing.B) {
				counting := must(Counting[[]uint64](Drop[[]uint64]()))
				benchSpoutBatches(b, must(mode.make(64, counting)), size)
			})
		}
	}
}

// BenchmarkSpoutTwoCombinators sends batches through two combinators into
// Drop, for each pair worth comparing.
func BenchmarkSpoutTwoCombinators(b *testing.B) {
	sum := func(g []uint64) uint64 {
		var s uint64
		for _, v := range g {
			s += v
		}
		return s
	}
	pipes := []struct {
		name string
		make func() Spout[uint64]
	}{
		{"Counting-Counting", func() Spout[uint64] {
			return must(Counting[uint64](must(Counting[uint64](Drop[uint64]()))))
		}},
		{"Locked-Counting", func() Spout[uint64] {
			return must(Locked[uint64](must(Counting[uint64](Drop[uint64]()))))
		}},
		{"Batch-Counting", func() Spout[uint64] {
			return must(Batch[uint64](64, must(Counting[[]uint64](Drop[[]uint64]()))))
		}},
		{"BatchBorrowed-Counting", func() Spout[uint64] {
			return must(BatchBorrowed[uint64](64, must(Counting[[]uint64](Drop[[]uint64]()))))
		}},
		{"Reduce-Counting", func() Spout[uint64] {
			return must(Reduce(64, sum, must(Counting[uint64](Drop[uint64]()))))
		}},
		{"Counting-Batch", func() Spout[uint64] {
			return must(Counting[uint64](must(Batch[uint64](64, Drop[[]uint64]()))))
		}},
		{"Batch-Batch", func() Spout[uint64] {
			return must(Batch[uint64](64, must(Batch[[]uint64](4, Drop[[][]uint64]()))))
		}},
	}
	for _, p := range pipes {
		for _, size := range []int{16, 256, 4096} {
			b.Run(fmt.Sprintf("%s/batch=%d", p.name, size), func(b *testing.B) {
				benchSpoutBatches(b, p.make(), size)
			})
		}
	}
}

// BenchmarkSpoutFramed encodes batches into frames for io.Discard.
func BenchmarkSpoutFramed(b *testing.B) {
	codec, err := FixedCodec[uint64]()
	require.NoError(b, err)
	for _, size := range []int{16, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			benchSpoutBatches(b, must(Framed(io.Discard, 1, codec)), size)
		})
	}
}
