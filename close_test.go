package spillring

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The promise of F1-F3 (drain.go): a push that returns success has put its
// item in the channel, and the consumer pops it (or DropOldest evicts and
// counts it) exactly once, even if the producer side closes while the push
// runs; a push that returns an error did not take its item. These tests
// close from a goroutine that is not the pushing one, at random moments.

// TestCloseReleasesBlockedPushWithoutLoss is the report that started it: a
// Push blocked on a full channel, Close, then the consumer makes room. The
// Push must either fail (and its item never appear) or succeed (and its item
// be popped).
func TestCloseReleasesBlockedPushWithoutLoss(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, w := range waits {
			t.Run(w.String(), func(t *testing.T) {
				for range 20 {
					p, c := newChan[int](t, Config{Capacity: 1, Wait: w, Backend: b})
					require.NoError(t, p.Push(1))
					res := make(chan error, 1)
					go func() { res <- p.Push(2) }()
					time.Sleep(time.Millisecond)
					require.NoError(t, p.Close())
					v, err := c.Pop()
					require.NoError(t, err)
					require.Equal(t, 1, v)
					v2, err2 := c.Pop()
					pushErr := <-res
					if pushErr == nil {
						require.NoError(t, err2, "Push(2) returned nil, so 2 must be popped")
						require.Equal(t, 2, v2)
						_, err2 = c.Pop()
					} else {
						require.ErrorIs(t, pushErr, ErrClosed)
					}
					require.ErrorIs(t, err2, ErrClosed)
					_, err = c.TryPop()
					require.ErrorIs(t, err, ErrClosed, "drained stays drained")
				}
			})
		}
	})
}

// pushForm is one way of pushing items; it returns how many of vs it took.
type pushForm struct {
	name string
	push func(p *Producer[uint64], vs []uint64) (int, error)
}

var pushForms = []pushForm{
	{"Push", func(p *Producer[uint64], vs []uint64) (int, error) { return one(p.Push(vs[0])) }},
	{"TryPush", func(p *Producer[uint64], vs []uint64) (int, error) { return one(p.TryPush(vs[0])) }},
	{"PushContext", func(p *Producer[uint64], vs []uint64) (int, error) {
		return one(p.PushContext(context.Background(), vs[0]))
	}},
	{"PushBatch", func(p *Producer[uint64], vs []uint64) (int, error) { return p.PushBatch(vs) }},
}

func one(err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// closeRace runs producers pushing distinct items with form f against a
// consumer popping until ErrClosed, closes every producer handle from
// another goroutine after delay, and checks the accounting exactly.
func closeRace(t *testing.T, cfg Config, producers int, f pushForm, delay time.Duration, seed uint64) {
	defer func() {
		if t.Failed() {
			t.Logf("capacity %d, close after %v, seed %d", cfg.Capacity, delay, seed)
		}
	}()
	var evMu sync.Mutex
	var evicted []uint64
	if cfg.Backpressure == DropOldest {
		sp, err := Func(func(v uint64) error {
			evMu.Lock()
			evicted = append(evicted, v)
			evMu.Unlock()
			return nil
		}, nil)
		require.NoError(t, err)
		cfg.Evicted = Spout[uint64](sp)
	}
	p, c := newChan[uint64](t, cfg)
	handles := []*Producer[uint64]{p}
	for len(handles) < producers {
		q, err := p.Clone()
		require.NoError(t, err)
		handles = append(handles, q)
	}

	// Producer g pushes g<<32 | i for i = 0, 1, ...
	acked := make([][]uint64, producers)
	failed := make([][]uint64, producers)
	var wg sync.WaitGroup
	for g, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			next := uint64(0)
			for {
				n := 1
				if f.name == "PushBatch" {
					n = 1 + rng.IntN(2*cfg.Capacity+1)
				}
				vs := make([]uint64, n)
				for i := range vs {
					vs[i] = uint64(g)<<32 | next
					next++
				}
				k, err := f.push(h, vs)
				acked[g] = append(acked[g], vs[:k]...)
				failed[g] = append(failed[g], vs[k:]...)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil && !errors.Is(err, ErrFull) {
					t.Errorf("push: %v", err)
					return
				}
			}
		}()
	}

	var popped []uint64
	consumed := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 99))
		buf := make([]uint64, 8)
		for {
			var err error
			switch rng.IntN(4) {
			case 0:
				var v uint64
				if v, err = c.Pop(); err == nil {
					popped = append(popped, v)
				}
			case 1:
				var v uint64
				if v, err = c.TryPop(); err == nil {
					popped = append(popped, v)
				} else if errors.Is(err, ErrEmpty) {
					err = nil
				}
			case 2:
				var n int
				n, err = c.PopBatch(buf[:1+rng.IntN(len(buf))])
				popped = append(popped, buf[:n]...)
			default:
				var v uint64
				if v, err = c.PopContext(context.Background()); err == nil {
					popped = append(popped, v)
				}
			}
			if err != nil {
				consumed <- err
				return
			}
		}
	}()

	time.Sleep(delay)
	for _, h := range handles {
		require.NoError(t, h.Close())
	}
	wg.Wait()
	select {
	case err := <-consumed:
		require.ErrorIs(t, err, ErrClosed)
	case <-time.After(20 * time.Second):
		t.Fatalf("consumer did not see the end of the channel")
	}

	// Every acknowledged item was popped or evicted exactly once, nothing
	// else was, and each producer's popped items keep their order.
	fate := map[uint64]string{}
	for _, v := range popped {
		require.Emptyf(t, fate[v], "%#x popped twice", v)
		fate[v] = "popped"
	}
	for _, v := range evicted {
		require.Emptyf(t, fate[v], "%#x evicted and %s", v, fate[v])
		fate[v] = "evicted"
	}
	total := 0
	for g := range handles {
		for _, v := range acked[g] {
			require.NotEmptyf(t, fate[v], "%#x: its push succeeded but it was never popped or evicted", v)
		}
		for _, v := range failed[g] {
			require.Emptyf(t, fate[v], "%#x: its push failed but it was %s", v, fate[v])
		}
		total += len(acked[g])
	}
	require.Equal(t, total, len(popped)+len(evicted), "pushed == popped + evicted")
	last := map[uint64]uint64{}
	for _, v := range popped {
		g := v >> 32
		if prev, ok := last[g]; ok {
			require.Lessf(t, prev, v, "producer %d out of order", g)
		}
		last[g] = v
	}
	st := p.Stats()
	assert.Equal(t, uint64(total), st.Pushed, "Stats.Pushed")
	assert.Equal(t, uint64(len(popped)), st.Popped, "Stats.Popped")
	assert.Equal(t, uint64(len(evicted)), st.Evicted, "Stats.Evicted")
	assert.Equal(t, 0, st.Len, "Stats.Len")
}

