//go:build cgo && linux && !purego

package cpeer_test

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spillring/spillring"
	"github.com/spillring/spillring/internal/cpeer"
)

// These tests check the peers themselves (both ends in C, and the checker's
// error reports); the Go<->C tests are in the root package's cgo_test.go.

func newRing(t *testing.T, cfg spillring.Config) (*spillring.Producer[uint64], *spillring.Consumer[uint64], unsafe.Pointer) {
	t.Helper()
	cfg.Backend = spillring.BackendC
	p, c, err := spillring.New[uint64](cfg)
	require.NoError(t, err)
	ring, err := p.CRing()
	require.NoError(t, err)
	return p, c, ring
}

func TestCProducerCConsumer(t *testing.T) {
	const n = 200_000
	// Not Spin: two pure spinners sharing a CPU on a busy machine take a
	// scheduler time slice per ring-full.
	for _, w := range []spillring.WaitStrategy{spillring.SpinYield(0), spillring.SpinYield(100), spillring.Park()} {
		for _, batch := range []bool{false, true} {
			name := w.String() + map[bool]string{false: "/single", true: "/batch"}[batch]
			t.Run(name, func(t *testing.T) {
				p, _, ring := newRing(t, spillring.Config{Capacity: 256, Wait: w})
				cons := cpeer.StartConsumer(ring, n)
				prod := cpeer.StartProducer(ring, n, batch)
				// Both threads hold their own reference now, so the Go
				// handles may go away (and the GC cleanup drop the Go
				// reference) while they run. Until both have started,
				// p must stay reachable or the ring could be freed first.
				runtime.KeepAlive(p)
				runtime.GC()
				runtime.GC()
				got, err := prod.Join()
				require.NoError(t, err)
				assert.EqualValues(t, n, got)
				got, err = cons.Join()
				require.NoError(t, err)
				assert.EqualValues(t, n, got)
			})
		}
	}
}

func TestConsumerReportsMismatch(t *testing.T) {
	p, _, ring := newRing(t, spillring.Config{Capacity: 64})
	cons := cpeer.StartConsumer(ring, 10)
	for _, v := range []uint64{0, 1, 2, 4, 5, 6, 7, 8, 9, 10} {
		require.NoError(t, p.Push(v))
	}
	require.NoError(t, p.Close())
	got, err := cons.Join()
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.EILSEQ), "%v", err)
	assert.Contains(t, err.Error(), "item 3 is 4, want 3")
	assert.EqualValues(t, 10, got, "it drains past the mismatch")
}

func TestConsumerReportsShortCount(t *testing.T) {
	p, _, ring := newRing(t, spillring.Config{Capacity: 64})
	cons := cpeer.StartConsumer(ring, 10)
	for v := range uint64(5) {
		require.NoError(t, p.Push(v))
	}
	require.NoError(t, p.Close())
	got, err := cons.Join()
	require.Error(t, err)
	assert.EqualValues(t, 5, got)
	assert.Contains(t, err.Error(), "popped 5 items, want 10")
}

func TestProducerAfterConsumerClosed(t *testing.T) {
	for _, batch := range []bool{false, true} {
		_, c, ring := newRing(t, spillring.Config{Capacity: 64})
		require.NoError(t, c.Close())
		prod := cpeer.StartProducer(ring, 100, batch)
		got, err := prod.Join()
		assert.True(t, errors.Is(err, syscall.EPIPE), "%v", err)
		assert.EqualValues(t, 0, got)
		runtime.KeepAlive(c)
	}
}

func TestConsumerClosedByGo(t *testing.T) {
	_, c, ring := newRing(t, spillring.Config{Capacity: 64, Wait: spillring.Park()})
	cons := cpeer.StartConsumer(ring, 1)
	// The C consumer waits (parks) on an empty ring; the Go Close wakes it.
	require.NoError(t, c.Close())
	_, err := cons.Join()
	assert.True(t, errors.Is(err, syscall.EPIPE), "%v", err)
}

func TestJoinTwiceAndNilRing(t *testing.T) {
	p, _, ring := newRing(t, spillring.Config{Capacity: 64})
	cons := cpeer.StartConsumer(ring, 0)
	require.NoError(t, p.Close())
	_, err := cons.Join()
	require.NoError(t, err)
	_, err = cons.Join()
	assert.ErrorIs(t, err, cpeer.ErrJoined)

	_, err = cpeer.StartProducer(nil, 1, false).Join()
	assert.Error(t, err)
}
