package spillring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The conformance suite: every test here runs against each backend in the
// build (both under cgo on Linux, only BackendGo otherwise).

func backends() []Backend {
	if cBackendAvailable {
		return []Backend{BackendC, BackendGo}
	}
	return []Backend{BackendGo}
}

func eachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) { f(t, b) })
	}
}

var waits = []WaitStrategy{Spin(), SpinYield(DefaultSpins), SpinYield(0), Park(), Adaptive(DefaultSpinTime), Adaptive(0)}

func newChan[T any](t testing.TB, cfg Config) (*Producer[T], *Consumer[T]) {
	t.Helper()
	p, c, err := New[T](cfg)
	require.NoError(t, err)
	return p, c
}

// startAt moves a fresh ring's sequences to seq, so a test runs across the
// 2^64 wrap of the free-running counters. (Stats then reads the sequences:
// it counts from 0, where every production ring starts.)
func startAt[T any](p *Producer[T], seq uint64) {
	r := p.r
	r.l.head, r.l.tail, r.l.headCache, r.l.tailCache = seq, seq, seq, seq
	r.l.drain = seq << 1 // F2: nothing promised past the start
	if r.stamps != nil {
		for i := uint64(0); i < r.cap; i++ {
			s := seq + (i-seq)&r.mask // first seq >= start that maps to slot i
			*r.stamp(s) = stampFree(s)
		}
	}
}

func TestChannelCreation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Backend: b})
		assert.Equal(t, DefaultCapacity, p.Cap())
		assert.Equal(t, DefaultCapacity, c.Cap())
		assert.True(t, c.IsEmpty())
		assert.True(t, p.HasCapacity())
		assert.Equal(t, 0, c.Len())
		assert.Equal(t, b, p.r.backend())
	})
}

func TestAutoBackend(t *testing.T) {
	p, _ := newChan[uint64](t, Config{})
	if cBackendAvailable {
		assert.Equal(t, BackendC, p.r.backend(), "pointer-free T picks C when available")
	} else {
		assert.Equal(t, BackendGo, p.r.backend())
	}
	ps, _ := newChan[string](t, Config{})
	assert.Equal(t, BackendGo, ps.r.backend(), "T with pointers always gets the Go backend")
}

func TestPushPopSingleAndMultiple(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		require.NoError(t, p.Push(42))
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(42), v)

		for round := range 5 { // several laps of the ring
			for i := range 8 {
				require.NoError(t, p.Push(uint64(round*8+i)))
			}
			assert.Equal(t, 8, c.Len())
			assert.False(t, p.HasCapacity())
			for i := range 8 {
				v, err := c.Pop()
				require.NoError(t, err)
				require.Equal(t, uint64(round*8+i), v)
			}
		}
	})
}

func TestTryPushFullIsNotClosed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b})
		for i := range 4 {
			require.NoError(t, p.TryPush(uint64(i)))
		}
		err := p.TryPush(99)
		assert.ErrorIs(t, err, ErrFull)
		assert.NotErrorIs(t, err, ErrClosed)
		require.NoError(t, p.Close())
		err = p.TryPush(99)
		assert.ErrorIs(t, err, ErrClosed, "closed beats full")
		assert.NotErrorIs(t, err, ErrFull)
		assert.Equal(t, 4, c.Len(), "a failed push takes nothing")
	})
}

func TestTryPopEmpty(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b})
		_, err := c.TryPop()
		assert.ErrorIs(t, err, ErrEmpty)
		require.NoError(t, p.Push(7))
		v, err := c.TryPop()
		require.NoError(t, err)
		assert.Equal(t, uint64(7), v)
		require.NoError(t, p.Close())
		_, err = c.TryPop()
		assert.ErrorIs(t, err, ErrClosed)
		assert.ErrorIs(t, err, os.ErrClosed)
	})
}

func TestPushBatchPartialKeepsOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 8, Backpressure: Reject, Backend: b})
		require.NoError(t, p.Push(100))
		vs := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		n, err := p.PushBatch(vs)
		assert.ErrorIs(t, err, ErrFull)
		require.Equal(t, 7, n, "exactly the free slots were taken")
		assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, vs, "the caller's slice is untouched")

		dst := make([]uint64, 16)
		got, err := c.PopBatch(dst)
		require.NoError(t, err)
		assert.Equal(t, []uint64{100, 0, 1, 2, 3, 4, 5, 6}, dst[:got], "order kept, vs[:n] taken")

		n, err = p.PushBatch(vs[n:])
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		got = c.TryPopBatch(dst)
		assert.Equal(t, []uint64{7, 8, 9}, dst[:got])
	})
}

func TestPopBatchAvailable(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 16, Backend: b})
		for i := range 5 {
			require.NoError(t, p.Push(uint64(i)))
		}
		dst := make([]uint64, 3)
		n, err := c.PopBatch(dst)
		require.NoError(t, err)
		assert.Equal(t, []uint64{0, 1, 2}, dst[:n])
		n, err = c.PopBatch(dst)
		require.NoError(t, err)
		assert.Equal(t, []uint64{3, 4}, dst[:n])
		assert.Equal(t, 0, c.TryPopBatch(dst))
		n, err = c.PopBatch(nil)
		assert.NoError(t, err)
		assert.Zero(t, n)
	})
}

func TestCloseDrainsRemaining(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, mode := range []Backpressure{Block, DropOldest, Reject} {
			p, c := newChan[uint64](t, Config{Capacity: 8, Backpressure: mode, Backend: b})
			for i := range 5 {
				require.NoError(t, p.Push(uint64(i)))
			}
			require.NoError(t, p.Close())
			assert.ErrorIs(t, p.Push(9), ErrClosed)
			n, err := p.PushBatch([]uint64{1})
			assert.ErrorIs(t, err, ErrClosed)
			assert.Zero(t, n)

			var got []uint64
			for v := range c.All() {
				got = append(got, v)
			}
			assert.Equal(t, []uint64{0, 1, 2, 3, 4}, got, mode)
			_, err = c.Pop()
			assert.ErrorIs(t, err, ErrClosed)
			n, err = c.PopBatch(make([]uint64, 4))
			assert.ErrorIs(t, err, ErrClosed)
			assert.Zero(t, n)
		}
	})
}

func TestDoubleCloseAndUseAfterClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b})
		require.NoError(t, p.Push(1))
		require.NoError(t, c.Close())
		assert.ErrorIs(t, c.Close(), ErrClosed)
		assert.ErrorIs(t, p.Push(2), ErrClosed, "the consumer is gone")
		assert.ErrorIs(t, p.TryPush(2), ErrClosed)
		_, err := c.Pop()
		assert.ErrorIs(t, err, ErrClosed, "pop after the consumer's own Close")
		_, err = c.TryPop()
		assert.ErrorIs(t, err, ErrClosed)
		assert.Zero(t, c.TryPopBatch(make([]uint64, 2)))
		require.NoError(t, p.Close())
		assert.ErrorIs(t, p.Close(), ErrClosed)
	})
}

func TestBackpressureBlock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 2, Wait: w, Backend: b})
				require.NoError(t, p.Push(0))
				require.NoError(t, p.Push(1))
				pushed := make(chan error)
				go func() { pushed <- p.Push(2) }()
				select {
				case err := <-pushed:
					t.Fatalf("Push on a full Block channel returned %v", err)
				case <-time.After(20 * time.Millisecond):
				}
				v, err := c.Pop()
				require.NoError(t, err)
				assert.Equal(t, uint64(0), v)
				require.NoError(t, <-pushed, "space wakes the blocked push")
				for want := uint64(1); want <= 2; want++ {
					v, err := c.Pop()
					require.NoError(t, err)
					assert.Equal(t, want, v)
				}
			})
		}
	})
}

func TestBlockedPushReleasedByConsumerClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				for _, batch := range []bool{false, true} {
					p, c := newChan[uint64](t, Config{Capacity: 2, Wait: w, Backend: b})
					require.NoError(t, p.Push(0))
					require.NoError(t, p.Push(1))
					pushed := make(chan error, 1)
					go func() {
						if batch {
							_, err := p.PushBatch([]uint64{3, 4})
							pushed <- err
						} else {
							pushed <- p.Push(2)
						}
					}()
					time.Sleep(5 * time.Millisecond)
					require.NoError(t, c.Close())
					select {
					case err := <-pushed:
						assert.ErrorIs(t, err, ErrClosed)
					case <-time.After(10 * time.Second):
						t.Fatal("blocked push not released by the consumer's Close")
					}
				}
			})
		}
	})
}

func TestBlockedPopReleasedByClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				for _, closer := range []string{"producer", "consumer"} {
					for _, pop := range []string{"Pop", "PopContext", "PopBatch"} {
						p, c := newChan[uint64](t, Config{Capacity: 4, Wait: w, Backend: b})
						popped := make(chan error, 1)
						go func() {
							var err error
							switch pop {
							case "Pop":
								_, err = c.Pop()
							case "PopContext":
								_, err = c.PopContext(context.Background())
							default:
								_, err = c.PopBatch(make([]uint64, 2))
							}
							popped <- err
						}()
						time.Sleep(5 * time.Millisecond)
						if closer == "producer" {
							require.NoError(t, p.Close())
						} else {
							require.NoError(t, c.Close())
						}
						select {
						case err := <-popped:
							assert.ErrorIs(t, err, ErrClosed, "%s released by the %s", pop, closer)
						case <-time.After(10 * time.Second):
							t.Fatalf("%s not released by the %s's Close", pop, closer)
						}
					}
				}
			})
		}
	})
}

func TestBackpressureDropOldest(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backpressure: DropOldest, Backend: b})
		for i := range 10 {
			require.NoError(t, p.Push(uint64(i)))
		}
		assert.Equal(t, uint64(6), p.Evicted())
		assert.Equal(t, uint64(6), c.Evicted())
		n, err := p.PushBatch([]uint64{10, 11})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		assert.Equal(t, uint64(8), p.Evicted())
		dst := make([]uint64, 8)
		n = c.TryPopBatch(dst)
		assert.Equal(t, []uint64{8, 9, 10, 11}, dst[:n], "the newest items survive, in order")

		// A batch longer than the ring evicts its own head.
		n, err = p.PushBatch([]uint64{0, 1, 2, 3, 4, 5})
		require.NoError(t, err)
		assert.Equal(t, 6, n)
		assert.Equal(t, uint64(10), p.Evicted())
		n = c.TryPopBatch(dst)
		assert.Equal(t, []uint64{2, 3, 4, 5}, dst[:n])
	})
}

func TestBackpressureReject(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 2, Backpressure: Reject, Backend: b})
		require.NoError(t, p.Push(1))
		require.NoError(t, p.Push(2))
		assert.ErrorIs(t, p.Push(3), ErrFull)
		assert.ErrorIs(t, p.PushContext(context.Background(), 3), ErrFull)
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), v)
		require.NoError(t, p.Push(3))
		assert.Zero(t, p.Evicted())
	})
}

func TestPopTimeout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 4, Wait: w, Backend: b})
				_, err := c.PopTimeout(5 * time.Millisecond)
				assert.ErrorIs(t, err, ErrTimeout)
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
				_, err = c.PopTimeout(0)
				assert.ErrorIs(t, err, ErrTimeout)

				go func() {
					time.Sleep(5 * time.Millisecond)
					_ = p.Push(5)
				}()
				v, err := c.PopTimeout(10 * time.Second)
				require.NoError(t, err)
				assert.Equal(t, uint64(5), v)
			})
		}
	})
}

func TestContextCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 1, Wait: w, Backend: b})
				ctx, cancel := context.WithCancel(context.Background())
				popped := make(chan error)
				go func() { _, err := c.PopContext(ctx); popped <- err }()
				time.Sleep(5 * time.Millisecond)
				cancel()
				assert.ErrorIs(t, <-popped, context.Canceled)

				require.NoError(t, p.Push(1))
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Millisecond)
				defer cancel()
				assert.ErrorIs(t, p.PushContext(ctx, 2), context.DeadlineExceeded)
				assert.ErrorIs(t, p.PushContext(ctx, 2), context.DeadlineExceeded, "a done ctx pushes nothing")
				assert.Equal(t, 1, c.Len())
			})
		}
	})
}

func TestNilContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 1, Backend: b})
		//lint:ignore SA1012 testing the nil-context error
		assert.ErrorIs(t, p.PushContext(nil, 1), ErrNilContext) //nolint:staticcheck
		//lint:ignore SA1012 testing the nil-context error
		_, err := c.PopContext(nil) //nolint:staticcheck
		assert.ErrorIs(t, err, ErrNilContext)
	})
}

func TestConsumerIterator(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b})
		go func() {
			for i := range 100 {
				_ = p.Push(uint64(i))
			}
			_ = p.Close()
		}()
		var want uint64
		for v := range c.All() {
			require.Equal(t, want, v)
			want++
			if want == 50 {
				break // leaves the rest in the channel
			}
		}
		for v := range c.All() {
			require.Equal(t, want, v)
			want++
		}
		assert.Equal(t, uint64(100), want)
	})
}

func TestInvalidConfig(t *testing.T) {
	tooLarge := uint64(MaxCapacity) * 2 // a power of two; math.MaxInt on 32-bit
	cases := []struct {
		name string
		cfg  Config
	}{
		{"negative capacity", Config{Capacity: -4}},
		{"capacity not a power of two", Config{Capacity: 1000}},
		{"capacity too large", Config{Capacity: int(min(tooLarge, math.MaxInt))}},
		{"absurd capacity", Config{Capacity: math.MaxInt}},
		{"unknown backpressure", Config{Backpressure: 9}},
		{"unknown backend", Config{Backend: 9}},
		{"negative spins", Config{Wait: SpinYield(-1)}},
		{"negative spin time", Config{Wait: Adaptive(-time.Nanosecond)}},
		{"spin time too long", Config{Wait: Adaptive(MaxSpinTime + 1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, c, err := New[uint64](tc.cfg)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Nil(t, p)
			assert.Nil(t, c)
		})
	}
	_, _, err := Make[uint64](0)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "capacity 0")

	_, _, err = New[struct{}](Config{})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "size 0")

	type withPtr struct { // blank fields: only their types matter
		_ int
		_ string
	}
	_, _, err = New[withPtr](Config{Backend: BackendC})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	if cBackendAvailable {
		assert.ErrorIs(t, err, ErrPointerType)
		assert.ErrorContains(t, err, "spillring.withPtr", "the error names the type")
	} else {
		assert.ErrorIs(t, err, ErrBackendUnavailable)
	}
	_, _, err = New[withPtr](Config{Backend: BackendGo})
	assert.NoError(t, err, "the Go backend takes any T")
}

func TestHasPointers(t *testing.T) {
	type flat struct { // blank fields: only their types matter
		_ int32
		_ [3]float64
		_ struct{ d uint8 }
	}
	type nested struct {
		_ [2]struct{ s []int }
	}
	assert.False(t, hasPointers(reflectType[flat]()))
	assert.False(t, hasPointers(reflectType[[0]*int]()))
	assert.True(t, hasPointers(reflectType[nested]()))
	for _, typ := range []any{"", []int{}, map[int]int{}, make(chan int), func() {}, new(int), any(nil)} {
		if typ == nil {
			continue
		}
		assert.True(t, hasPointers(reflectTypeOf(typ)), "%T", typ)
	}
	assert.True(t, hasPointers(reflectType[error]()))
}

// TestGoMemoryItems pushes items holding pointers through the Go backend and
// checks popped slots are cleared, so the ring does not keep garbage alive.
func TestGoMemoryItems(t *testing.T) {
	p, c := newChan[*[64]byte](t, Config{Capacity: 4})
	x := &[64]byte{1}
	require.NoError(t, p.Push(x))
	got, err := c.Pop()
	require.NoError(t, err)
	assert.Same(t, x, got)
	assert.Nil(t, *c.r.slot(0), "popped slot cleared")

	ps, cs := newChan[string](t, Config{Capacity: 4, Backpressure: DropOldest})
	_, err = ps.PushBatch([]string{"a", "b", "c", "d", "e"})
	require.NoError(t, err)
	dst := make([]string, 4)
	n := cs.TryPopBatch(dst)
	assert.Equal(t, []string{"b", "c", "d", "e"}, dst[:n])
	for i := range uint64(4) {
		assert.Empty(t, *cs.r.slot(i))
	}
}

