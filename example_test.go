package spillring_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/spillring/spillring"
)

func ExampleNew() {
	p, c, err := spillring.New[int](spillring.Config{Capacity: 8})
	if err != nil {
		panic(err)
	}
	go func() {
		for i := range 5 {
			if err := p.Push(i * i); err != nil {
				panic(err)
			}
		}
		p.Close() // the consumer drains, then sees the end
	}()
	for v := range c.All() {
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 0 1 4 9 16
}

func ExampleMake() {
	p, c, err := spillring.Make[string](4)
	if err != nil {
		panic(err)
	}
	p.Push("hello")
	v, err := c.Pop()
	fmt.Println(v, err)
	// Output: hello <nil>
}

func ExampleBackpressure_dropOldest() {
	p, c, _ := spillring.New[int](spillring.Config{Capacity: 4, Backpressure: spillring.DropOldest})
	for i := range 10 {
		p.Push(i) // never blocks: the oldest item makes room
	}
	p.Close()
	var got []int
	for v := range c.All() {
		got = append(got, v)
	}
	fmt.Println(got, "evicted:", p.Evicted())
	// Output: [6 7 8 9] evicted: 6
}

func ExampleBackpressure_reject() {
	p, _, _ := spillring.New[int](spillring.Config{Capacity: 2, Backpressure: spillring.Reject})
	fmt.Println(p.Push(1), p.Push(2))
	err := p.Push(3)
	fmt.Println(errors.Is(err, spillring.ErrFull))
	// Output:
	// <nil> <nil>
	// true
}

func ExampleProducer_PushBatch() {
	p, c, _ := spillring.New[int](spillring.Config{Capacity: 4, Backpressure: spillring.Reject})
	n, err := p.PushBatch([]int{1, 2, 3, 4, 5, 6})
	fmt.Println("taken:", n, errors.Is(err, spillring.ErrFull))

	dst := make([]int, 8)
	n, _ = c.PopBatch(dst)
	fmt.Println(dst[:n])
	// Output:
	// taken: 4 true
	// [1 2 3 4]
}

// A capacity-1 channel whose blocked side polls for up to 50µs before it
// sleeps. The zero Config waits with Adaptive(DefaultSpinTime).
func ExampleAdaptive() {
	p, c, _ := spillring.New[int](spillring.Config{Capacity: 1, Wait: spillring.Adaptive(50 * time.Microsecond)})
	go func() {
		for i := range 3 {
			_ = p.Push(i) // waits while the consumer has not taken the last one
		}
		p.Close()
	}()
	for v := range c.All() {
		fmt.Println(v)
	}
	fmt.Println(spillring.Config{}.Wait)
	// Output:
	// 0
	// 1
	// 2
	// Adaptive(20µs)
}

func ExampleConsumer_PopTimeout() {
	p, c, _ := spillring.New[int](spillring.Config{Capacity: 4, Wait: spillring.Park()})
	_, err := c.PopTimeout(10 * time.Millisecond)
	fmt.Println(errors.Is(err, spillring.ErrTimeout))
	p.Close()
	_, err = c.PopTimeout(time.Second)
	fmt.Println(errors.Is(err, spillring.ErrClosed))
	// Output:
	// true
	// true
}

// Three goroutines push into one channel: the Producer is cloned once per
// extra goroutine, and the channel closes for sending when the last handle
// closes.
func ExampleProducer_Clone() {
	p, c, err := spillring.New[int](spillring.Config{Capacity: 16})
	if err != nil {
		panic(err)
	}
	handles := []*spillring.Producer[int]{p}
	for range 2 {
		q, err := p.Clone()
		if err != nil {
			panic(err)
		}
		handles = append(handles, q)
	}
	for id, h := range handles {
		go func() {
			defer h.Close()
			for i := range 100 {
				h.Push(id*1000 + i) // each handle's items stay in order
			}
		}()
	}
	sum := 0
	for v := range c.All() { // ends once all three handles closed
		sum += v % 1000
	}
	fmt.Println(sum, c.IsUpgraded())
	// Output: 14850 true
}

func ExampleConsumer_Stats() {
	p, c, err := spillring.New[int](spillring.Config{Capacity: 4, Backpressure: spillring.DropOldest})
	if err != nil {
		panic(err)
	}
	for i := range 6 {
		p.Push(i) // 0 and 1 are evicted
	}
	c.Pop()
	st := c.Stats()
	fmt.Println(st.Pushed, st.Popped, st.Evicted, st.Len)
	// Output: 6 1 2 3
}
