package spillring

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowSpout records what it takes after a real delay per call: a sink that
// cannot keep up.
type slowSpout struct {
	*recSpout
	delay time.Duration
}

func (s slowSpout) SendBatch(vs []uint64) (int, error) {
	time.Sleep(s.delay)
	return s.recSpout.SendBatch(vs)
}

func (s slowSpout) Send(v uint64) error {
	_, err := s.SendBatch([]uint64{v})
	return err
}

// TestPoolBackpressureChain: a slow sink behind a FanIn, under sustained
// dispatch. Collect slows, the handoff slots stay full, workers merge back
// into their waiting batches, rings fill and the overflow spout fires; the
// rounds never wait for the collector. Every item is collected or spilled
// exactly once, in per-worker order, and the counters add up exactly:
// pushed == collected + spilled (+ in rings, 0 once drained), with the
// Counting overflow's own figures agreeing.
func TestPoolBackpressureChain(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			over := newRecSpout(0)
			counted, err := Counting[uint64](over)
			require.NoError(t, err)
			sink := slowSpout{newRecSpout(0), 2 * time.Millisecond}
			sw := &seqWork{next: make([]uint64, 2)}
			p, err := NewPool(PoolConfig[uint64, seqArgs]{
				Workers: 2, RingCapacity: 8, Overflow: counted, Work: sw.work, Backend: b,
			})
			require.NoError(t, err)
			defer p.Close()
			fan, err := p.FanIn(sink)
			require.NoError(t, err)

			stop := loopUntil(func() bool {
				if err := fan.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
					return false
				}
				return true
			})
			start := time.Now()
			for range 300 {
				require.NoError(t, p.Run(seqArgs{Count: 6}))
			}
			rounds := time.Since(start)
			stop()
			for p.Stats().InRings > 0 {
				require.NoError(t, fan.Flush())
			}
			st := p.Stats()
			t.Logf("300 rounds in %v; %+v", rounds, st)
			assert.Positive(t, st.Merged, "workers merged back")
			assert.Positive(t, st.Spilled, "the overflow spout fired")
			assert.Equal(t, st.Spilled, counted.Stats().Items, "the Counting overflow saw every spill")
			checkPoolItems(t, 2, func(w int) uint64 { return sw.next[w] }, sink.recSpout, over, st)
		})
	}
}

// TestPoolFanIn: Send forwards outside items, Flush collects and flushes,
// a refused batch comes again, and after the pool's Close, Flush returns
// ErrClosed without touching the pool's memory.
func TestPoolFanIn(t *testing.T) {
	for _, b := range poolBackends() {
		t.Run(b.String(), func(t *testing.T) {
			p, err := NewPool(PoolConfig[uint64, int]{Workers: 2, Backend: b, Work: func(out *SpillRing[uint64], w int, a int) error {
				return out.Push(uint64(w)<<40 | uint64(a))
			}})
			require.NoError(t, err)
			_, err = p.FanIn(nil)
			assert.ErrorIs(t, err, ErrNilSpout)
			sink := newRecSpout(2)
			fan, err := p.FanIn(sink)
			require.NoError(t, err)
			assert.Same(t, p, fan.Pool())

			require.NoError(t, fan.Send(3<<40|7))
			require.NoError(t, p.Run(1))
			// The sink refuses every second call: Flush fails, then the
			// batch comes again.
			for err := fan.Flush(); err != nil; err = fan.Flush() {
				require.True(t, errors.Is(err, errRefused), "%v", err)
			}
			assert.Equal(t, []uint64{7}, sink.items[3])
			assert.Equal(t, []uint64{1}, sink.items[0])
			assert.Equal(t, []uint64{1}, sink.items[1])

			require.NoError(t, p.Close())
			assert.ErrorIs(t, fan.Flush(), ErrClosed)
		})
	}
}
