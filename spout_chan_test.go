package spillring

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoutTryChan(t *testing.T) {
	ch := make(chan int, 3)
	s, err := TryChan(ch)
	require.NoError(t, err)
	require.NoError(t, s.Send(1))
	n, err := s.SendBatch([]int{2, 3, 4, 5})
	require.ErrorIs(t, err, ErrFull)
	assert.Equal(t, 2, n)
	require.ErrorIs(t, s.Send(6), ErrFull)
	assert.NotErrorIs(t, s.Send(6), ErrClosed)
	require.NoError(t, s.Flush())
	assert.Equal(t, []int{1, 2, 3}, []int{<-ch, <-ch, <-ch})
	assert.Empty(t, ch, "what was refused is not in the channel")
}

func TestSpoutChanWaits(t *testing.T) {
	ch := make(chan int)
	s, err := Chan(t.Context(), ch)
	require.NoError(t, err)
	got := make(chan []int)
	go func() {
		var vs []int
		for v := range ch {
			vs = append(vs, v)
		}
		got <- vs
	}()
	require.NoError(t, s.Send(0))
	n, err := s.SendBatch(seqInts(1, 99))
	require.NoError(t, err)
	assert.Equal(t, 99, n)
	require.NoError(t, s.Flush())
	close(ch)
	assert.Equal(t, seqInts(0, 100), <-got)
}

func TestSpoutChanCancel(t *testing.T) {
	ch := make(chan int, 2)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Chan(ctx, ch)
	require.NoError(t, err)

	done := make(chan error)
	go func() {
		n, err := s.SendBatch([]int{1, 2, 3, 4})
		assert.Equal(t, 2, n)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("SendBatch returned %v on a full channel", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not release the blocked SendBatch")
	}
	assert.Len(t, ch, 2, "the items after the cancel were not taken")

	<-ch // room now, but the context is done: nothing is sent
	require.ErrorIs(t, s.Send(9), context.Canceled)
	n, err := s.SendBatch([]int{9})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, n)
	assert.Len(t, ch, 1)
}

func TestSpoutChanDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	s, err := Chan(ctx, make(chan int))
	require.NoError(t, err)
	require.ErrorIs(t, s.Send(1), context.DeadlineExceeded)
}

// A closed Go channel is reported, not a panic, and the item is not taken.
func TestSpoutChanClosed(t *testing.T) {
	for name, mk := range map[string]func(chan int) (*ChanSpout[int], error){
		"Chan":    func(ch chan int) (*ChanSpout[int], error) { return Chan(t.Context(), ch) },
		"TryChan": func(ch chan int) (*ChanSpout[int], error) { return TryChan(ch) },
	} {
		t.Run(name, func(t *testing.T) {
			ch := make(chan int, 4)
			s, err := mk(ch)
			require.NoError(t, err)
			close(ch)
			require.ErrorIs(t, s.Send(1), ErrClosed)
			n, err := s.SendBatch([]int{1, 2})
			require.ErrorIs(t, err, ErrClosed)
			assert.Equal(t, 0, n)
		})
	}
}

// Other panics are not swallowed.
func TestSpoutChanOtherPanic(t *testing.T) {
	var err error
	errOther := errors.New("other")
	assert.PanicsWithValue(t, errOther, func() {
		defer recoverClosedChan(&err)
		panic(errOther)
	})
	assert.NoError(t, err)
}

// Any number of goroutines may send through one ChanSpout.
func TestSpoutChanConcurrent(t *testing.T) {
	ch := make(chan int, 8)
	s, err := Chan(t.Context(), ch)
	require.NoError(t, err)
	const senders, per = 4, 500
	for g := range senders {
		go func() {
			for i := range per {
				s.Send(g*per + i)
			}
		}()
	}
	seen := make([]bool, senders*per)
	for range senders * per {
		seen[<-ch] = true
	}
	for i, ok := range seen {
		require.True(t, ok, "item %d", i)
	}
}
