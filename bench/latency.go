package bench

/*
#include <stdint.h>
#include <stdlib.h>

// lat_c11_rtt (c11loop.go, next to its private copy of the C core) times
// round trips of c11-loop's rtt.
int64_t lat_c11_rtt(int echo_cpu, uint64_t ns, uint64_t *out, int64_t max);
int64_t lat_c11_loaded(int prod_cpu, uint64_t ns, uint64_t interval, uint64_t *out, int64_t max);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/puzpuzpuz/xsync/v4"
	"github.com/spillring/spillring"
)

// The latency scenarios record one sample per event into an HdrHistogram
// (github.com/HdrHistogram/hdrhistogram-go: the Go port of the reference
// implementation, 3 significant digits from 1 ns to 10 s), whose
// percentiles the driver prints and saves:
//   - rtt: a ping-pong over two channels between two pinned threads, one
//     item in flight; a sample is one round trip, timed on the pinging
//     thread.
//   - latency-loaded: one-way latency, push to pop, of timestamped items
//     sent at half the rate the same pair reaches flat out (measured
//     first, for 50ms, with the same timestamping), between two pinned
//     threads.
//   - wake: the time from a push to the return of a Pop that was parked
//     (the producer sleeps long enough for the consumer's spin to end
//     before each push); timed across the two threads with the monotonic
//     clock.

// NewHistogram is the histogram every latency pair records into, in ns.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(10*time.Second), 3) }

// LatencyPair is one implementation of one latency scenario.
type LatencyPair struct {
	Scenario string // "rtt", "latency-loaded" or "wake"
	Impl     string
	Wait     string // the wait strategy, for spillring
	run      func(d time.Duration, h *hdrhistogram.Histogram) error
}

// Run records d's worth of samples into h.
func (lp LatencyPair) Run(d time.Duration, h *hdrhistogram.Histogram) error { return lp.run(d, h) }

// LatencyPairs are the latency scenarios' pairs, in table order.
func LatencyPairs() []LatencyPair {
	var ps []LatencyPair
	for _, b := range Backends {
		for _, w := range Waits {
			ps = append(ps, LatencyPair{Scenario: "rtt", Impl: b.Name, Wait: w.Name, run: rttSpillring(b.Backend, w.Wait)})
		}
	}
	ps = append(ps,
		LatencyPair{Scenario: "rtt", Impl: "chan", run: rttChan},
		LatencyPair{Scenario: "rtt", Impl: "xsync", run: rttXsync},
		LatencyPair{Scenario: "rtt", Impl: "c11-loop", run: rttC11},
	)
	for _, b := range Backends {
		for _, w := range Waits {
			ps = append(ps, LatencyPair{Scenario: "latency-loaded", Impl: b.Name, Wait: w.Name, run: loadedLatency(spillringQueue(b.Backend, w.Wait))})
		}
	}
	ps = append(ps,
		LatencyPair{Scenario: "latency-loaded", Impl: "chan", run: loadedLatency(chanQueue)},
		LatencyPair{Scenario: "latency-loaded", Impl: "xsync", run: loadedLatency(xsyncQueue)},
		LatencyPair{Scenario: "latency-loaded", Impl: "c11-loop", run: loadedC11},
	)
	for _, b := range Backends {
		for _, w := range []Wait{Waits[0], Waits[3]} { // the default and Park: the strategies that sleep
			ps = append(ps, LatencyPair{Scenario: "wake", Impl: b.Name, Wait: w.Name, run: wakeSpillring(b.Backend, w.Wait)})
		}
	}
	return append(ps, LatencyPair{Scenario: "wake", Impl: "chan", run: wakeChan})
}

// errWrongItem is a latency pair's check failing: an item came back other
// than the one sent.
var errWrongItem = errors.New("latency: wrong item")

// pinnedPair runs echo on a thread pinned to consCPU and ping on one
// pinned to prodCPU (the SPSC scenarios' CPUs), and returns ping's error,
// then echo's. ping must make echo return (by closing what it reads).
func pinnedPair(ping func() error, echo func() error) error {
	echoErr := make(chan error, 1)
	go func() {
		unpin, err := pinThread(consCPU)
		if err != nil {
			echoErr <- err
			return
		}
		defer unpin()
		echoErr <- echo()
	}()
	unpin, err := pinThread(prodCPU)
	if err != nil {
		return errors.Join(err, <-echoErr)
	}
	err = ping()
	unpin()
	return errors.Join(err, <-echoErr)
}

// roundTrips calls trip(i) for i = 0, 1, ... until d has passed, and
// records each call's duration into h.
func roundTrips(d time.Duration, h *hdrhistogram.Histogram, trip func(i uint64) error) error {
	end := time.Now().Add(d)
	for i := uint64(0); ; i++ {
		t0 := time.Now()
		if t0.After(end) {
			return nil
		}
		if err := trip(i); err != nil {
			return err
		}
		_ = h.RecordValue(time.Since(t0).Nanoseconds())
	}
}

// rttSpillring: ping and pong are two spillring channels (capacity 16,
// one item in flight) with wait strategy w.
func rttSpillring(backend spillring.Backend, w spillring.WaitStrategy) func(time.Duration, *hdrhistogram.Histogram) error {
	return func(d time.Duration, h *hdrhistogram.Histogram) error {
		cfg := spillring.Config{Capacity: 16, Backend: backend, Wait: w}
		pingP, pingC, err := spillring.New[uint64](cfg)
		if err != nil {
			return err
		}
		pongP, pongC, err := spillring.New[uint64](cfg)
		if err != nil {
			return err
		}
		defer pingC.Close()
		defer pongP.Close()
		defer pongC.Close()
		return pinnedPair(func() error {
			defer pingP.Close() // ends the echo
			return roundTrips(d, h, func(i uint64) error {
				if err := pingP.Push(i); err != nil {
					return err
				}
				v, err := pongC.Pop()
				if err == nil && v != i {
					err = errWrongItem
				}
				return err
			})
		}, func() error {
			for {
				v, err := pingC.Pop()
				if errors.Is(err, spillring.ErrClosed) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := pongP.Push(v); err != nil {
					return err
				}
			}
		})
	}
}

// rttChan: two buffered Go channels.
func rttChan(d time.Duration, h *hdrhistogram.Histogram) error {
	ping, pong := make(chan uint64, 16), make(chan uint64, 16)
	return pinnedPair(func() error {
		defer close(ping)
		return roundTrips(d, h, func(i uint64) error {
			ping <- i
			if <-pong != i {
				return errWrongItem
			}
			return nil
		})
	}, func() error {
		for v := range ping {
			pong <- v
		}
		return nil
	})
}

// rttXsync: two xsync SPSCQueues, each side polling with a Gosched every
// xsyncSpins tries, as in the table's scenarios (xsync has only Try calls).
func rttXsync(d time.Duration, h *hdrhistogram.Histogram) error {
	ping, pong := xsync.NewSPSCQueue[uint64](16), xsync.NewSPSCQueue[uint64](16)
	const stop = ^uint64(0)
	push := func(q *xsync.SPSCQueue[uint64], v uint64) {
		for n := 1; !q.TryEnqueue(v); n++ {
			if n%xsyncSpins == 0 {
				runtime.Gosched()
			}
		}
	}
	pop := func(q *xsync.SPSCQueue[uint64]) uint64 {
		for n := 1; ; n++ {
			if v, ok := q.TryDequeue(); ok {
				return v
			}
			if n%xsyncSpins == 0 {
				runtime.Gosched()
			}
		}
	}
	return pinnedPair(func() error {
		defer push(ping, stop)
		return roundTrips(d, h, func(i uint64) error {
			push(ping, i)
			if pop(pong) != i {
				return errWrongItem
			}
			return nil
		})
	}, func() error {
		for v := pop(ping); v != stop; v = pop(ping) {
			push(pong, v)
		}
		return nil
	})
}

// rttMaxSamples bounds c11-loop's sample buffer (C memory): 8 MiB, more
// round trips than a run of a second has.
const rttMaxSamples = 1 << 20

// rttC11: the C core's rings driven from C, both sides spinning: the
// pinging side is the calling thread (pinned by Go to prodCPU), the echo a
// pthread pinned to consCPU; C times each round trip with
// clock_gettime(CLOCK_MONOTONIC).
func rttC11(d time.Duration, h *hdrhistogram.Histogram) error {
	buf := (*C.uint64_t)(C.malloc(C.size_t(8 * rttMaxSamples)))
	if buf == nil {
		return errors.New("rtt: out of memory")
	}
	defer C.free(unsafe.Pointer(buf))
	unpin, err := pinThread(prodCPU)
	if err != nil {
		return err
	}
	n := int64(C.lat_c11_rtt(C.int(consCPU), C.uint64_t(d.Nanoseconds()), buf, rttMaxSamples))
	unpin()
	if n < 0 {
		return fmt.Errorf("rtt c11-loop: errno %d", -n)
	}
	for _, v := range unsafe.Slice((*uint64)(unsafe.Pointer(buf)), n) {
		_ = h.RecordValue(int64(v))
	}
	return nil
}

// WakeGap is how long the producer waits before each push in wake: far
// beyond the default spin (20µs), so the consumer is asleep in Pop.
const WakeGap = 300 * time.Microsecond

// wakeClock is the wake scenario's shared clock: ns since it started, on
// the monotonic clock, comparable across threads.
var wakeClock = time.Now()

func wakeNow() int64 { return int64(time.Since(wakeClock)) }

// wakeSpillring: the consumer parks in Pop; each item is the time of its
// push, and the consumer records how long ago that was when Pop returns.
func wakeSpillring(backend spillring.Backend, w spillring.WaitStrategy) func(time.Duration, *hdrhistogram.Histogram) error {
	return func(d time.Duration, h *hdrhistogram.Histogram) error {
		p, c, err := spillring.New[int64](spillring.Config{Capacity: 16, Backend: backend, Wait: w})
		if err != nil {
			return err
		}
		defer c.Close()
		return pinnedPair(func() error {
			defer p.Close()
			for end := time.Now().Add(d); time.Now().Before(end); {
				time.Sleep(WakeGap)
				if err := p.Push(wakeNow()); err != nil {
					return err
				}
			}
			return nil
		}, func() error {
			for {
				v, err := c.Pop()
				if errors.Is(err, spillring.ErrClosed) {
					return nil
				}
				if err != nil {
					return err
				}
				_ = h.RecordValue(max(wakeNow()-v, 1))
			}
		})
	}
}

// wakeChan: the same with a Go channel.
func wakeChan(d time.Duration, h *hdrhistogram.Histogram) error {
	ch := make(chan int64, 16)
	return pinnedPair(func() error {
		defer close(ch)
		for end := time.Now().Add(d); time.Now().Before(end); {
			time.Sleep(WakeGap)
			ch <- wakeNow()
		}
		return nil
	}, func() error {
		for v := range ch {
			_ = h.RecordValue(max(wakeNow()-v, 1))
		}
		return nil
	})
}

// lqueue is a channel for latency-loaded: push, pop (ok false once the
// producer closed and everything was taken), close (the producer's).
type lqueue struct {
	push  func(int64) error
	pop   func() (int64, bool, error)
	close func()
}

func spillringQueue(backend spillring.Backend, w spillring.WaitStrategy) func() (lqueue, error) {
	return func() (lqueue, error) {
		p, c, err := spillring.New[int64](spillring.Config{Capacity: Capacity, Backend: backend, Wait: w})
		if err != nil {
			return lqueue{}, err
		}
		return lqueue{
			push: p.Push,
			pop: func() (int64, bool, error) {
				v, err := c.Pop()
				if errors.Is(err, spillring.ErrClosed) {
					c.Close()
					return 0, false, nil
				}
				return v, err == nil, err
			},
			close: func() { p.Close() },
		}, nil
	}
}

func chanQueue() (lqueue, error) {
	ch := make(chan int64, Capacity)
	return lqueue{
		push:  func(v int64) error { ch <- v; return nil },
		pop:   func() (int64, bool, error) { v, ok := <-ch; return v, ok, nil },
		close: func() { close(ch) },
	}, nil
}

func xsyncQueue() (lqueue, error) {
	q := xsync.NewSPSCQueue[int64](Capacity)
	const stop = -1
	push := func(v int64) error {
		for n := 1; !q.TryEnqueue(v); n++ {
			if n%xsyncSpins == 0 {
				runtime.Gosched()
			}
		}
		return nil
	}
	return lqueue{
		push: push,
		pop: func() (int64, bool, error) {
			for n := 1; ; n++ {
				if v, ok := q.TryDequeue(); ok {
					return v, v != stop, nil
				}
				if n%xsyncSpins == 0 {
					runtime.Gosched()
				}
			}
		},
		close: func() { _ = push(stop) },
	}, nil
}

// loadedCalibration is how long latency-loaded runs a pair flat out to
// find its rate.
const loadedCalibration = 50 * time.Millisecond

// loadedLatency: the pair's flat-out rate first (every item timestamped
// and recorded, as in the timed run), then d at half that rate, recording
// each item's push-to-pop time.
func loadedLatency(mk func() (lqueue, error)) func(time.Duration, *hdrhistogram.Histogram) error {
	return func(d time.Duration, h *hdrhistogram.Histogram) error {
		n, err := pacedRun(mk, loadedCalibration, 0, NewHistogram()) // recording too: the same consumer cost
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("latency-loaded: nothing moved in the calibration")
		}
		interval := 2 * loadedCalibration / time.Duration(n)
		_, err = pacedRun(mk, d, max(interval, 1), h)
		return err
	}
}

// pacedRun sends wakeNow() timestamps for d, one per interval (0: flat
// out; a producer that fell behind does not catch up in a burst), from a
// thread pinned to prodCPU to a consumer pinned to consCPU, which checks
// the timestamps never go back and records each one's age into h. It
// returns how many items the consumer took.
func pacedRun(mk func() (lqueue, error), d, interval time.Duration, h *hdrhistogram.Histogram) (int, error) {
	q, err := mk()
	if err != nil {
		return 0, err
	}
	got := 0
	err = pinnedPair(func() error {
		defer q.close()
		end := wakeNow() + int64(d)
		next := wakeNow()
		for {
			now := wakeNow()
			if now >= end {
				return nil
			}
			if interval > 0 {
				if now < next {
					continue
				}
				next = max(next+int64(interval), now)
			}
			if err := q.push(now); err != nil {
				return err
			}
		}
	}, func() error {
		last := int64(-1)
		for {
			v, ok, err := q.pop()
			if err != nil || !ok {
				return err
			}
			if v < last {
				return errWrongItem
			}
			last = v
			got++
			_ = h.RecordValue(max(wakeNow()-v, 1))
		}
	})
	return got, err
}

// loadedC11: latency-loaded for c11-loop, in C (c11loop.go): a producer
// pthread pinned to prodCPU sends clock_gettime timestamps, flat out for
// the calibration, then at half that rate; the calling thread, pinned to
// consCPU, records each item's age.
func loadedC11(d time.Duration, h *hdrhistogram.Histogram) error {
	buf := (*C.uint64_t)(C.malloc(C.size_t(8 * rttMaxSamples)))
	if buf == nil {
		return errors.New("latency-loaded: out of memory")
	}
	defer C.free(unsafe.Pointer(buf))
	unpin, err := pinThread(consCPU)
	if err != nil {
		return err
	}
	defer unpin()
	n := int64(C.lat_c11_loaded(C.int(prodCPU), C.uint64_t(loadedCalibration.Nanoseconds()), 0, buf, rttMaxSamples))
	if n <= 0 {
		return fmt.Errorf("latency-loaded c11-loop: calibration: %d", n)
	}
	interval := 2 * uint64(loadedCalibration.Nanoseconds()) / uint64(n)
	n = int64(C.lat_c11_loaded(C.int(prodCPU), C.uint64_t(d.Nanoseconds()), C.uint64_t(max(interval, 1)), buf, rttMaxSamples))
	if n < 0 {
		return fmt.Errorf("latency-loaded c11-loop: errno %d", -n)
	}
	for _, v := range unsafe.Slice((*uint64)(unsafe.Pointer(buf)), min(n, rttMaxSamples)) {
		_ = h.RecordValue(max(int64(v), 1))
	}
	return nil
}
