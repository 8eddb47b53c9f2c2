package spillring

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the wait strategies beyond the conformance suite (which runs
// every strategy in `waits` through the blocking and close tests): the
// default is Adaptive, Adaptive parks once its spin time is up and then
// uses no CPU, and no wake-up is lost when both sides park all the time.

func TestDefaultWaitIsAdaptive(t *testing.T) {
	assert.Equal(t, Adaptive(DefaultSpinTime), WaitStrategy{}.normalized())
	assert.Equal(t, "Adaptive(20µs)", WaitStrategy{}.String())
	assert.Equal(t, "Adaptive(0s)", Adaptive(0).String())
	eachBackend(t, func(t *testing.T, b Backend) {
		p, _ := newChan[uint64](t, Config{Backend: b})
		assert.Equal(t, Adaptive(DefaultSpinTime), p.r.wait)
		assert.True(t, p.r.park, "Adaptive sleeps: publishers run W1")
		assert.True(t, p.r.fast, "and keep the inline fast paths")
		if b == BackendC {
			assert.EqualValues(t, 3, p.r.l.wait, "SR_WAIT_ADAPTIVE")
			assert.EqualValues(t, DefaultSpinTime.Nanoseconds(), p.r.l.spins, "spin time in ns")
		}
	})
}

func TestAdaptiveLimits(t *testing.T) {
	// Out of range: TestInvalidConfig.
	for _, w := range []WaitStrategy{Adaptive(0), Adaptive(MaxSpinTime)} {
		_, _, err := New[uint64](Config{Wait: w})
		assert.NoError(t, err, "%v", w)
	}
}

// waitFlag polls a W1 wait word until it is set (the side sleeps), for up
// to 10 s: generous, as a loaded machine may hold a thread off for long.
func waitFlag(word *uint32) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if atomic.LoadUint32(word) != 0 {
			return true
		}
	}
	return false
}

// checkIdleCPU measures the process's CPU over 200ms, while something
// should sleep, and fails if it took half a core or more: a spinning waiter
// would take a whole one. The bound is loose on purpose: the machine
// running the tests may be busy.
func checkIdleCPU(t *testing.T, while string) {
	t.Helper()
	cpu0, ok := processCPU()
	if !ok {
		return // no getrusage here
	}
	t0 := time.Now()
	time.Sleep(200 * time.Millisecond)
	cpu1, _ := processCPU()
	share := float64(cpu1-cpu0) / float64(time.Since(t0))
	t.Logf("CPU while %s: %.1f%% of one core", while, 100*share)
	assert.Less(t, share, 0.5, "CPU burnt while %s", while)
}

// TestDefaultWaitParks: a consumer blocked in Pop on an empty channel with
// the default strategy goes to sleep (its wait word is set), then uses
// next to no CPU, and the next Push wakes it. The same for a producer
// blocked on a full channel. The CPU bound is loose on purpose: the
// machine running the tests may be busy, but a spinning waiter would use
// a whole core.
func TestDefaultWaitParks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 1, Backend: b})
		popped := make(chan error, 1)
		var got uint64
		go func() {
			v, err := c.Pop()
			got = v
			popped <- err
		}()
		require.True(t, waitFlag(&p.r.l.consWait), "the consumer never parked")

		checkIdleCPU(t, "the consumer sleeps")

		require.NoError(t, p.Push(7))
		select {
		case err := <-popped:
			require.NoError(t, err)
			assert.Equal(t, uint64(7), got)
		case <-time.After(10 * time.Second):
			t.Fatal("Push did not wake the parked consumer")
		}

		// The producer side: the channel is full now.
		require.NoError(t, p.Push(8))
		pushed := make(chan error, 1)
		go func() { pushed <- p.Push(9) }()
		require.True(t, waitFlag(&p.r.l.prodWait), "the producer never parked")
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(8), v)
		select {
		case err := <-pushed:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Pop did not wake the parked producer")
		}
		v, err = c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(9), v)
	})
}

// TestAdaptiveSpinsFirst: before its spin time is up, an Adaptive waiter
// has not parked; after it, it has.
func TestAdaptiveSpinsFirst(t *testing.T) {
	const spin = 300 * time.Millisecond
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 1, Wait: Adaptive(spin), Backend: b})
		popped := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := c.Pop()
			popped <- err
		}()
		time.Sleep(spin / 10)
		if atomic.LoadUint32(&p.r.l.consWait) != 0 {
			assert.GreaterOrEqual(t, time.Since(start), spin, "parked before its spin time was up")
		}
		require.True(t, waitFlag(&p.r.l.consWait), "never parked")
		assert.GreaterOrEqual(t, time.Since(start), spin, "parked before its spin time was up")
		require.NoError(t, p.Close())
		assert.ErrorIs(t, <-popped, ErrClosed)
	})
}

// TestAdaptiveNoLostWakeup: capacity 1 and a zero spin time, so both sides
// park on nearly every item; a lost wake-up hangs the run, which the
// timeout turns into a failure. Then the default spin time, where most
// hand-offs happen while spinning and some sleep.
func TestAdaptiveNoLostWakeup(t *testing.T) {
	cases := []struct {
		wait WaitStrategy
		n    int
	}{{Adaptive(0), 20_000}, {Adaptive(time.Microsecond), 20_000}, {Adaptive(DefaultSpinTime), 100_000}}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%v/%d", tc.wait, tc.n), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 1, Wait: tc.wait, Backend: b})
				done := make(chan error, 1)
				go func() {
					buf := make([]uint64, 2)
					for i := 0; i < tc.n; i++ {
						if i%2 == 0 {
							if err := p.Push(uint64(i)); err != nil {
								done <- err
								return
							}
							continue
						}
						buf[0] = uint64(i)
						if _, err := p.PushBatch(buf[:1]); err != nil {
							done <- err
							return
						}
					}
					done <- p.Close()
				}()
				check := make(chan error, 1)
				go func() {
					buf := make([]uint64, 1)
					for want := uint64(0); ; want++ {
						var v uint64
						var err error
						if want%3 == 0 {
							var k int
							k, err = c.PopBatch(buf)
							if err == nil && k != 1 {
								err = fmt.Errorf("PopBatch: %d items", k)
							}
							v = buf[0]
						} else {
							v, err = c.Pop()
						}
						if err == ErrClosed && want == uint64(tc.n) {
							check <- nil
							return
						}
						if err != nil || v != want {
							check <- fmt.Errorf("item %d: got %d, %v", want, v, err)
							return
						}
					}
				}()
				select {
				case err := <-check:
					require.NoError(t, err)
					require.NoError(t, <-done)
				case <-time.After(60 * time.Second):
					t.Fatalf("stuck: a lost wake-up (consWait %d, prodWait %d, len %d)",
						atomic.LoadUint32(&p.r.l.consWait), atomic.LoadUint32(&p.r.l.prodWait), c.Len())
				}
			})
		}
	})
}
