package spillring

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The MPSC conformance suite: every test runs on each backend.

// tag puts a producer id above a per-producer sequence number.
func tag(id, seq int) uint64    { return uint64(id)<<40 | uint64(seq) }
func untag(v uint64) (int, int) { return int(v >> 40), int(v & (1<<40 - 1)) }

// mpChan opens a channel and clones its producer k-1 times.
func mpChan(t *testing.T, cfg Config, k int) ([]*Producer[uint64], *Consumer[uint64]) {
	t.Helper()
	p, c := newChan[uint64](t, cfg)
	ps := []*Producer[uint64]{p}
	for range k - 1 {
		q, err := p.Clone()
		require.NoError(t, err)
		ps = append(ps, q)
	}
	return ps, c
}

// pushAll pushes n tagged items through p under any backpressure mode,
// retrying ErrFull (Reject), mixing single pushes and batches, then closes p.
func pushAll(p *Producer[uint64], id, n int) error {
	defer p.Close()
	var buf [7]uint64
	for seq := 0; seq < n; {
		if seq%3 == 0 {
			batch := buf[:0]
			for i := 0; i < len(buf) && seq+i < n; i++ {
				batch = append(batch, tag(id, seq+i))
			}
			for len(batch) > 0 {
				k, err := p.PushBatch(batch)
				seq += k
				batch = batch[k:]
				if err != nil && !errors.Is(err, ErrFull) {
					return err
				}
				if err != nil {
					runtime.Gosched() // Reject: let the consumer make room
				}
			}
			continue
		}
		err := p.Push(tag(id, seq))
		if errors.Is(err, ErrFull) {
			runtime.Gosched()
			continue
		}
		if err != nil {
			return err
		}
		seq++
	}
	return nil
}

// checkStream pops until closed and drained, checking per-producer FIFO and
// no duplicates. It returns how many items it saw from each producer.
func checkStream(t *testing.T, c *Consumer[uint64], k int, dropOldest bool) []int {
	t.Helper()
	next := make([]int, k) // the lowest seq still allowed from each producer
	seen := make([]int, k)
	buf := make([]uint64, 16)
	for {
		var vs []uint64
		if seen[0]%2 == 0 {
			v, err := c.Pop()
			if errors.Is(err, ErrClosed) {
				return seen
			}
			require.NoError(t, err)
			vs = []uint64{v}
		} else {
			n, err := c.PopBatch(buf)
			if errors.Is(err, ErrClosed) {
				return seen
			}
			require.NoError(t, err)
			vs = buf[:n]
		}
		for _, v := range vs {
			id, seq := untag(v)
			require.Less(t, id, k, "item %#x from an unknown producer", v)
			if dropOldest {
				// Evictions leave gaps; order and uniqueness remain.
				require.GreaterOrEqual(t, seq, next[id], "producer %d: %d after %d (duplicate or reordered)", id, seq, next[id]-1)
			} else {
				require.Equal(t, next[id], seq, "producer %d: lost, duplicated or reordered item", id)
			}
			next[id] = seq + 1
			seen[id]++
		}
	}
}

func TestMPSCProperties(t *testing.T) {
	n := 30000
	if testing.Short() {
		n = 5000
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, mode := range []Backpressure{Block, Reject, DropOldest} {
			for _, k := range []int{2, 4, 8} {
				for _, w := range []WaitStrategy{SpinYield(DefaultSpins), Park()} {
					t.Run(fmt.Sprintf("%v/%d/%v", mode, k, w), func(t *testing.T) {
						ps, c := mpChan(t, Config{Capacity: 64, Backpressure: mode, Wait: w, Backend: b}, k)
						require.True(t, c.IsUpgraded())
						errs := make(chan error, k)
						for id, p := range ps {
							go func() { errs <- pushAll(p, id, n) }()
						}
						seen := checkStream(t, c, k, mode == DropOldest)
						for range k {
							require.NoError(t, <-errs)
						}
						st := c.Stats()
						popped := 0
						for id := range k {
							popped += seen[id]
							if mode != DropOldest {
								assert.Equal(t, n, seen[id], "producer %d", id)
							}
						}
						// Exact once quiet: every item popped once or evicted once.
						assert.Equal(t, uint64(k*n), st.Pushed)
						assert.Equal(t, uint64(popped), st.Popped)
						assert.Equal(t, st.Pushed, st.Popped+st.Evicted)
						assert.Equal(t, 0, st.Len)
						assert.Equal(t, 0, st.Producers)
						if mode != DropOldest {
							assert.Zero(t, st.Evicted)
						}
					})
				}
			}
		}
	})
}

