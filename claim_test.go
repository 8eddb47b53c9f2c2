package spillring

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimModes is every (backpressure, producer mode) pair claims work in.
var claimModes = []struct {
	name  string
	bp    Backpressure
	multi bool
}{
	{"Block", Block, false}, {"Reject", Reject, false}, {"DropOldest", DropOldest, false},
	{"Block/MPSC", Block, true}, {"Reject/MPSC", Reject, true}, {"DropOldest/MPSC", DropOldest, true},
}

// eachClaimMode runs f on both backends in every claim mode. In MPSC mode
// p has been cloned (the clone is returned as q); otherwise q is nil.
func eachClaimMode(t *testing.T, capacity int, f func(t *testing.T, p, q *Producer[uint64], c *Consumer[uint64], bp Backpressure)) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, m := range claimModes {
			t.Run(m.name, func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: capacity, Backend: b, Backpressure: m.bp})
				var q *Producer[uint64]
				if m.multi {
					var err error
					q, err = p.Clone()
					require.NoError(t, err)
				}
				f(t, p, q, c, m.bp)
			})
		}
	})
}

// fill writes v, v+1, ... into the spans and returns the next value.
func fill(a, b []uint64, v uint64) uint64 {
	for i := range a {
		a[i] = v
		v++
	}
	for i := range b {
		b[i] = v
		v++
	}
	return v
}

func popN(t *testing.T, c *Consumer[uint64], n int) []uint64 {
	t.Helper()
	var got []uint64
	for range n {
		v, err := c.TryPop()
		require.NoError(t, err)
		got = append(got, v)
	}
	return got
}

func seq(from, to uint64) []uint64 {
	var s []uint64
	for v := from; v < to; v++ {
		s = append(s, v)
	}
	return s
}

func TestClaimCommit(t *testing.T) {
	eachClaimMode(t, 8, func(t *testing.T, p, _ *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		// Move the ring's position so the next claim wraps: 6 in, 6 out.
		for v := range uint64(6) {
			require.NoError(t, p.Push(v))
		}
		assert.Equal(t, seq(0, 6), popN(t, c, 6))

		a, b, err := p.Claim(5)
		require.NoError(t, err)
		assert.Len(t, a, 2, "slots 6 and 7")
		assert.Len(t, b, 3, "then slots 0..2")
		assert.Equal(t, 2, cap(a), "a span is capped at its length")
		fill(a, b, 100)
		n, err := p.Commit(5)
		require.NoError(t, err)
		assert.Equal(t, 5, n)
		assert.Equal(t, 5, c.Len())
		assert.Equal(t, seq(100, 105), popN(t, c, 5))

		// A partial commit: the rest is given back.
		a, b, err = p.Claim(4)
		require.NoError(t, err)
		fill(a, b, 200)
		n, err = p.Commit(2)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		require.NoError(t, p.Push(202))
		assert.Equal(t, []uint64{200, 201, 202}, popN(t, c, 3))

		// An abort publishes nothing.
		a, b, err = p.Claim(3)
		require.NoError(t, err)
		fill(a, b, 300)
		require.NoError(t, p.Abort())
		_, err = c.TryPop()
		assert.ErrorIs(t, err, ErrEmpty)
		require.NoError(t, p.Push(303))
		assert.Equal(t, []uint64{303}, popN(t, c, 1))

		st := c.Stats()
		assert.Equal(t, st.Pushed, st.Popped+st.Evicted+uint64(st.Len), "%v", st)
		assert.Equal(t, uint64(6+5+3+1), st.Popped, "%v", st)
		assert.Equal(t, 0, st.Claims)
	})
}

func TestClaimTakesWhatIsFree(t *testing.T) {
	eachClaimMode(t, 4, func(t *testing.T, p, _ *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		require.NoError(t, p.Push(1))
		require.NoError(t, p.Push(2))
		a, b, err := p.Claim(10)
		require.NoError(t, err)
		if bp == DropOldest {
			// A DropOldest claim evicts to make room: the whole ring.
			assert.Equal(t, 4, len(a)+len(b))
			fill(a, b, 10)
			n, err := p.Commit(4)
			require.NoError(t, err)
			assert.Equal(t, 4, n)
			assert.Equal(t, uint64(2), c.Evicted())
			assert.Equal(t, seq(10, 14), popN(t, c, 4))
			return
		}
		assert.Equal(t, 2, len(a)+len(b), "the two free slots")
		fill(a, b, 10)
		_, err = p.Commit(2)
		require.NoError(t, err)
		_, _, err = p.TryClaim(1)
		assert.ErrorIs(t, err, ErrFull)
		if bp == Reject {
			_, _, err = p.Claim(1)
			assert.ErrorIs(t, err, ErrFull, "Reject never waits")
		}
		assert.Equal(t, []uint64{1, 2, 10, 11}, popN(t, c, 4))
	})
}

