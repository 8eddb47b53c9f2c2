package spillring_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spillring/spillring"
)

// srPrinter is a spout that prints what it is sent, one line per call.
type srPrinter struct{}

func (srPrinter) Send(v int) error {
	fmt.Println("spilled", v)
	return nil
}

func (srPrinter) SendBatch(vs []int) (int, error) {
	fmt.Println("spilled batch", vs)
	return len(vs), nil
}

func (srPrinter) Flush() error {
	fmt.Println("flushed")
	return nil
}

// srSink is a spout that keeps what it is sent.
type srSink struct {
	items   []int
	flushed bool
}

func (s *srSink) Send(v int) error {
	s.items = append(s.items, v)
	return nil
}

func (s *srSink) SendBatch(vs []int) (int, error) {
	s.items = append(s.items, vs...)
	return len(vs), nil
}

func (s *srSink) Flush() error {
	s.flushed = true
	return nil
}

func ExampleSpillRing() {
	r, err := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 4, Spout: srPrinter{}})
	if err != nil {
		panic(err)
	}
	for i := range 6 {
		r.Push(i) // the fifth and sixth push spill the oldest item
	}
	fmt.Println(slices.Collect(r.All()))
	v, _ := r.Pop()
	fmt.Println("popped", v)
	fmt.Println("pushed", r.Pushed(), "popped", r.Popped(), "spilled", r.Spilled(), "len", r.Len())
	// Output:
	// spilled 0
	// spilled 1
	// [2 3 4 5]
	// popped 2
	// pushed 6 popped 1 spilled 2 len 3
}

func ExampleNewSpillRing() {
	// No spout: spilled items are dropped, and counted.
	r, err := spillring.NewSpillRing(spillring.SpillConfig[uint64]{Capacity: 8})
	if err != nil {
		panic(err)
	}
	for i := range uint64(100) {
		r.Push(i)
	}
	fmt.Println(slices.Collect(r.All()), "dropped:", r.Spilled())

	_, err = spillring.NewSpillRing(spillring.SpillConfig[uint64]{Capacity: 10})
	fmt.Println(errors.Is(err, spillring.ErrInvalidConfig))
	// Output:
	// [92 93 94 95 96 97 98 99] dropped: 92
	// true
}

func ExampleSpillRing_PushSlice() {
	r, _ := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 4, Spout: srPrinter{}})
	r.PushSlice([]int{0, 1, 2})
	// Four items do not fit: the ring's oldest three leave in one batch.
	n, err := r.PushSlice([]int{3, 4, 5, 6})
	fmt.Println(n, err, slices.Collect(r.All()))
	dst := make([]int, 8)
	n = r.PopSlice(dst)
	fmt.Println(dst[:n])
	// Output:
	// spilled batch [0 1 2]
	// 4 <nil> [3 4 5 6]
	// [3 4 5 6]
}

func ExampleSpillRing_Flush() {
	r, _ := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 4, Spout: srPrinter{}})
	r.PushSlice([]int{1, 2, 3})
	if err := r.Flush(); err != nil {
		panic(err)
	}
	fmt.Println("len", r.Len(), "spilled", r.Spilled())
	// Output:
	// spilled batch [1 2 3]
	// flushed
	// len 0 spilled 3
}

func ExampleSpillRing_chain() {
	// Ring a spills into ring b, which spills into sink.
	sink := &srSink{}
	b, _ := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 4, Spout: sink})
	a, _ := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 2, Spout: b})
	for i := range 10 {
		a.Push(i)
	}
	fmt.Println("a", slices.Collect(a.All()), "b", slices.Collect(b.All()), "sink", sink.items)
	// a's Flush sends a into b, then flushes b, which sends b into sink.
	if err := a.Flush(); err != nil {
		panic(err)
	}
	fmt.Println("sink", sink.items, "flushed", sink.flushed)
	// Output:
	// a [8 9] b [4 5 6 7] sink [0 1 2 3]
	// sink [0 1 2 3 4 5 6 7 8 9] flushed true
}

func ExampleSpillRing_Drain() {
	r, _ := spillring.NewSpillRing(spillring.SpillConfig[string]{Capacity: 4})
	for _, s := range []string{"a", "b", "c"} {
		r.Push(s)
	}
	for s := range r.Drain() { // pops as it goes
		fmt.Print(s, " ")
	}
	fmt.Println(r.Len())
	// Output: a b c 0
}

func ExampleSpillRing_Close() {
	sink := &srSink{}
	r, _ := spillring.NewSpillRing(spillring.SpillConfig[int]{Capacity: 4, Spout: sink})
	r.PushSlice([]int{1, 2, 3})
	// Close discards what the ring holds: pass it on first.
	if err := r.Flush(); err != nil {
		panic(err)
	}
	// The ring's memory is freed now, not when r is collected.
	if err := r.Close(); err != nil {
		panic(err)
	}
	fmt.Println(sink.items, r.Len())
	fmt.Println(errors.Is(r.Push(4), spillring.ErrClosed), errors.Is(r.Close(), spillring.ErrClosed))
	// Output:
	// [1 2 3] 0
	// true true
}