func TestWrapAround(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, mode := range []Backpressure{Block, DropOldest, Reject} {
			t.Run(mode.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 8, Backpressure: mode, Backend: b})
				startAt(p, math.MaxUint64-20)
				next := uint64(0)
				want := uint64(0)
				buf := make([]uint64, 5)
				for range 30 { // crosses 2^64 several ring laps in
					for i := range buf {
						buf[i] = next + uint64(i)
					}
					n, err := p.PushBatch(buf[:3])
					require.NoError(t, err)
					require.Equal(t, 3, n)
					next += 3
					got := c.TryPopBatch(buf)
					for _, v := range buf[:got] {
						require.Equal(t, want, v)
						want++
					}
					require.NoError(t, p.Push(next))
					next++
					v, err := c.Pop()
					require.NoError(t, err)
					require.Equal(t, want, v)
					want++
				}
				assert.Equal(t, next, want)
				assert.Zero(t, p.Evicted())
			})
		}
	})
}

// TestCrossGoroutineProperties is the property test: random single and batch
// operations on both sides, concurrently; every item arrives exactly once and
// in order, and Close drains everything.
func TestCrossGoroutineProperties(t *testing.T) {
	n := 300_000
	if testing.Short() {
		n = 30_000
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, capacity := range []int{1, 4, 1024} {
			for _, w := range []WaitStrategy{SpinYield(DefaultSpins), Park(), Adaptive(DefaultSpinTime)} {
				for _, mode := range []Backpressure{Block, Reject} {
					t.Run(fmt.Sprintf("cap%d/%v/%v", capacity, w, mode), func(t *testing.T) {
						p, c := newChan[uint64](t, Config{Capacity: capacity, Wait: w, Backpressure: mode, Backend: b})
						errc := make(chan error, 1)
						go func() { errc <- produce(p, n, mode, rand.New(rand.NewPCG(1, uint64(capacity)))) }()
						got := consumeAll(t, c, rand.New(rand.NewPCG(2, uint64(capacity))))
						require.NoError(t, <-errc)
						require.Equal(t, uint64(n), got, "every item arrived")
					})
				}
			}
		}
	})
}

// produce pushes 0..n-1 with a random mix of Push, TryPush and PushBatch,
// retrying what was not taken, then closes.
func produce(p *Producer[uint64], n int, mode Backpressure, rng *rand.Rand) error {
	batch := make([]uint64, 64)
	next := uint64(0)
	for next < uint64(n) {
		switch rng.IntN(3) {
		case 0:
			if err := p.Push(next); err == nil {
				next++
			} else if !errors.Is(err, ErrFull) {
				return err
			}
		case 1:
			if err := p.TryPush(next); err == nil {
				next++
			} else if !errors.Is(err, ErrFull) {
				return err
			}
		default:
			k := min(1+rng.IntN(len(batch)), n-int(next))
			for i := range k {
				batch[i] = next + uint64(i)
			}
			m, err := p.PushBatch(batch[:k])
			next += uint64(m)
			if err != nil && !(mode == Reject && errors.Is(err, ErrFull)) {
				return err
			}
		}
	}
	return p.Close()
}

// consumeAll pops until closed with a random mix of the pop calls and
// returns how many in-order items it saw.
func consumeAll(t *testing.T, c *Consumer[uint64], rng *rand.Rand) uint64 {
	dst := make([]uint64, 64)
	want := uint64(0)
	check := func(v uint64) {
		if v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
		want++
	}
	for {
		switch rng.IntN(4) {
		case 0:
			v, err := c.Pop()
			if errors.Is(err, ErrClosed) {
				return want
			}
			require.NoError(t, err)
			check(v)
		case 1:
			v, err := c.TryPop()
			if errors.Is(err, ErrClosed) {
				return want
			}
			if err == nil {
				check(v)
			}
		case 2:
			k, err := c.PopBatch(dst[:1+rng.IntN(len(dst))])
			if errors.Is(err, ErrClosed) {
				return want
			}
			for _, v := range dst[:k] {
				check(v)
			}
		default:
			for _, v := range dst[:c.TryPopBatch(dst)] {
				check(v)
			}
		}
	}
}

