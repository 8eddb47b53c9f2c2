package spillring

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoutProducer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c, err := New[int](Config{Capacity: 4, Backpressure: Reject, Backend: b})
		require.NoError(t, err)
		s, err := ToProducer(p)
		require.NoError(t, err)
		require.NoError(t, s.Send(0))
		n, err := s.SendBatch(seqInts(1, 5))
		require.ErrorIs(t, err, ErrFull)
		assert.Equal(t, 3, n)
		require.NoError(t, s.Flush())

		dst := make([]int, 8)
		n = c.TryPopBatch(dst)
		assert.Equal(t, seqInts(0, 4), dst[:n])

		require.NoError(t, c.Close())
		require.ErrorIs(t, s.Send(9), ErrClosed)
		n, err = s.SendBatch([]int{9})
		require.ErrorIs(t, err, ErrClosed)
		assert.Equal(t, 0, n)
		require.NoError(t, s.Flush(), "Flush has nothing to push, even when closed")
	})
}

// Channels chain into a pipeline: a stage pops from one channel and sends
// through a combinator into the next.
func TestSpoutProducerPipeline(t *testing.T) {
	p1, c1, err := New[int](Config{Capacity: 64})
	require.NoError(t, err)
	p2, c2, err := New[int](Config{Capacity: 64})
	require.NoError(t, err)
	out, err := ToProducer(p2)
	require.NoError(t, err)
	sums, err := Reduce(10, sumInts, out)
	require.NoError(t, err)

	go func() {
		for v := range 1000 {
			p1.Push(v)
		}
		p1.Close()
	}()
	go func() {
		buf := make([]int, 32)
		for {
			n, err := c1.PopBatch(buf)
			if err != nil {
				break
			}
			if _, err := sums.SendBatch(buf[:n]); err != nil {
				panic(err)
			}
		}
		if err := sums.Flush(); err != nil {
			panic(err)
		}
		p2.Close()
	}()
	var got []int
	for v := range c2.All() {
		got = append(got, v)
	}
	require.Len(t, got, 100)
	for i, v := range got {
		assert.Equal(t, sumInts(seqInts(i*10, 10)), v)
	}
}