// TestCloseRaceKeepsEveryAcknowledgedItem races Close against every push
// form, SPSC and MPSC, every backpressure mode and wait strategy, both
// backends, capacities 1 to 64.
func TestCloseRaceKeepsEveryAcknowledgedItem(t *testing.T) {
	caps := []int{1, 2, 4, 8, 16, 32, 64}
	if testing.Short() {
		caps = []int{1, 4, 64}
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, bp := range []Backpressure{Block, Reject, DropOldest} {
			for _, w := range waits {
				for _, producers := range []int{1, 3} {
					for _, f := range pushForms {
						name := fmt.Sprintf("%v/%v/p%d/%s", bp, w, producers, f.name)
						t.Run(name, func(t *testing.T) {
							for _, capacity := range caps {
								seed := rand.Uint64()
								delay := time.Duration(rand.IntN(300)) * time.Microsecond
								closeRace(t, Config{Capacity: capacity, Backpressure: bp, Wait: w, Backend: b}, producers, f, delay, seed)
							}
						})
					}
				}
			}
		}
	})
}

// TestMPSCRejectRefreshesStaleHead: a producer's cached view of head must
// not turn away what fits (issue: 1, ErrFull on an empty channel).
func TestMPSCRejectRefreshesStaleHead(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[int](t, Config{Capacity: 4, Backpressure: Reject, Backend: b})
		q, err := p.Clone()
		require.NoError(t, err)
		n, err := p.PushBatch([]int{1, 2, 3})
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Equal(t, 3, c.TryPopBatch(make([]int, 4)))
		n, err = p.PushBatch([]int{4, 5, 6})
		require.NoError(t, err, "the channel is empty")
		require.Equal(t, 3, n)
		// The other handle's view is older still.
		require.NoError(t, q.Push(7))
		require.Equal(t, 4, c.Len())
		require.ErrorIs(t, q.TryPush(8), ErrFull)
		require.Equal(t, 4, c.TryPopBatch(make([]int, 4)))
		for i := range 4 {
			require.NoError(t, p.TryPush(10+i), "single pushes into an empty ring")
		}
	})
}

// TestLastCloseDuringPopNeverYieldsZeros: the last Close returns the slot
// pages (reclaim), so a pop or eviction in flight may read zeros; it must
// re-check and discard them, never hand them out as items. Every item here
// is nonzero.
func TestLastCloseDuringPopNeverYieldsZeros(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 20
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, bp := range []Backpressure{Block, DropOldest} {
			t.Run(bp.String(), func(t *testing.T) {
				for round := range rounds {
					var bad atomic.Int64
					cfg := Config{Capacity: 4096, Backend: b, Backpressure: bp, Wait: Spin()}
					if bp == DropOldest {
						sp, err := Func(func(v uint64) error {
							if v == 0 {
								bad.Add(1)
							}
							return nil
						}, nil)
						require.NoError(t, err)
						cfg.Evicted = Spout[uint64](sp)
					}
					p, c := newChan[uint64](t, cfg)
					for i := range 4096 {
						require.NoError(t, p.Push(uint64(i+1)))
					}
					var wg sync.WaitGroup
					wg.Add(2)
					go func() { // consumer: every form, until the end
						defer wg.Done()
						buf := make([]uint64, 16)
						for i := 0; ; i++ {
							var vs []uint64
							var err error
							switch i % 3 {
							case 0:
								var v uint64
								v, err = c.Pop()
								vs = []uint64{v}
							case 1:
								var v uint64
								v, err = c.TryPop()
								vs = []uint64{v}
							default:
								var n int
								n, err = c.PopBatch(buf)
								vs = buf[:n]
							}
							if err != nil {
								return
							}
							for _, v := range vs {
								if v == 0 {
									bad.Add(1)
								}
							}
						}
					}()
					go func() { // producer: keeps the ring full (DropOldest evicts)
						defer wg.Done()
						for i := uint64(5000); ; i++ {
							if p.TryPush(i) == ErrClosed {
								return
							}
						}
					}()
					time.Sleep(time.Duration(round%7) * 20 * time.Microsecond)
					require.NoError(t, c.Close())
					_ = p.Close()
					wg.Wait()
					require.Zero(t, bad.Load(), "zeros handed out as items (round %d)", round)
				}
			})
		}
	})
}