func TestClaimErrors(t *testing.T) {
	eachClaimMode(t, 8, func(t *testing.T, p, q *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		_, err := p.Commit(0)
		assert.ErrorIs(t, err, ErrNoClaim, "commit without a claim")
		assert.ErrorIs(t, p.Abort(), ErrNoClaim)
		_, _, err = p.Claim(0)
		assert.ErrorIs(t, err, ErrClaimCount)
		_, _, err = p.ClaimContext(nil, 1) //lint:ignore SA1012 the nil is the test
		assert.ErrorIs(t, err, ErrNilContext)

		a, _, err := p.Claim(2)
		require.NoError(t, err)
		a[0], a[1] = 7, 8
		_, _, err = p.Claim(1)
		assert.ErrorIs(t, err, ErrClaimPending, "a second claim")
		assert.ErrorIs(t, p.Push(1), ErrClaimPending)
		assert.ErrorIs(t, p.TryPush(1), ErrClaimPending)
		assert.ErrorIs(t, p.PushTimeout(1, 0), ErrClaimPending)
		assert.ErrorIs(t, p.PushContext(t.Context(), 1), ErrClaimPending)
		_, err = p.PushBatch([]uint64{1})
		assert.ErrorIs(t, err, ErrClaimPending)
		_, err = p.Clone()
		assert.ErrorIs(t, err, ErrClaimPending)
		_, err = p.Commit(3)
		assert.ErrorIs(t, err, ErrClaimCount, "more than claimed")
		_, err = p.Commit(-1)
		assert.ErrorIs(t, err, ErrClaimCount)
		wantClaims := 0 // a single producer's claim holds no one back: not counted
		if q != nil {
			wantClaims = 1
		}
		assert.Equal(t, wantClaims, p.Stats().Claims, "still pending")
		n, err := p.Commit(2)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		_, err = p.Commit(2)
		assert.ErrorIs(t, err, ErrNoClaim, "a double commit")
		if q != nil {
			require.NoError(t, q.Push(9), "another handle's pushes go on")
		}

		// The consumer's side.
		assert.ErrorIs(t, c.Release(0), ErrNoClaim)
		_, _, err = c.ReadClaim(0)
		assert.ErrorIs(t, err, ErrClaimCount)
		ra, _, err := c.ReadClaim(1)
		require.NoError(t, err)
		assert.Equal(t, []uint64{7}, ra)
		_, _, err = c.ReadClaim(1)
		assert.ErrorIs(t, err, ErrClaimPending)
		_, err = c.Pop()
		assert.ErrorIs(t, err, ErrClaimPending)
		_, err = c.TryPop()
		assert.ErrorIs(t, err, ErrClaimPending)
		_, err = c.PopBatch(make([]uint64, 2))
		assert.ErrorIs(t, err, ErrClaimPending)
		assert.Equal(t, 0, c.TryPopBatch(make([]uint64, 2)))
		assert.ErrorIs(t, c.Release(2), ErrClaimCount)
		require.NoError(t, c.Release(1))
		assert.ErrorIs(t, c.Release(1), ErrNoClaim)
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(8), v)
	})
}

func TestReadClaim(t *testing.T) {
	eachClaimMode(t, 8, func(t *testing.T, p, _ *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		for v := range uint64(6) {
			require.NoError(t, p.Push(v))
		}
		assert.Equal(t, seq(0, 6), popN(t, c, 6))
		_, err := p.PushBatch(seq(10, 15))
		require.NoError(t, err)

		a, b, err := c.ReadClaim(10)
		require.NoError(t, err)
		assert.Equal(t, []uint64{10, 11}, a, "in place, slots 6 and 7")
		assert.Equal(t, []uint64{12, 13, 14}, b)
		require.NoError(t, c.Release(2))
		// The other three stay, the oldest, and come first.
		a, b, err = c.ReadClaim(2)
		require.NoError(t, err)
		assert.Equal(t, []uint64{12, 13}, append(a, b...))
		require.NoError(t, c.Release(1))
		require.NoError(t, p.Push(15))
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(13), v)
		assert.Equal(t, []uint64{14, 15}, popN(t, c, 2))
		_, _, err = c.TryReadClaim(1)
		assert.ErrorIs(t, err, ErrEmpty)

		st := c.Stats()
		assert.Equal(t, st.Pushed, st.Popped+st.Evicted+uint64(st.Len), "%v", st)
		assert.Equal(t, uint64(12), st.Popped, "%v", st)
	})
}

