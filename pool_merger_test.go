package spillring

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPoolMergers: 8 workers, 2 mergers on goroutines of their own with
// their own sinks, collecting while the rounds run: every item is collected
// exactly once, by the merger its worker belongs to, in per-worker order.
func TestPoolMergers(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			const workers = 8
			sw := &seqWork{next: make([]uint64, workers)}
			p, err := NewPool(PoolConfig[uint64, seqArgs]{Workers: workers, RingCapacity: 64, Work: sw.work, Backend: b})
			require.NoError(t, err)
			defer p.Close()
			ms, err := p.Mergers(2)
			require.NoError(t, err)
			require.Len(t, ms, 2)
			assert.Equal(t, []int{0, 2, 4, 6}, ms[0].Workers())
			assert.Equal(t, []int{1, 3, 5, 7}, ms[1].Workers())

			sinks := []*recSpout{newRecSpout(3), newRecSpout(0)} // merger 0's sink refuses every third call
			var stops []func()
			for j, m := range ms {
				assert.Equal(t, j, m.ID())
				stops = append(stops, loopUntil(func() bool {
					if _, err := m.Collect(sinks[j]); err != nil && !errors.Is(err, errRefused) {
						t.Errorf("merger %d: %v", j, err)
						return false
					}
					return true
				}))
			}
			for range 100 {
				require.NoError(t, p.Run(seqArgs{Count: 10}))
			}
			for _, stop := range stops {
				stop()
			}
			for p.Stats().InRings > 0 {
				for j, m := range ms {
					if _, err := m.Collect(sinks[j]); err != nil {
						require.ErrorIs(t, err, errRefused)
					}
				}
			}
			// Each worker's items went to its merger's sink only.
			all := newRecSpout(0)
			for w := range workers {
				assert.Empty(t, sinks[1-w%2].items[w], "worker %d in the other merger's sink", w)
				for _, v := range sinks[w%2].items[w] {
					all.add(uint64(w)<<40 | v)
				}
			}
			checkPoolItems(t, workers, func(w int) uint64 { return sw.next[w] }, all, nil, p.Stats())
		})
	}
}

// TestPoolMergersErrors: the count of mergers is checked, and a Merger
// after the pool's Close returns ErrClosed.
func TestPoolMergersErrors(t *testing.T) {
	p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, Work: func(*SpillRing[uint64], int, int) error { return nil }})
	require.NoError(t, err)
	for _, m := range []int{0, -1, 3} {
		_, err := p.Mergers(m)
		assert.ErrorIs(t, err, ErrInvalidConfig, "%d mergers", m)
	}
	ms, err := p.Mergers(1)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, ms[0].Workers())
	_, err = ms[0].Collect(nil)
	assert.ErrorIs(t, err, ErrNilSpout)
	require.NoError(t, p.Close())
	_, err = ms[0].Collect(newRecSpout(0))
	assert.ErrorIs(t, err, ErrClosed)
	_, err = p.Mergers(1)
	assert.ErrorIs(t, err, ErrClosed)
}
