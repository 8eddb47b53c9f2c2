//go:build cgo && linux && !purego

package spillring

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spillring/spillring/internal/cpeer"
)

// Claims across the language boundary (K1-K6): a C thread of internal/cpeer
// that knows only csrc/spillring.h claims, commits in part and aborts, and
// the Go consumer reads in place; or the Go producer claims and a C
// consumer read-claims; or C and Go producers claim into one MPSC ring at
// once, leaving padding for the other side's consumer to step over.

// goClaimProducer pushes 0..n-1 with claims of varying size, every third
// one committed only in part (or aborted), the rest poisoned.
func goClaimProducer(p *Producer[uint64], id int, n uint64) error {
	next := uint64(0)
	for step := 1; next < n; step++ {
		a, b, err := p.Claim(int(min(uint64(1+(step*7)%64), n-next)))
		if errors.Is(err, ErrFull) {
			runtime.Gosched() // Reject
			continue
		}
		if err != nil {
			return err
		}
		got := len(a) + len(b)
		k := got
		if step%3 == 0 {
			k = step % (got + 1)
		}
		for j := range got {
			v := tag(id, int(next)+j)
			if j >= k {
				v = poison
			}
			if j < len(a) {
				a[j] = v
			} else {
				b[j-len(a)] = v
			}
		}
		took, err := p.Commit(k)
		if err != nil {
			return err
		}
		next += uint64(took)
	}
	return nil
}

// goClaimConsumer drains c, mixing read claims (some released in part) and
// pops, and hands each item to see.
func goClaimConsumer(c *Consumer[uint64], see func(uint64)) error {
	for step := 0; ; step++ {
		if step%2 == 0 {
			v, err := c.Pop()
			if err != nil {
				return err
			}
			see(v)
			continue
		}
		a, b, err := c.ReadClaim(1 + (step*5)%64)
		if err != nil {
			return err
		}
		k := len(a) + len(b)
		if step%3 == 0 {
			k = 1 + step%k
		}
		for j := range k {
			if j < len(a) {
				see(a[j])
			} else {
				see(b[j-len(a)])
			}
		}
		if err := c.Release(k); err != nil {
			return err
		}
	}
}

func TestCClaimProducerGoConsumer(t *testing.T) {
	const n = 200000
	for _, bp := range []Backpressure{Block, Reject, DropOldest} {
		t.Run(bp.String(), func(t *testing.T) {
			p, c, ring := cgoNewCChan(t, Config{Capacity: 256, Backpressure: bp})
			prod := cpeer.StartClaimProducer(ring, n)
			var next, got uint64
			var bad error
			err := goClaimConsumer(c, func(v uint64) {
				got++
				if bad == nil && (v < next || bp != DropOldest && v != next) {
					bad = fmt.Errorf("item %#x after %d", v, next)
				}
				next = v + 1
			})
			assert.ErrorIs(t, err, ErrClosed)
			require.NoError(t, bad)
			pushed, err := prod.Join()
			require.NoError(t, err)
			assert.Equal(t, uint64(n), pushed)
			assert.Equal(t, uint64(n), got+c.Evicted(), "every committed item popped or evicted")
			if bp != DropOldest {
				assert.Zero(t, c.Evicted())
			}
			runtime.KeepAlive(p)
		})
	}
}

func TestGoClaimProducerCConsumer(t *testing.T) {
	const n = 200000
	for _, bp := range []Backpressure{Block, Reject} {
		t.Run(bp.String(), func(t *testing.T) {
			p, c, ring := cgoNewCChan(t, Config{Capacity: 256, Backpressure: bp})
			cons := cpeer.StartClaimConsumer(ring, n)
			require.NoError(t, goClaimProducer(p, 0, n))
			require.NoError(t, p.Close())
			popped, err := cons.Join()
			require.NoError(t, err)
			assert.Equal(t, uint64(n), popped)
			runtime.KeepAlive(c)
		})
	}
}

// TestMixedClaimProducers: the Go producer and three C threads claim into
// one MPSC ring, each committing in part now and then, read by a Go
// consumer and then by a C consumer (read claims mixed into both).
func TestMixedClaimProducers(t *testing.T) {
	const goItems, cItems, cThreads = 30000, 30000, 3
	// The C consumer checks exact per-producer streams: Block only.
	for _, tc := range []struct {
		bp        Backpressure
		cConsumer bool
	}{{Block, false}, {DropOldest, false}, {Block, true}} {
		bp, cConsumer := tc.bp, tc.cConsumer
		{
			t.Run(fmt.Sprintf("%v/cconsumer=%v", bp, cConsumer), func(t *testing.T) {
				p, c, ring := cgoNewCChan(t, Config{Capacity: 128, Backpressure: bp})
				want := []uint64{goItems, 0}
				for range cThreads {
					want = append(want, cItems)
				}
				var cons *cpeer.Peer
				if cConsumer {
					cons = cpeer.StartClaimMultiConsumer(ring, want, false)
				}
				peers := cpeer.StartClaimProducers(ring, 2, cThreads, cItems)
				done := make(chan error, 1)
				go func() {
					err := goClaimProducer(p, 0, goItems)
					if cerr := p.Close(); err == nil {
						err = cerr
					}
					done <- err
				}()
				var popped uint64
				if !cConsumer {
					seen := map[int]int{}
					var bad error
					err := goClaimConsumer(c, func(v uint64) {
						popped++
						id, seq := untag(v)
						if bad == nil && (v == poison || seq < seen[id] || bp == Block && seq != seen[id]) {
							bad = fmt.Errorf("producer %d: item %d after %d (%#x)", id, seq, seen[id], v)
						}
						seen[id] = seq + 1
					})
					assert.ErrorIs(t, err, ErrClosed)
					require.NoError(t, bad)
					if bp == Block {
						for id, w := range want {
							assert.Equal(t, int(w), seen[id], "producer %d", id)
						}
					}
				}
				require.NoError(t, <-done)
				for _, pr := range peers {
					n, err := pr.Join()
					require.NoError(t, err)
					assert.Equal(t, uint64(cItems), n)
				}
				if cConsumer {
					n, err := cons.Join()
					require.NoError(t, err)
					popped = n
				}
				st := c.Stats()
				total := uint64(goItems + cThreads*cItems)
				assert.Equal(t, total, st.Pushed, "%v", st)
				assert.Equal(t, total, popped+st.Evicted, "%v", st)
				if bp == DropOldest {
					// Block gives a part commit's rest back when no later
					// claim exists, which is most of the time here.
					assert.Greater(t, st.Padded, uint64(0), "DropOldest part commits are padded")
				}
				runtime.KeepAlive(c)
			})
		}
	}
}