// TestReadClaimHeldDropOldest: under DropOldest the items a read claim
// leaves unreleased were already won from the producers; a producer that
// laps the ring waits for their slots rather than evict them, and the next
// pop hands them out first.
func TestReadClaimHeldDropOldest(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, multi := range []bool{false, true} {
			t.Run(fmt.Sprint("multi=", multi), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b, Backpressure: DropOldest})
				if multi {
					_, err := p.Clone()
					require.NoError(t, err)
				}
				_, err := p.PushBatch([]uint64{1, 2, 3, 4})
				require.NoError(t, err)
				a, _, err := c.ReadClaim(3)
				require.NoError(t, err)
				assert.Equal(t, []uint64{1, 2, 3}, a)
				require.NoError(t, c.Release(1)) // 2 and 3 stay held
				st := c.Stats()
				assert.Equal(t, 3, st.Len, "2 and 3 held, 4 in the ring: %v", st)
				assert.Equal(t, uint64(1), st.Popped, "%v", st)
				assert.Equal(t, st.Pushed, st.Popped+st.Evicted+uint64(st.Len), "%v", st)
				require.NoError(t, p.Push(5)) // into item 1's slot, released
				done := make(chan error, 1)
				go func() { done <- p.Push(6) }() // item 2's slot: held
				select {
				case err := <-done:
					t.Fatalf("a push went past a held item (%v)", err)
				case <-time.After(20 * time.Millisecond):
				}
				v, err := c.Pop()
				require.NoError(t, err)
				assert.Equal(t, uint64(2), v, "held items first")
				require.NoError(t, <-done, "the pop freed the slot")
				assert.Equal(t, []uint64{3, 4, 5, 6}, popN(t, c, 4))
				assert.Zero(t, c.Evicted(), "held items are never evicted")
				st = c.Stats()
				assert.Equal(t, uint64(6), st.Popped, "%v", st)
				assert.Equal(t, st.Pushed, st.Popped+st.Evicted+uint64(st.Len), "%v", st)
			})
		}
	})
}

// TestClaimPadding: in MPSC mode a partial commit whose rest cannot be given
// back (a later claim exists) leaves padding the consumer steps over; with
// no later claim the rest is given back and no padding is left.
func TestClaimPadding(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, bp := range []Backpressure{Block, Reject, DropOldest} {
			t.Run(bp.String(), func(t *testing.T) {
				p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b, Backpressure: bp})
				q, err := p.Clone()
				require.NoError(t, err)

				a, _, err := p.Claim(4)
				require.NoError(t, err)
				qa, _, err := q.Claim(2)
				require.NoError(t, err)
				qa[0], qa[1] = 20, 21
				_, err = q.Commit(2)
				require.NoError(t, err)
				_, err = c.TryPop()
				assert.ErrorIs(t, err, ErrEmpty, "held back by p's claim")
				st := c.Stats()
				assert.Equal(t, 1, st.Claims)
				time.Sleep(time.Millisecond)
				st = p.Stats() // timed from the first Stats that saw the claim
				assert.Equal(t, 1, st.Claims)
				assert.GreaterOrEqual(t, st.OldestClaim, time.Millisecond)
				a[0] = 10
				n, err := p.Commit(1)
				require.NoError(t, err)
				assert.Equal(t, 1, n)
				assert.Equal(t, 3, c.Len())
				assert.Equal(t, []uint64{10, 20, 21}, popN(t, c, 3))
				_, err = c.TryPop()
				assert.ErrorIs(t, err, ErrEmpty)
				st = c.Stats()
				assert.Equal(t, uint64(3), st.Padded, "%v", st)
				assert.Equal(t, uint64(3), st.Pushed, "%v", st)
				assert.Equal(t, uint64(3), st.Popped, "%v", st)
				assert.Equal(t, 0, st.Len)

				// No later claim: given back, not padded.
				a, b, err := q.Claim(4)
				require.NoError(t, err)
				fill(a, b, 30)
				_, err = q.Commit(2)
				require.NoError(t, err)
				require.NoError(t, p.Push(32))
				assert.Equal(t, []uint64{30, 31, 32}, popN(t, c, 3))
				st = c.Stats()
				want := uint64(3) // the rest went back: tail moved back
				if bp == DropOldest {
					want = 5 // DropOldest claims are always padded
				}
				assert.Equal(t, want, st.Padded, "%v", st)
				assert.Equal(t, st.Pushed, st.Popped+st.Evicted+uint64(st.Len), "%v", st)
				assert.Equal(t, uint64(6), st.Popped, "%v", st)
			})
		}
	})
}