// TestDropOldestAccounting runs a fast producer against a slow consumer
// under DropOldest: popped items are strictly increasing, evicted ones are
// handed to the hook strictly increasing too, none is both, and
// pushed == popped + evicted once drained.
func TestDropOldestAccounting(t *testing.T) {
	n := 400_000
	if testing.Short() {
		n = 40_000
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, capacity := range []int{1, 2, 64} {
			t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: capacity, Backpressure: DropOldest, Backend: b})
				var evicted []uint64
				p.r.onEvict = func(v uint64) error { evicted = append(evicted, v); return nil }
				go func() {
					batch := make([]uint64, 7)
					for i := 0; i < n; {
						if i%3 == 0 && i+len(batch) <= n {
							for j := range batch {
								batch[j] = uint64(i + j)
							}
							_, _ = p.PushBatch(batch)
							i += len(batch)
							continue
						}
						_ = p.Push(uint64(i))
						i++
					}
					_ = p.Close()
				}()
				var popped []uint64
				dst := make([]uint64, 3)
				for {
					k, err := c.PopBatch(dst)
					if errors.Is(err, ErrClosed) {
						break
					}
					popped = append(popped, dst[:k]...)
					if v, err := c.TryPop(); err == nil {
						popped = append(popped, v)
					}
				}
				assert.Equal(t, uint64(len(evicted)), p.Evicted())
				require.Equal(t, n, len(popped)+len(evicted), "pushed == popped + evicted")
				seen := make([]bool, n)
				for _, list := range [][]uint64{popped, evicted} {
					for i, v := range list {
						require.Less(t, v, uint64(n))
						require.False(t, seen[v], "item %d delivered twice", v)
						seen[v] = true
						if i > 0 {
							require.Greater(t, v, list[i-1], "order")
						}
					}
				}
			})
		}
	})
}

// TestPushHappensBeforePop checks the documented edge: Go memory written
// before a Push is visible after the Pop that returns the item. Under -race
// this is what the race shadows (race.go) are for on the C backend.
func TestPushHappensBeforePop(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		const n = 20_000
		data := make([]int, n)
		p, c := newChan[uint32](t, Config{Capacity: 16, Backend: b})
		go func() {
			for i := range n {
				data[i] = i * 3
				_ = p.Push(uint32(i))
			}
			_ = p.Close()
		}()
		for i := range c.All() {
			require.Equal(t, int(i)*3, data[i])
		}
	})
}

func TestStructItems(t *testing.T) {
	type rec struct {
		seq  uint64
		x, y float32
		tag  [5]byte
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[rec](t, Config{Capacity: 8, Backend: b})
		go func() {
			for i := range 1000 {
				_ = p.Push(rec{seq: uint64(i), x: float32(i), y: -float32(i), tag: [5]byte{byte(i)}})
			}
			_ = p.Close()
		}()
		var want uint64
		for v := range c.All() {
			require.Equal(t, rec{seq: want, x: float32(want), y: -float32(want), tag: [5]byte{byte(want)}}, v)
			want++
		}
		assert.Equal(t, uint64(1000), want)
	})
}

func TestNoAllocations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, mode := range []Backpressure{Block, DropOldest, Reject} {
			p, c := newChan[uint64](t, Config{Capacity: 64, Backpressure: mode, Backend: b})
			batch := make([]uint64, 16)
			allocs := testing.AllocsPerRun(1000, func() {
				_ = p.Push(1)
				_, _ = c.Pop()
				_ = p.TryPush(2)
				_, _ = c.TryPop()
				_, _ = p.PushBatch(batch)
				_, _ = c.PopBatch(batch)
			})
			assert.Zero(t, allocs, "%v: steady-state push/pop allocate", mode)
		}
	})
}

var _ sync.Locker = (*noCopy)(nil)

// backend reports which backend holds the ring.
func (r *ring[T]) backend() Backend {
	if r.cmem {
		return BackendC
	}
	return BackendGo
}

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }
func reflectTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }
