package spillring

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoutCounting(t *testing.T) {
	inner := newTestSink[int]()
	s, err := Counting[int](inner)
	require.NoError(t, err)
	require.NoError(t, s.Send(0))
	n, err := s.SendBatch(seqInts(1, 9))
	require.NoError(t, err)
	assert.Equal(t, 9, n)

	inner.budget = 3
	n, err = s.SendBatch(seqInts(10, 5))
	require.ErrorIs(t, err, errRefuse)
	assert.Equal(t, 3, n)
	require.ErrorIs(t, s.Send(13), errRefuse)
	require.NoError(t, s.Flush())
	inner.flushErr = errRefuse
	require.ErrorIs(t, s.Flush(), errRefuse)

	assert.Equal(t, SpoutStats{
		Items:   13,
		Refused: 3,
		Sends:   2,
		Batches: 2,
		Flushes: 2,
		Errors:  3,
	}, s.Stats())
	assert.Equal(t, 2, inner.batchCalls, "batches pass through as batches")
	assert.Equal(t, 2, inner.sends)
}

// The counters may be read while another goroutine sends, and never go
// back.
func TestSpoutCountingConcurrentRead(t *testing.T) {
	s, err := Counting[int](Drop[int]())
	require.NoError(t, err)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
				st := s.Stats()
				assert.GreaterOrEqual(t, st.Items, last)
				assert.Zero(t, st.Refused)
				last = st.Items
			}
		}
	})
	batch := seqInts(0, 16)
	for range 2000 {
		s.SendBatch(batch)
		s.Send(1)
	}
	close(stop)
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, uint64(2000*17), st.Items)
	assert.Equal(t, uint64(2000), st.Batches)
	assert.Equal(t, uint64(2000), st.Sends)
}
