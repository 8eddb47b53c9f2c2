//go:build race

package spillring

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentUseIsCaught: a race build panics with ErrConcurrentUse when
// a second goroutine calls an owner-only method of a handle whose owner is
// still inside one (here: blocked in Push on a full channel, and in Pop on
// an empty one).
func TestConcurrentUseIsCaught(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[int](t, Config{Capacity: 1, Backend: b, Wait: Park()})
		require.NoError(t, p.Push(1))
		blocked := make(chan error, 1)
		go func() { blocked <- p.Push(2) }()
		time.Sleep(20 * time.Millisecond) // let it block
		require.PanicsWithError(t, ErrConcurrentUse.Error()+": two goroutines in Producer methods at once", func() {
			_ = p.TryPush(3)
		})
		v, err := c.Pop()
		require.NoError(t, err)
		require.Equal(t, 1, v)
		require.NoError(t, <-blocked, "the owner's Push goes on unharmed")

		// The same for the consumer.
		v, err = c.Pop()
		require.NoError(t, err)
		require.Equal(t, 2, v)
		popped := make(chan error, 1)
		go func() { _, err := c.Pop(); popped <- err }()
		time.Sleep(20 * time.Millisecond)
		func() {
			defer func() {
				r := recover()
				err, ok := r.(error)
				require.True(t, ok && errors.Is(err, ErrConcurrentUse), "panic value %v", r)
			}()
			_, _ = c.TryPop()
		}()
		require.NoError(t, p.Push(4))
		require.NoError(t, <-popped)

		// Sequential use by different goroutines is fine.
		done := make(chan struct{})
		go func() { _ = p.TryPush(5); close(done) }()
		<-done
		require.NoError(t, p.Close())
	})
}
