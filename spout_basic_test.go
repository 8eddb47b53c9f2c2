package spillring

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoutDrop(t *testing.T) {
	s := Drop[string]()
	require.NoError(t, s.Send("a"))
	n, err := s.SendBatch([]string{"b", "c", "d"})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = s.SendBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	require.NoError(t, s.Flush())
	assert.Equal(t, uint64(4), s.Dropped())
}

func TestSpoutDropConcurrent(t *testing.T) {
	s := Drop[int]()
	const senders, per = 4, 1000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // a reader while others send: the race detector checks it
		for {
			select {
			case <-stop:
				return
			default:
				_ = s.Dropped()
			}
		}
	}()
	batch := seqInts(0, 10)
	for range senders {
		wg.Go(func() {
			for range per {
				s.Send(1)
				s.SendBatch(batch)
			}
		})
	}
	wg.Wait()
	close(stop)
	assert.Equal(t, uint64(senders*per*11), s.Dropped())
}

func TestSpoutCollect(t *testing.T) {
	s := Collect[int]()
	vs := []int{1, 2, 3}
	n, err := s.SendBatch(vs)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	vs[0] = 99 // the caller reuses its slice: the spout copied the items
	require.NoError(t, s.Send(4))
	require.NoError(t, s.Flush())
	assert.Equal(t, []int{1, 2, 3, 4}, s.Items())
	assert.Equal(t, 4, s.Len())

	got := s.Take()
	assert.Equal(t, []int{1, 2, 3, 4}, got)
	assert.Equal(t, 0, s.Len())
	s.Send(5)
	assert.Equal(t, []int{1, 2, 3, 4}, got, "Take hands the slice over")
	assert.Equal(t, []int{5}, s.Items())

	s.Reset()
	assert.Empty(t, s.Items())
	s.SendBatch([]int{6, 7})
	assert.Equal(t, []int{6, 7}, s.Items())
}

func TestSpoutFunc(t *testing.T) {
	var got []int
	errStop := errors.New("stop")
	s, err := Func(func(v int) error {
		if v < 0 {
			return errStop
		}
		got = append(got, v)
		return nil
	}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Flush(), "a nil flush is a no-op")
	require.NoError(t, s.Send(1))
	require.ErrorIs(t, s.Send(-1), errStop)

	n, err := s.SendBatch([]int{2, 3, -4, 5})
	require.ErrorIs(t, err, errStop)
	assert.Equal(t, 2, n, "stops at the first error; vs[2:] are the caller's")
	assert.Equal(t, []int{1, 2, 3}, got)

	n, err = s.SendBatch([]int{6, 7})
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	flushed := 0
	s, err = Func(func(int) error { return nil }, func() error { flushed++; return errStop })
	require.NoError(t, err)
	require.ErrorIs(t, s.Flush(), errStop)
	assert.Equal(t, 1, flushed)
}
