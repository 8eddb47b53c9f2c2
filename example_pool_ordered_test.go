package spillring_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/spillring/spillring"
)

// An ordered pool (OrderWindow) hands its items on in dispatch order: round
// by round, worker after worker. Here worker 0 ends each round last, and
// several rounds run before anything is collected, yet Collect's output is
// in order, without sorting.
func ExamplePoolConfig_orderWindow() {
	pool, err := spillring.NewPool(spillring.PoolConfig[int, int]{
		Workers:     2,
		OrderWindow: 4, // up to 4 rounds may wait to be collected
		Work: func(out *spillring.SpillRing[int], worker int, round int) error {
			if worker == 0 {
				time.Sleep(time.Millisecond) // the other worker ends first
			}
			for i := range 2 {
				if err := out.Push(round*100 + worker*10 + i); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	for round := 1; round <= 4; round++ {
		if err := pool.Run(round); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(pool.Run(5)) // a fifth uncollected round would overflow the window

	sink := spillring.Collect[int]()
	if _, err := pool.Collect(sink); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sink.Take())
	// Output:
	// spillring: pool order window full (collect the oldest round first): round 5 would be 4 rounds ahead of worker 0's round 1 (window 4)
	// [100 101 110 111 200 201 210 211 300 301 310 311 400 401 410 411]
}

// A merge tree: two mergers collect a pool's four workers at once, each
// on a goroutine of its own, and submit each round to one SequencedSpout,
// which emits the rounds in dispatch order (a round's two parts in the
// order they arrive).
func ExampleMerger_CollectSequenced() {
	pool, err := spillring.NewPool(spillring.PoolConfig[int, int]{
		Workers:     4,
		OrderWindow: 8,
		Work: func(out *spillring.SpillRing[int], worker int, round int) error {
			return out.Push(round*10 + worker)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	mergers, _ := pool.Mergers(2)
	all := spillring.Collect[int]()
	root, _ := spillring.Sequenced[int](all, spillring.SequencedConfig{First: 1, Parts: len(mergers)})

	for round := 1; round <= 3; round++ {
		if err := pool.Run(round); err != nil {
			fmt.Println(err)
			return
		}
	}
	var wg sync.WaitGroup
	for _, m := range mergers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.CollectSequenced(root); err != nil {
				fmt.Println(err)
			}
		}()
	}
	wg.Wait()
	items := all.Take()
	inOrder := slices.IsSortedFunc(items, func(a, b int) int { return a/10 - b/10 })
	fmt.Println("rounds complete:", root.Next()-1, "in round order:", inOrder)
	for r := range slices.Chunk(items, pool.Workers()) { // a round: one item per worker
		slices.Sort(r) // a round's parts come in the order the mergers submitted them
		fmt.Println(r)
	}
	// Output:
	// rounds complete: 3 in round order: true
	// [10 11 12 13]
	// [20 21 22 23]
	// [30 31 32 33]
}

// A two-stage pipeline of ordered pools, assembled with no pipeline type:
// stage one parses on two workers, Collect hands its output, in input
// order, to stage two as its next round's args, and stage two's FanIn
// writes the results as frames, still in input order. (examples/pipeline
// is the full program: the stages run at once there.)
func Example_pipeline() {
	parse, err := spillring.NewPool(spillring.PoolConfig[int64, []string]{
		Workers: 2, OrderWindow: 2,
		Work: func(out *spillring.SpillRing[int64], worker int, lines []string) error {
			for _, l := range lines[worker*len(lines)/2 : (worker+1)*len(lines)/2] {
				v, err := strconv.ParseInt(l, 10, 64)
				if err != nil {
					return err
				}
				if err := out.Push(v); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer parse.Close()
	square, err := spillring.NewPool(spillring.PoolConfig[int64, []int64]{
		Workers: 2, OrderWindow: 2,
		Work: func(out *spillring.SpillRing[int64], worker int, in []int64) error {
			for _, v := range in[worker*len(in)/2 : (worker+1)*len(in)/2] {
				if err := out.Push(v * v); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer square.Close()

	var wire bytes.Buffer
	codec, _ := spillring.FixedCodec[int64]()
	framed, _ := spillring.Framed(&wire, 7, codec)
	out, _ := square.FanIn(framed)
	parsed := spillring.Collect[int64]()
	for _, chunk := range [][]string{{"1", "2", "3", "4"}, {"5", "6", "7"}} {
		parsed.Reset()
		if err := parse.Run(chunk); err != nil {
			fmt.Println(err)
			return
		}
		if _, err := parse.Collect(parsed); err != nil {
			fmt.Println(err)
			return
		}
		if err := square.Run(parsed.Items()); err != nil {
			fmt.Println(err)
			return
		}
		if err := out.Flush(); err != nil {
			fmt.Println(err)
			return
		}
	}
	fr, _ := spillring.NewFrameReader(&wire, codec, 0)
	for {
		id, v, err := fr.Read()
		if err != nil {
			break // io.EOF
		}
		fmt.Print(id, ":", v, " ")
	}
	fmt.Println()
	// Output: 7:1 7:4 7:9 7:16 7:25 7:36 7:49
}
