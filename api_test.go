package spillring

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the API added for issue 10 (PushTimeout, the batch Context
// forms, AllContext, Backend, Stats.String/JSON, the sentinels' messages),
// on each backend.

func TestPushTimeout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 2, Backend: b})
		require.NoError(t, p.PushTimeout(1, time.Second))
		require.NoError(t, p.PushTimeout(2, 0))
		t0 := time.Now()
		err := p.PushTimeout(3, 5*time.Millisecond)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(t0), 5*time.Millisecond)
		assert.ErrorIs(t, p.PushTimeout(3, 0), ErrTimeout, "d <= 0 does not wait")
		assert.ErrorIs(t, p.PushTimeout(3, -time.Second), ErrTimeout)
		assert.Equal(t, 2, c.Len(), "a timed-out push took nothing")

		// Released by a pop.
		go func() {
			time.Sleep(5 * time.Millisecond)
			c.Pop()
		}()
		require.NoError(t, p.PushTimeout(3, 10*time.Second))

		// Released by a close.
		go func() {
			time.Sleep(5 * time.Millisecond)
			c.Close()
		}()
		assert.ErrorIs(t, p.PushTimeout(4, 10*time.Second), ErrClosed)
		assert.ErrorIs(t, p.PushTimeout(4, time.Second), ErrClosed)
	})
	eachBackend(t, func(t *testing.T, b Backend) {
		p, _ := newChan[uint64](t, Config{Capacity: 1, Backend: b, Backpressure: Reject})
		require.NoError(t, p.PushTimeout(1, time.Second))
		assert.ErrorIs(t, p.PushTimeout(2, time.Second), ErrFull, "Reject never waits")
		q, c := newChan[uint64](t, Config{Capacity: 1, Backend: b, Backpressure: DropOldest})
		require.NoError(t, q.PushTimeout(1, time.Second))
		require.NoError(t, q.PushTimeout(2, time.Second), "DropOldest evicts")
		v, err := c.Pop()
		require.NoError(t, err)
		assert.Equal(t, uint64(2), v)
	})
}

func TestPushBatchContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b})
		_, err := p.PushBatchContext(nil, []uint64{1}) //lint:ignore SA1012 the nil is the test
		assert.ErrorIs(t, err, ErrNilContext)
		n, err := p.PushBatchContext(t.Context(), nil)
		assert.Equal(t, 0, n)
		assert.NoError(t, err)

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		n, err = p.PushBatchContext(ctx, []uint64{1, 2, 3, 4, 5, 6})
		assert.Equal(t, 4, n, "took what fit, then waited")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		n, err = p.PushBatchContext(ctx, []uint64{5})
		assert.Equal(t, 0, n, "a done ctx pushes nothing")
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		// The rest goes in as the consumer makes room.
		done := make(chan []uint64)
		go func() {
			var got []uint64
			for v := range c.All() {
				got = append(got, v)
			}
			done <- got
		}()
		n, err = p.PushBatchContext(t.Context(), []uint64{5, 6, 7, 8, 9, 10})
		assert.Equal(t, 6, n)
		assert.NoError(t, err)
		p.Close()
		assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, <-done)
		n, err = p.PushBatchContext(t.Context(), []uint64{1})
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, ErrClosed)
	})
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 2, Backend: b, Backpressure: Reject})
		n, err := p.PushBatchContext(t.Context(), []uint64{1, 2, 3})
		assert.Equal(t, 2, n)
		assert.ErrorIs(t, err, ErrFull)
		assert.Equal(t, uint64(1), p.Stats().Rejected)
		c.Close()
		n, err = p.PushBatchContext(t.Context(), []uint64{1})
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, ErrClosed)
	})
}

func TestPopBatchContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		dst := make([]uint64, 4)
		_, err := c.PopBatchContext(nil, dst) //lint:ignore SA1012 the nil is the test
		assert.ErrorIs(t, err, ErrNilContext)
		n, err := c.PopBatchContext(t.Context(), nil)
		assert.Equal(t, 0, n)
		assert.NoError(t, err)

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		defer cancel()
		n, err = c.PopBatchContext(ctx, dst)
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		_, err = p.PushBatch([]uint64{1, 2, 3, 4, 5, 6})
		require.NoError(t, err)
		n, err = c.PopBatchContext(ctx, dst)
		assert.Equal(t, 4, n, "ready items come out even with ctx done")
		assert.NoError(t, err)
		assert.Equal(t, []uint64{1, 2, 3, 4}, dst)

		go func() {
			time.Sleep(5 * time.Millisecond)
			p.Push(7)
			p.Close()
		}()
		var got []uint64
		for {
			n, err := c.PopBatchContext(t.Context(), dst)
			if err != nil {
				assert.ErrorIs(t, err, ErrClosed)
				assert.Equal(t, 0, n)
				break
			}
			got = append(got, dst[:n]...)
		}
		assert.Equal(t, []uint64{5, 6, 7}, got)
	})
}

func TestAllContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		// Ends silently at closed and drained.
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		for i := range uint64(5) {
			require.NoError(t, p.Push(i))
		}
		p.Close()
		var got []uint64
		for v, err := range c.AllContext(t.Context()) {
			require.NoError(t, err)
			got = append(got, v)
		}
		assert.Equal(t, []uint64{0, 1, 2, 3, 4}, got)
	})
	eachBackend(t, func(t *testing.T, b Backend) {
		// ctx done while waiting: one (zero, err), then the end.
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		require.NoError(t, p.Push(7))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		var got []uint64
		var errs []error
		for v, err := range c.AllContext(ctx) {
			if err != nil {
				errs = append(errs, err)
				assert.Zero(t, v)
				continue // the sequence ends by itself
			}
			got = append(got, v)
		}
		assert.Equal(t, []uint64{7}, got)
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], context.DeadlineExceeded)
	})
	eachBackend(t, func(t *testing.T, b Backend) {
		// A cancelled ctx stops the loop even while items are ready.
		p, c := newChan[uint64](t, Config{Capacity: 8, Backend: b})
		for i := range uint64(8) {
			require.NoError(t, p.Push(i))
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		n := 0
		var last error
		for _, err := range c.AllContext(ctx) {
			if err != nil {
				last = err
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		assert.Equal(t, 3, n)
		assert.ErrorIs(t, last, context.Canceled)
		assert.Equal(t, 5, c.Len(), "the rest stays in the channel")

		// Breaking out leaves the rest; the loop body may use the consumer.
		for v, err := range c.AllContext(t.Context()) {
			require.NoError(t, err)
			assert.Equal(t, uint64(3), v)
			w, err := c.TryPop()
			require.NoError(t, err)
			assert.Equal(t, uint64(4), w)
			break
		}
		assert.Equal(t, 3, c.Len())

		// The consumer's own Close ends it silently too.
		c.Close()
		for _, err := range c.AllContext(t.Context()) {
			t.Fatalf("unexpected step after Close (err %v)", err)
		}
		// A nil ctx yields ErrNilContext once.
		steps := 0
		for _, err := range c.AllContext(nil) { //lint:ignore SA1012 the nil is the test
			steps++
			assert.ErrorIs(t, err, ErrNilContext)
		}
		assert.Equal(t, 1, steps)
	})
}

func TestHandleBackend(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Backend: b})
		assert.Equal(t, b, p.Backend())
		assert.Equal(t, b, c.Backend())
	})
	p, c := newChan[uint64](t, Config{})
	want := BackendGo
	if cBackendAvailable {
		want = BackendC
	}
	assert.Equal(t, want, p.Backend(), "Auto resolves")
	assert.Equal(t, want, c.Backend())
	ps, _ := newChan[*int](t, Config{})
	assert.Equal(t, BackendGo, ps.Backend())
}

func TestStatsStringJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, b Backend) {
		p, c := newChan[uint64](t, Config{Capacity: 4, Backend: b, Backpressure: Reject})
		for i := range uint64(5) {
			p.Push(i)
		}
		c.Pop()
		st := c.Stats()
		s := st.String()
		assert.Equal(t, "pushed=4 popped=1 evicted=0 rejected=1 push_waits=0 pop_waits=0 len=3 cap=4 producers=1 upgraded=false padded=0 claims=0 oldest_claim_ns=0", s)
		assert.NotContains(t, s, "\n")

		js, err := json.Marshal(st)
		require.NoError(t, err)
		assert.JSONEq(t, `{"pushed":4,"popped":1,"evicted":0,"rejected":1,"push_waits":0,"pop_waits":0,"len":3,"cap":4,"producers":1,"upgraded":false,"padded":0,"claims":0,"oldest_claim_ns":0}`, string(js))
		var back Stats
		require.NoError(t, json.Unmarshal(js, &back))
		assert.Equal(t, st, back)
	})
}

func TestSentinelMessages(t *testing.T) {
	assert.Equal(t, "spillring: channel closed", ErrClosed.Error())
	assert.False(t, strings.HasSuffix(ErrClosed.Error(), "file already closed"))
	assert.ErrorIs(t, ErrClosed, os.ErrClosed)
	assert.Equal(t, "spillring: timeout", ErrTimeout.Error())
	assert.ErrorIs(t, ErrTimeout, os.ErrDeadlineExceeded)
	assert.NotErrorIs(t, ErrClosed, os.ErrDeadlineExceeded)
	assert.NotErrorIs(t, ErrTimeout, os.ErrClosed)
	assert.NotErrorIs(t, ErrClosed, ErrTimeout)
	wrapped := errors.Join(errors.New("detail"), ErrClosed)
	assert.ErrorIs(t, wrapped, ErrClosed)
	assert.ErrorIs(t, wrapped, os.ErrClosed)
}