// TestClaimClose: a claim blocked on a full channel is released by Close;
// a commit after the producer side closed takes nothing; the consumer
// drains everything committed before the close, then gets ErrClosed.
func TestClaimClose(t *testing.T) {
	eachClaimMode(t, 4, func(t *testing.T, p, q *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		a, b, err := p.Claim(2)
		require.NoError(t, err)
		fill(a, b, 1)
		_, err = p.Commit(2)
		require.NoError(t, err)
		if bp == Block {
			_, err = p.PushBatch([]uint64{3, 4})
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() {
				_, _, err := p.Claim(1) // full: waits
				done <- err
			}()
			time.Sleep(5 * time.Millisecond)
			if q != nil {
				require.NoError(t, q.Close())
			}
			require.NoError(t, p.Close())
			assert.ErrorIs(t, <-done, ErrClosed, "a blocked claim is released")
			assert.Equal(t, seq(1, 5), popN(t, c, 4))
		} else {
			a, _, err := p.Claim(1)
			require.NoError(t, err)
			a[0] = 99
			if q != nil {
				require.NoError(t, q.Close())
			}
			require.NoError(t, p.Close())
			n, err := p.Commit(1)
			assert.ErrorIs(t, err, ErrClosed, "a commit after the close")
			assert.Equal(t, 0, n)
			assert.Equal(t, []uint64{1, 2}, popN(t, c, 2))
		}
		_, _, err = c.ReadClaim(1)
		assert.ErrorIs(t, err, ErrClosed, "closed and drained")
		_, err = c.Pop()
		assert.ErrorIs(t, err, ErrClosed)
		_, _, err = p.Claim(1)
		assert.ErrorIs(t, err, ErrClosed)
	})
}

// TestReadClaimBlocks: ReadClaim waits for an item, and ReadClaimContext
// gives up with the context.
func TestReadClaimBlocks(t *testing.T) {
	eachClaimMode(t, 4, func(t *testing.T, p, _ *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		defer cancel()
		_, _, err := c.ReadClaimContext(ctx, 1)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		_, _, err = c.ReadClaimContext(nil, 1) //lint:ignore SA1012 the nil is the test
		assert.ErrorIs(t, err, ErrNilContext)
		committed := make(chan error, 1)
		go func() {
			time.Sleep(5 * time.Millisecond)
			a, _, err := p.Claim(1)
			if err == nil {
				a[0] = 42
				_, err = p.Commit(1)
			}
			committed <- err
		}()
		a, _, err := c.ReadClaim(4)
		require.NoError(t, err)
		assert.Equal(t, []uint64{42}, a)
		require.NoError(t, c.Release(1))
		// The item can be read before Commit returns: p is the
		// goroutine's until then.
		require.NoError(t, <-committed)
		if bp == Block {
			for v := range uint64(4) {
				require.NoError(t, p.Push(v))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			defer cancel()
			_, _, err = p.ClaimContext(ctx, 1)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "full: waited, then gave up")
			assert.Equal(t, 0, p.Stats().Claims)
		}
	})
}

