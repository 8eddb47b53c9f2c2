//go:build cgo && linux && !purego

package spillring_test

import (
	"fmt"

	"github.com/spillring/spillring"
	"github.com/spillring/spillring/internal/cwork"
)

// A C work function runs on the pinned C worker threads with no Go
// involvement: here internal/cwork's cw_seq, which pushes Count items a
// round, worker w's numbered w<<40 | n. The args are copied into C memory
// for each round, so their type must hold no pointers. A C function of your
// own comes from your cgo package the same way: the sr_work_fn's address
// and its ctx.
func ExampleCWork() {
	seq := cwork.NewSeq(2)
	defer seq.Free()
	fn, ctx := seq.Work()
	pool, err := spillring.NewPool(spillring.PoolConfig[uint64, cwork.Args]{
		Workers: 2,
		CWork:   spillring.CWork{Fn: fn, Ctx: ctx},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	for range 3 {
		if err := pool.Run(cwork.Args{Count: 100}); err != nil {
			fmt.Println(err)
			return
		}
	}
	var perWorker [2]int
	sink, _ := spillring.Func(func(v uint64) error {
		perWorker[v>>40]++
		return nil
	}, nil)
	n, err := pool.Collect(sink)
	fmt.Println(n, err, perWorker, pool.Backend())
	// Output: 600 <nil> [300 300] C
}
