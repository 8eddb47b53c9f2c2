package bench

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spillring/spillring"
)

// The loaded scenario: spsc-single on a busy machine. Burner processes
// (StartBurners) keep every CPU busy while a producer and a consumer move
// single items, unpinned, as a service's goroutines would be. It reports
// items per second rather than ns/item: some wait strategies fall to a few
// hundred items per second here, so each run is timed, not counted.

// LoadedCapacities are the channel capacities of the loaded scenario:
// capacity 1, where every item is a hand-off between the two sides, and the
// default capacity.
var LoadedCapacities = []int{1, spillring.DefaultCapacity}

// LoadedBurners is how many burner processes the loaded scenario runs: as
// many as this machine's 2 CPUs.
const LoadedBurners = 2

// LoadedSpillring moves items through a channel of the given backend, wait
// strategy and capacity for about d and returns items per second. Each item
// is checked.
func LoadedSpillring(backend spillring.Backend, w spillring.WaitStrategy, capacity int, d time.Duration) (float64, error) {
	p, c, err := spillring.New[uint64](spillring.Config{Capacity: capacity, Backend: backend, Wait: w})
	if err != nil {
		return 0, err
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := uint64(1); !stop.Load(); v++ {
			if p.Push(v) != nil {
				return
			}
		}
	}()
	var timeUp atomic.Bool
	start := time.Now()
	t := time.AfterFunc(d, func() { timeUp.Store(true) })
	defer t.Stop()
	var n uint64
	var bad error
	for !timeUp.Load() {
		v, err := c.Pop()
		if err != nil {
			bad = err
			break
		}
		if n++; v != n {
			bad = mismatch(bad, v, n)
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	// Stop the producer: it checks stop before each push, and the one
	// push it may be blocked in finds room as the consumer drains.
	stop.Store(true)
	for drained := false; !drained; {
		select {
		case <-done:
			drained = true
		default:
			_, _ = c.TryPop()
		}
	}
	c.Close()
	return rate, bad
}

// LoadedChan is LoadedSpillring for a Go channel.
func LoadedChan(capacity int, d time.Duration) (float64, error) {
	ch := make(chan uint64, capacity)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := uint64(1); !stop.Load(); v++ {
			ch <- v
		}
	}()
	var timeUp atomic.Bool
	start := time.Now()
	t := time.AfterFunc(d, func() { timeUp.Store(true) })
	defer t.Stop()
	var n uint64
	var bad error
	for !timeUp.Load() {
		v := <-ch
		if n++; v != n {
			bad = mismatch(bad, v, n)
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	stop.Store(true)
	for drained := false; !drained; {
		select {
		case <-done:
			drained = true
		case <-ch:
		}
	}
	return rate, bad
}

// LoadedPair is one row of the loaded scenario.
type LoadedPair struct {
	Impl string // spillring-c, spillring-go, chan
	Wait string // a Waits name; empty for chan
	run  func(capacity int, d time.Duration) (float64, error)
}

// Run measures the pair at one capacity for about d: items per second.
func (lp LoadedPair) Run(capacity int, d time.Duration) (float64, error) {
	rate, err := lp.run(capacity, d)
	if err != nil {
		return 0, fmt.Errorf("loaded %s %s cap %d: %w", lp.Impl, lp.Wait, capacity, err)
	}
	return rate, nil
}

// LoadedPairs are every backend with every strategy of Waits, then a Go
// channel.
func LoadedPairs() []LoadedPair {
	var pairs []LoadedPair
	for _, b := range Backends {
		for _, w := range Waits {
			pairs = append(pairs, LoadedPair{b.Name, w.Name, func(capacity int, d time.Duration) (float64, error) {
				return LoadedSpillring(b.Backend, w.Wait, capacity, d)
			}})
		}
	}
	return append(pairs, LoadedPair{Impl: "chan", run: LoadedChan})
}
