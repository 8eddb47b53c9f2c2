package spillring_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/spillring/spillring"
)

// A pool of two workers squares a slice, each worker its half; Collect
// gathers the results, per worker in push order.
func ExampleNewPool() {
	pool, err := spillring.NewPool(spillring.PoolConfig[uint64, []uint64]{
		Workers: 2,
		Work: func(out *spillring.SpillRing[uint64], worker int, in []uint64) error {
			half := len(in) / 2
			for _, v := range in[worker*half : (worker+1)*half] {
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
	defer pool.Close()

	if err := pool.Run([]uint64{1, 2, 3, 4, 5, 6}); err != nil {
		fmt.Println(err)
		return
	}
	sink := spillring.Collect[uint64]()
	n, err := pool.Collect(sink)
	got := sink.Take()
	slices.Sort(got) // workers are collected one after the other
	fmt.Println(n, err, got)
	st := pool.Stats()
	fmt.Println(st.Rounds, st.Pushed, st.Collected, st.InRings)
	// Output:
	// 6 <nil> [1 4 9 16 25 36]
	// 1 6 6 0
}

// Dispatch returns at once; Collect can take what workers published while
// the next round runs; a panicking worker is reported by Join, and the pool
// goes on.
func ExampleWorkerPool_Dispatch() {
	pool, err := spillring.NewPool(spillring.PoolConfig[int, int]{
		Workers: 2,
		Work: func(out *spillring.SpillRing[int], worker int, round int) error {
			if round == 2 && worker == 1 {
				panic("bad input")
			}
			return out.Push(round*10 + worker)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	sink := spillring.Collect[int]()
	for round := 1; round <= 3; round++ {
		if err := pool.Dispatch(round); err != nil {
			fmt.Println(err)
			return
		}
		err := pool.Join()
		var wp *spillring.WorkerPanic
		if errors.As(err, &wp) {
			fmt.Printf("round %d: worker %d panicked: %v\n", round, wp.Worker, wp.Value)
		}
		if _, err := pool.Collect(sink); err != nil {
			fmt.Println(err)
		}
	}
	items := sink.Take()
	slices.Sort(items)
	fmt.Println(items)
	// Output:
	// round 2: worker 1 panicked: bad input
	// [10 11 20 30 31]
}

// FanIn makes a pool's collection a spout: here a Counting spout over a
// Collect spout sees each Flush's items, and an outside item sent through
// the FanIn.
func ExampleWorkerPool_FanIn() {
	pool, err := spillring.NewPool(spillring.PoolConfig[int, int]{
		Workers: 2,
		Work: func(out *spillring.SpillRing[int], worker int, n int) error {
			for i := range n {
				if err := out.Push(worker*100 + i); err != nil {
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
	all := spillring.Collect[int]()
	counted, _ := spillring.Counting[int](all)
	fan, _ := pool.FanIn(counted)

	_ = fan.Send(-1) // from outside the pool
	if err := pool.Run(3); err != nil {
		fmt.Println(err)
		return
	}
	if err := fan.Flush(); err != nil {
		fmt.Println(err)
		return
	}
	items := all.Take()
	slices.Sort(items)
	fmt.Println(items, counted.Stats().Items)
	// Output: [-1 0 1 2 100 101 102] 7
}

// Mergers split the collection: merger j takes the workers j, j+m, ...,
// each on a goroutine of its own with its own sink, with no coordination.
func ExampleWorkerPool_Mergers() {
	pool, err := spillring.NewPool(spillring.PoolConfig[int, int]{
		Workers: 4,
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
	for round := 1; round <= 2; round++ {
		if err := pool.Run(round); err != nil {
			fmt.Println(err)
			return
		}
	}
	var wg sync.WaitGroup
	got := make([][]int, len(mergers))
	for j, m := range mergers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink := spillring.Collect[int]()
			if _, err := m.Collect(sink); err != nil {
				fmt.Println(err)
			}
			got[j] = sink.Take()
			slices.Sort(got[j])
		}()
	}
	wg.Wait()
	for j, m := range mergers {
		fmt.Println("merger", j, "workers", m.Workers(), "items", got[j])
	}
	// Output:
	// merger 0 workers [0 2] items [10 12 20 22]
	// merger 1 workers [1 3] items [11 13 21 23]
}
