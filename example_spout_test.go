package spillring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spillring/spillring"
)

func ExampleDrop() {
	s := spillring.Drop[int]()
	s.Send(1)
	s.SendBatch([]int{2, 3, 4})
	fmt.Println("dropped:", s.Dropped())
	// Output: dropped: 4
}

func ExampleCollect() {
	s := spillring.Collect[string]()
	words := []string{"a", "b"}
	s.SendBatch(words)
	words[0] = "z" // the spout copied the items
	s.Send("c")
	fmt.Println(s.Items())
	got := s.Take()
	fmt.Println(got, s.Len())
	// Output:
	// [a b c]
	// [a b c] 0
}

func ExampleFunc() {
	errNegative := errors.New("negative")
	s, _ := spillring.Func(func(v int) error {
		if v < 0 {
			return errNegative
		}
		fmt.Println("got", v)
		return nil
	}, nil)
	n, err := s.SendBatch([]int{1, 2, -3, 4})
	fmt.Println("taken:", n, err) // -3 and 4 are still the caller's
	// Output:
	// got 1
	// got 2
	// taken: 2 negative
}

func ExampleBatch() {
	out := spillring.Collect[[]int]()
	s, _ := spillring.Batch(3, out)
	s.SendBatch([]int{1, 2, 3, 4, 5, 6, 7}) // two full batches, in one call to out
	s.Send(8)
	fmt.Println(out.Items())
	s.Flush() // the partial batch
	fmt.Println(out.Items())
	// Output:
	// [[1 2 3] [4 5 6]]
	// [[1 2 3] [4 5 6] [7 8]]
}

func ExampleBatchBorrowed() {
	// The inner spout only looks at each batch during the call, so the
	// batches can be views of the caller's slice: nothing is copied.
	sums, _ := spillring.Func(func(b []int) error {
		total := 0
		for _, v := range b {
			total += v
		}
		fmt.Println(len(b), "items, sum", total)
		return nil
	}, nil)
	s, _ := spillring.BatchBorrowed(4, sums)
	s.SendBatch([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	s.Flush()
	// Output:
	// 4 items, sum 10
	// 4 items, sum 26
	// 2 items, sum 19
}

func ExampleReduce() {
	sums := spillring.Collect[int]()
	s, _ := spillring.Reduce(4, func(g []int) int {
		total := 0
		for _, v := range g {
			total += v
		}
		return total
	}, sums)
	s.SendBatch([]int{1, 1, 1, 1, 2, 2, 2, 2, 5})
	s.Flush()
	fmt.Println(sums.Items())
	// Output: [4 8 5]
}

func ExampleChan() {
	ch := make(chan int, 2)
	ctx, cancel := context.WithCancel(context.Background())
	s, _ := spillring.Chan(ctx, ch)
	n, err := s.SendBatch([]int{1, 2})
	fmt.Println(n, err)

	cancel() // the channel is full: a send would wait for ever
	err = s.Send(3)
	fmt.Println(errors.Is(err, context.Canceled), len(ch))
	// Output:
	// 2 <nil>
	// true 2
}

func ExampleTryChan() {
	ch := make(chan string, 1)
	s, _ := spillring.TryChan(ch)
	fmt.Println(s.Send("first"))
	fmt.Println(errors.Is(s.Send("second"), spillring.ErrFull))
	close(ch)
	<-ch
	fmt.Println(errors.Is(s.Send("third"), spillring.ErrClosed))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleToProducer() {
	// Stage 1 pushes numbers into a channel; stage 2 pops them, sums every
	// four, and pushes the sums into a second channel.
	p1, c1, _ := spillring.Make[int](16)
	p2, c2, _ := spillring.Make[int](16)
	next, _ := spillring.ToProducer(p2)
	sums, _ := spillring.Reduce(4, func(g []int) int {
		return g[0] + g[1] + g[2] + g[3]
	}, next)

	go func() {
		for i := range 12 {
			p1.Push(i)
		}
		p1.Close()
	}()
	go func() {
		for v := range c1.All() {
			sums.Send(v)
		}
		sums.Flush()
		p2.Close()
	}()
	for v := range c2.All() {
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 6 22 38
}

func ExampleCounting() {
	p, _, _ := spillring.New[int](spillring.Config{Capacity: 4, Backpressure: spillring.Reject})
	into, _ := spillring.ToProducer(p)
	s, _ := spillring.Counting[int](into)
	s.SendBatch([]int{1, 2, 3})
	s.SendBatch([]int{4, 5, 6}) // the channel has room for one
	st := s.Stats()
	fmt.Printf("items %d, refused %d, batches %d, errors %d\n", st.Items, st.Refused, st.Batches, st.Errors)
	// Output: items 4, refused 2, batches 2, errors 1
}

func ExampleFramed() {
	type point struct{ X, Y int32 }
	codec, _ := spillring.FixedCodec[point]()

	var stream bytes.Buffer
	a, _ := spillring.Framed(&stream, 1, codec)
	b, _ := spillring.Framed(&stream, 2, codec)
	a.SendBatch([]point{{1, 2}, {3, 4}}) // one Write for the batch
	b.Send(point{5, 6})

	r, _ := spillring.NewFrameReader(&stream, codec, 0)
	for {
		id, p, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(id, p)
	}
	// Output:
	// 1 {1 2}
	// 1 {3 4}
	// 2 {5 6}
}

func ExampleSequenced() {
	out := spillring.Collect[string]()
	// Two workers produce one batch each per round; rounds come out in order.
	s, _ := spillring.Sequenced[string](out, spillring.SequencedConfig{Parts: 2})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for round := 2; round >= 0; round-- { // finishing in reverse order
				s.Submit(uint64(round), []string{fmt.Sprintf("r%d", round)})
			}
		})
	}
	wg.Wait()
	s.Flush()
	fmt.Println(out.Items(), s.Next())
	// Output: [r0 r0 r1 r1 r2 r2] 3
}

func ExampleLocked() {
	out := spillring.Collect[int]()
	s, _ := spillring.Locked[int](out)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			s.SendBatch([]int{g, g, g}) // arrives whole, never interleaved
		})
	}
	wg.Wait()
	fmt.Println(out.Len())
	// Output: 12
}
