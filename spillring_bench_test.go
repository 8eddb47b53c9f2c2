package spillring

import (
	"testing"
)

// Spilling pushes: every push into a full ring evicts the oldest item into
// the default (discarding) spout, one goroutine, no consumer. Each b.Loop
// iteration runs srBenchBurst pushes, so the b.Loop bookkeeping is spread
// thin; ns/item is per push. Run pinned, e.g.
//
//	taskset -c 0 go test -run '^$' -bench SpillRing -count 5 .

const (
	srBenchCap   = 1024
	srBenchBurst = 1024
)

func BenchmarkSpillRingPushSpill(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			r, err := NewSpillRing(SpillConfig[uint64]{Capacity: srBenchCap, Backend: be})
			if err != nil {
				b.Fatal(err)
			}
			srPushBurst(r, 0) // fill: every push below spills
			b.ReportAllocs()
			var next uint64
			for b.Loop() {
				next = srPushBurst(r, next)
			}
			srReportPerItem(b, srBenchBurst)
			if r.Spilled() == 0 {
				b.Fatal("nothing spilled")
			}
		})
	}
}

// srPushBurst pushes srBenchBurst items starting at v and returns the next v.
func srPushBurst(r *SpillRing[uint64], v uint64) uint64 {
	for range srBenchBurst {
		_ = r.Push(v)
		v++
	}
	return v
}

// BenchmarkSpillRingPushSliceSpill pushes 256-item batches into a full
// ring: each batch evicts 256 items with at most two copies and no spout
// call per item.
func BenchmarkSpillRingPushSliceSpill(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			r, err := NewSpillRing(SpillConfig[uint64]{Capacity: srBenchCap, Backend: be})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]uint64, 256)
			srPushBurst(r, 0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.PushSlice(batch); err != nil {
					b.Fatal(err)
				}
			}
			srReportPerItem(b, len(batch))
		})
	}
}

// srSliceRing is the baseline: a plain Go slice ring with manual eviction
// into a counter, the least a hand-written spilling ring does per push.
type srSliceRing struct {
	buf        []uint64
	head, tail uint64
	dropped    uint64
}

func (s *srSliceRing) push(v uint64) {
	if s.tail-s.head == uint64(len(s.buf)) {
		s.head++
		s.dropped++
	}
	s.buf[s.tail&uint64(len(s.buf)-1)] = v
	s.tail++
}

func BenchmarkSpillRingBaselineSlice(b *testing.B) {
	s := &srSliceRing{buf: make([]uint64, srBenchCap)}
	srSlicePushBurst(s, 0)
	b.ReportAllocs()
	var next uint64
	for b.Loop() {
		next = srSlicePushBurst(s, next)
	}
	srReportPerItem(b, srBenchBurst)
	if s.dropped == 0 {
		b.Fatal("nothing dropped")
	}
}

func srSlicePushBurst(s *srSliceRing, v uint64) uint64 {
	for range srBenchBurst {
		s.push(v)
		v++
	}
	return v
}

func srReportPerItem(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(perOp), "ns/item")
}

// The floors under a spilling Push on this machine, for reading the figures
// above (see the README's SpillRing section):
//   - Registers: the same ring with head, tail and the drop count in locals
//     of the pushing loop, where the compiler keeps them in registers. This
//     is what a ring inlined into its caller's loop gets in a compiled
//     language; no Go method can reach it, since a method's state lives in
//     memory and is stored and reloaded on every call.
//   - Call: an empty method that is not inlined, once per item. Push does
//     not inline (see Push), so this is its floor before any work.
func BenchmarkSpillRingBaselineRegisters(b *testing.B) {
	buf := make([]uint64, srBenchCap)
	var st srRegRing
	b.ReportAllocs()
	for b.Loop() {
		st = srRegPushBurst(buf, st)
	}
	srReportPerItem(b, srBenchBurst)
	if st.dropped == 0 || buf[(st.tail-1)%srBenchCap] != st.v-1 {
		b.Fatal("nothing dropped, or the newest item is wrong")
	}
}

// srRegRing is the state of the Registers baseline, passed by value so that
// srRegPushBurst works on locals (b.Loop keeps its body's locals in memory).
type srRegRing struct{ head, tail, dropped, v uint64 }

func srRegPushBurst(buf []uint64, st srRegRing) srRegRing {
	head, tail, dropped, v := st.head, st.tail, st.dropped, st.v
	mask := uint64(len(buf) - 1)
	for range srBenchBurst {
		if tail-head == uint64(len(buf)) {
			head++
			dropped++
		}
		buf[tail&mask] = v
		tail++
		v++
	}
	return srRegRing{head, tail, dropped, v}
}

func BenchmarkSpillRingBaselineCall(b *testing.B) {
	var s srCallSink
	b.ReportAllocs()
	for b.Loop() {
		for i := range uint64(srBenchBurst) {
			s.take(i)
		}
	}
	srReportPerItem(b, srBenchBurst)
	if s.n == 0 {
		b.Fatal("no call made")
	}
}

type srCallSink struct{ n uint64 }

//go:noinline
func (s *srCallSink) take(v uint64) { s.n += v | 1 }
