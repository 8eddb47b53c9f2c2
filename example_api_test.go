package spillring_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spillring/spillring"
)

func ExampleConsumer_AllContext() {
	p, c, err := spillring.Make[int](8)
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		p.Push(i)
	}
	// No Close: the channel stays open, so the loop ends by the context.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	for v, err := range c.AllContext(ctx) {
		if err != nil {
			fmt.Println("stopped:", err)
			break
		}
		fmt.Println(v)
	}
	// Output:
	// 0
	// 1
	// 2
	// stopped: context deadline exceeded
}

func ExampleProducer_PushTimeout() {
	p, _, err := spillring.Make[string](1)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.PushTimeout("first", time.Millisecond))
	err = p.PushTimeout("second", time.Millisecond) // full: nobody pops
	fmt.Println(err, errors.Is(err, spillring.ErrTimeout))
	// Output:
	// <nil>
	// spillring: timeout true
}

func ExampleStats() {
	p, c, err := spillring.New[uint64](spillring.Config{Capacity: 4, Backpressure: spillring.Reject})
	if err != nil {
		panic(err)
	}
	for i := range uint64(5) {
		p.Push(i) // the fifth is rejected
	}
	c.Pop()
	st := c.Stats()
	fmt.Println(st)
	js, _ := json.Marshal(st)
	fmt.Println(string(js))
	// Output:
	// pushed=4 popped=1 evicted=0 rejected=1 push_waits=0 pop_waits=0 len=3 cap=4 producers=1 upgraded=false padded=0 claims=0 oldest_claim_ns=0
	// {"pushed":4,"popped":1,"evicted":0,"rejected":1,"push_waits":0,"pop_waits":0,"len":3,"cap":4,"producers":1,"upgraded":false,"padded":0,"claims":0,"oldest_claim_ns":0}
}