// TestClaimNoAllocs: a claim, its commit, a read claim and its release
// allocate nothing.
func TestClaimNoAllocs(t *testing.T) {
	eachClaimMode(t, 64, func(t *testing.T, p, _ *Producer[uint64], c *Consumer[uint64], bp Backpressure) {
		allocs := testing.AllocsPerRun(200, func() {
			a, b, err := p.Claim(16)
			if err != nil {
				panic(err)
			}
			fill(a, b, 1)
			if _, err := p.Commit(len(a) + len(b)); err != nil {
				panic(err)
			}
			a, b, err = c.ReadClaim(16)
			if err != nil {
				panic(err)
			}
			if err := c.Release(len(a) + len(b)); err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs)
	})
}

// poison marks the slots a claim wrote but did not commit: no consumer may
// ever see one.
const poison = 1 << 63

// TestClaimConcurrent runs producers that mix claims (with partial commits
// and aborts) and pushes against a consumer that mixes read claims (with
// partial releases) and pops, on small rings that wrap often. Items are
// producer<<32 | n, n counting each producer's committed items. Block and
// Reject: each producer's items arrive exactly once, in order, with no
// gap. DropOldest: in order, and delivered plus evicted is every item.
// No uncommitted slot is ever read.
func TestClaimConcurrent(t *testing.T) {
	ops := 20000
	if testing.Short() {
		ops = 3000
	}
	eachBackend(t, func(t *testing.T, b Backend) {
		for _, bp := range []Backpressure{Block, Reject, DropOldest} {
			for _, producers := range []int{1, 3} {
				for _, capacity := range []int{8, 64} {
					t.Run(fmt.Sprintf("%v/p%d/cap%d", bp, producers, capacity), func(t *testing.T) {
						claimConcurrent(t, Config{Capacity: capacity, Backend: b, Backpressure: bp}, producers, ops)
					})
				}
			}
		}
	})
}

func claimConcurrent(t *testing.T, cfg Config, producers, ops int) {
	handles, c := mpChan(t, cfg, producers)
	counts := make([]uint64, producers)
	var wg sync.WaitGroup
	errs := make(chan error, producers+1)
	for id, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer h.Close()
			rng := rand.New(rand.NewPCG(uint64(id), 7))
			next := uint64(0)
			item := func(n uint64) uint64 { return uint64(id)<<32 | n }
			for range ops {
				if rng.IntN(4) == 0 {
					err := h.Push(item(next))
					for errors.Is(err, ErrFull) {
						time.Sleep(time.Microsecond)
						err = h.Push(item(next))
					}
					if err != nil {
						errs <- fmt.Errorf("push: %w", err)
						return
					}
					next++
					continue
				}
				a, b, err := h.Claim(1 + rng.IntN(5))
				for errors.Is(err, ErrFull) {
					time.Sleep(time.Microsecond)
					a, b, err = h.Claim(1 + rng.IntN(5))
				}
				if err != nil {
					errs <- fmt.Errorf("claim: %w", err)
					return
				}
				n := len(a) + len(b)
				k := n
				if rng.IntN(3) == 0 {
					k = rng.IntN(n + 1) // partial, or an abort
				}
				for i := range n {
					v := item(next + uint64(i))
					if i >= k {
						v |= poison
					}
					if i < len(a) {
						a[i] = v
					} else {
						b[i-len(a)] = v
					}
				}
				took, err := h.Commit(k)
				if err != nil || took != k {
					errs <- fmt.Errorf("commit %d of %d: took %d, %v", k, n, took, err)
					return
				}
				next += uint64(k)
			}
			counts[id] = next
		}()
	}

	seen := make([]uint64, producers) // next expected n per producer
	var delivered uint64
	check := func(v uint64) error {
		if v&poison != 0 {
			return fmt.Errorf("uncommitted slot read: %#x", v)
		}
		id, n := v>>32, v&(1<<32-1)
		if id >= uint64(producers) {
			return fmt.Errorf("bad item %#x", v)
		}
		if n < seen[id] || (cfg.Backpressure != DropOldest && n != seen[id]) {
			return fmt.Errorf("producer %d: item %d after %d", id, n, seen[id])
		}
		seen[id] = n + 1
		delivered++
		return nil
	}
	rng := rand.New(rand.NewPCG(99, 7))
	buf := make([]uint64, 7)
	func() {
		for {
			switch rng.IntN(3) {
			case 0:
				v, err := c.Pop()
				if errors.Is(err, ErrClosed) {
					return
				}
				require.NoError(t, err)
				require.NoError(t, check(v))
			case 1:
				n, err := c.PopBatch(buf[:1+rng.IntN(len(buf))])
				if errors.Is(err, ErrClosed) {
					return
				}
				require.NoError(t, err)
				for _, v := range buf[:n] {
					require.NoError(t, check(v))
				}
			default:
				a, b, err := c.ReadClaim(1 + rng.IntN(6))
				if errors.Is(err, ErrClosed) {
					return
				}
				require.NoError(t, err)
				k := len(a) + len(b)
				if rng.IntN(3) == 0 {
					k = rng.IntN(k + 1)
				}
				for i := range k {
					v := a[min(i, len(a)-1)]
					if i >= len(a) {
						v = b[i-len(a)]
					}
					require.NoError(t, check(v))
				}
				require.NoError(t, c.Release(k))
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var committed uint64
	for id, n := range counts {
		committed += n
		if cfg.Backpressure != DropOldest {
			assert.Equal(t, n, seen[id], "producer %d: every item delivered", id)
		}
	}
	st := c.Stats()
	assert.Equal(t, committed, delivered+st.Evicted, "delivered + evicted = committed (%v)", st)
	assert.Equal(t, committed, st.Pushed, "%v", st)
	assert.Equal(t, 0, st.Claims)
}