// TestUpgradeUnderLoad clones while the consumer is busy and the original
// producer has just pushed; nothing may be lost or reordered across the
// switch of protocol.
func TestUpgradeUnderLoad(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 40
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, capacity := range []int{1, 2, 16} {
			for round := range rounds {
				p, c := newChan[uint64](t, Config{Capacity: capacity, Backend: b})
				if round%2 == 1 {
					startAt(p, math.MaxUint64-uint64(capacity)) // switch across the wrap
				}
				const before, after = 50, 50
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seq := range before {
						assert.NoError(t, p.Push(tag(0, seq)))
					}
					q, err := p.Clone() // right after p's last SPSC push
					if !assert.NoError(t, err) {
						return
					}
					wg.Add(1)
					go func() { defer wg.Done(); assert.NoError(t, pushAll(q, 1, after)) }()
					for seq := before; seq < before+after; seq++ {
						assert.NoError(t, p.Push(tag(0, seq)))
					}
					assert.NoError(t, p.Close())
				}()
				seen := checkStream(t, c, 2, false)
				wg.Wait()
				require.Equal(t, []int{before + after, after}, seen, "capacity %d round %d", capacity, round)
			}
		}
	})
}

func TestCloneAndClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		assert.False(t, p.IsUpgraded())
		assert.Equal(t, 1, c.Stats().Producers)
		q, err := p.Clone()
		require.NoError(t, err)
		assert.True(t, p.IsUpgraded())
		assert.True(t, q.IsUpgraded())
		assert.Equal(t, 2, c.Stats().Producers)

		require.NoError(t, p.Push(1))
		require.NoError(t, q.Push(2))
		require.NoError(t, p.Close())
		assert.ErrorIs(t, p.Push(3), ErrClosed, "a closed handle pushes nothing")
		assert.ErrorIs(t, p.Close(), ErrClosed, "second Close of a handle")
		_, err = p.Clone()
		assert.ErrorIs(t, err, ErrClosed, "Clone of a closed handle")
		require.NoError(t, q.Push(4), "other handles stay open")

		for _, want := range []uint64{1, 2, 4} {
			v, err := c.Pop()
			require.NoError(t, err)
			assert.Equal(t, want, v)
		}
		_, err = c.TryPop()
		assert.ErrorIs(t, err, ErrEmpty, "not closed while a handle is open")
		require.NoError(t, q.Close())
		_, err = c.Pop()
		assert.ErrorIs(t, err, ErrClosed, "closed and drained once every handle closed")
		assert.Equal(t, 0, c.Stats().Producers)
	})
}

// A blocked Push is released by its own handle's Close from another
// goroutine, while the channel stays open for the other handles.
func TestBlockedPushReleasedByHandleClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 1, Wait: w, Backend: b})
				q, err := p.Clone()
				require.NoError(t, err)
				require.NoError(t, q.Push(1))
				done := make(chan error)
				go func() { done <- q.Push(2) }()
				time.Sleep(5 * time.Millisecond)
				require.NoError(t, q.Close())
				assert.ErrorIs(t, <-done, ErrClosed)
				v, err := c.Pop()
				require.NoError(t, err)
				assert.Equal(t, uint64(1), v)
				require.NoError(t, p.Push(3), "the channel is still open")
			})
		}
	})
}

// Consumer.Close releases every producer, blocked or not, under every wait
// strategy.
func TestConsumerCloseReleasesAllProducers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				ps, c := mpChan(t, Config{Capacity: 2, Wait: w, Backend: b}, 4)
				errs := make(chan error, len(ps))
				for i, p := range ps {
					go func() {
						for seq := 0; ; seq++ {
							if err := p.Push(tag(i, seq)); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				time.Sleep(5 * time.Millisecond) // let them fill the ring and block
				require.NoError(t, c.Close())
				for range ps {
					select {
					case err := <-errs:
						assert.ErrorIs(t, err, ErrClosed)
					case <-time.After(10 * time.Second):
						t.Fatal("a producer is still blocked after Consumer.Close")
					}
				}
				for _, p := range ps {
					assert.ErrorIs(t, p.TryPush(1), ErrClosed)
				}
			})
		}
	})
}

func TestStatsExactWhenQuiet(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		t.Run("Reject", func(t *testing.T) {
			p, c := newChan[uint64](t, Config{Capacity: 4, Backpressure: Reject, Backend: b})
			q, err := p.Clone()
			require.NoError(t, err)
			for i := range 3 {
				require.NoError(t, p.Push(uint64(i)))
			}
			require.NoError(t, q.Push(3))
			assert.ErrorIs(t, q.Push(4), ErrFull)
			n, err := p.PushBatch([]uint64{5, 6, 7})
			assert.Equal(t, 0, n)
			assert.ErrorIs(t, err, ErrFull)
			_, err = c.Pop()
			require.NoError(t, err)
			st := c.Stats()
			assert.Equal(t, Stats{Pushed: 4, Popped: 1, Rejected: 4, Len: 3, Cap: 4, Producers: 2, Upgraded: true}, st)
		})
		t.Run("DropOldest", func(t *testing.T) {
			p, c := newChan[uint64](t, Config{Capacity: 4, Backpressure: DropOldest, Backend: b})
			for i := range 6 {
				require.NoError(t, p.Push(uint64(i)))
			}
			q, err := p.Clone()
			require.NoError(t, err)
			n, err := q.PushBatch([]uint64{6, 7, 8})
			require.NoError(t, err)
			require.Equal(t, 3, n)
			for _, want := range []uint64{5, 6} {
				v, err := c.Pop()
				require.NoError(t, err)
				assert.Equal(t, want, v)
			}
			st := p.Stats()
			assert.Equal(t, Stats{Pushed: 9, Popped: 2, Evicted: 5, Len: 2, Cap: 4, Producers: 2, Upgraded: true}, st)
		})
		t.Run("Waits", func(t *testing.T) {
			p, c := newChan[uint64](t, Config{Capacity: 1, Backend: b})
			got := make(chan uint64)
			go func() {
				v, _ := c.Pop() // waits: nothing pushed yet
				got <- v
			}()
			for c.Stats().PopWaits == 0 {
				time.Sleep(time.Millisecond)
			}
			require.NoError(t, p.Push(1))
			assert.Equal(t, uint64(1), <-got)
			require.NoError(t, p.Push(2))
			done := make(chan error)
			go func() { done <- p.Push(3) }() // waits: the ring is full
			for p.Stats().PushWaits == 0 {
				time.Sleep(time.Millisecond)
			}
			_, err := c.Pop()
			require.NoError(t, err)
			require.NoError(t, <-done)
			st := c.Stats()
			assert.Equal(t, uint64(1), st.PushWaits)
			assert.Equal(t, uint64(1), st.PopWaits)
			assert.False(t, st.Upgraded)
		})
	})
}

func TestMPSCNoAllocations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 64, Backend: b})
		_, err := p.Clone()
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(1000, func() {
			_ = p.Push(1)
			_, _ = c.Pop()
		})
		assert.Zero(t, allocs)
	})
}

// DropOldest routes evictions into Config.Evicted: every item is popped or
// reaches the spout, in push order, single-producer and multi-producer.
func TestEvictedSpout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, clone := range []bool{false, true} {
			t.Run(fmt.Sprint("clone=", clone), func(t *testing.T) {
				sink := Collect[uint64]()
				p, c := newChan[uint64](t, Config{Capacity: 4, Backpressure: DropOldest, Evicted: sink, Backend: b})
				if clone {
					_, err := p.Clone()
					require.NoError(t, err)
				}
				for i := range 6 {
					require.NoError(t, p.Push(uint64(i)))
				}
				n, err := p.PushBatch([]uint64{6, 7, 8, 9, 10, 11})
				require.NoError(t, err)
				require.Equal(t, 6, n)
				var popped []uint64
				for range 4 {
					v, err := c.Pop()
					require.NoError(t, err)
					popped = append(popped, v)
				}
				assert.Equal(t, []uint64{8, 9, 10, 11}, popped)
				assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5, 6, 7}, sink.Take())
				assert.Equal(t, uint64(8), c.Stats().Evicted)
			})
		}
	})
}

func TestEvictedSpoutRefuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		boom := errors.New("sink down")
		sink, err := Func(func(uint64) error { return boom }, nil)
		require.NoError(t, err)
		p, c := newChan[uint64](t, Config{Capacity: 1, Backpressure: DropOldest, Evicted: sink, Backend: b})
		require.NoError(t, p.Push(1))
		err = p.Push(2)
		assert.ErrorIs(t, err, ErrEvictedLost)
		assert.ErrorIs(t, err, boom)
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(2), v, "the push itself took its item")
		assert.Equal(t, uint64(1), c.Stats().Evicted)
	})
}

func TestEvictedSpoutInvalid(t *testing.T) {
	_, _, err := New[uint64](Config{Backpressure: DropOldest, Evicted: Collect[string]()})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "Spout[uint64]")
	_, _, err = New[uint64](Config{Backpressure: Block, Evicted: Collect[uint64]()})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "DropOldest")
}
