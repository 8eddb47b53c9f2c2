//go:build cgo && linux && !purego

package cpeer_test

import (
	"errors"
	"fmt"
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

// The MPSC tests below use only the C core (a cpeer.Ring from this
// package's own copy of it): the test goroutine is the ring's first
// producer and upgrades it under load by starting C producers.

func pushAll(t *testing.T, r *cpeer.Ring, from, to uint64) {
	t.Helper()
	for v := from; v < to; v++ {
		err := r.Push(v) // producer id 0: the value is the sequence
		for errors.Is(err, syscall.ENOBUFS) {
			runtime.Gosched() // Reject: retry
			err = r.Push(v)
		}
		require.NoError(t, err)
	}
}

func TestCProducersMPSC(t *testing.T) {
	n, m := uint64(20_000), uint64(10_000) // per C producer, from Go
	if testing.Short() {
		n, m = 2_000, 1_000
	}
	bps := map[cpeer.Backpressure]string{cpeer.Block: "block", cpeer.Reject: "reject", cpeer.DropOldest: "drop"}
	waits := map[cpeer.Wait]string{cpeer.SpinYield: "yield", cpeer.Park: "park", cpeer.Adaptive: "adaptive"}
	for bp, bpName := range bps {
		for w, wName := range waits {
			for _, k := range []int{2, 4} {
				for _, batch := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%d/%s", bpName, wName, k,
						map[bool]string{false: "single", true: "batch"}[batch])
					t.Run(name, func(t *testing.T) {
						testCProducersMPSC(t, bp, w, k, batch, n, m)
					})
				}
			}
		}
	}
}

func testCProducersMPSC(t *testing.T, bp cpeer.Backpressure, w cpeer.Wait, k int, batch bool, n, m uint64) {
	r, err := cpeer.NewRing(64, bp, w)
	require.NoError(t, err)
	defer r.Release()
	want := make([]uint64, k+1)
	want[0] = m
	for i := 1; i <= k; i++ {
		want[i] = n
	}
	drop := bp == cpeer.DropOldest
	cons := cpeer.StartMultiConsumer(r.Pointer(), want, drop)

	// Alone (SPSC) first, then the upgrade while the consumer is busy: no
	// push of ours is in flight during StartProducers.
	pushAll(t, r, 0, m/2)
	require.False(t, r.IsMulti())
	prods := cpeer.StartProducers(r.Pointer(), 1, k, n, batch)
	require.True(t, r.IsMulti())
	pushAll(t, r, m/2, m)
	require.NoError(t, r.CloseProducer())

	for i, p := range prods {
		got, err := p.Join()
		require.NoError(t, err, "producer %d", i+1)
		assert.EqualValues(t, n, got, "producer %d", i+1)
	}
	got, err := cons.Join()
	require.NoError(t, err)
	total := m + uint64(k)*n
	if drop {
		assert.EqualValues(t, total, got+r.Evicted(), "popped %d + evicted %d", got, r.Evicted())
	} else {
		assert.EqualValues(t, total, got)
		assert.Zero(t, r.Evicted())
	}
}

func TestStartProducersOnClosedRing(t *testing.T) {
	for _, side := range []string{"producer", "consumer"} {
		r, err := cpeer.NewRing(16, cpeer.Block, cpeer.Park)
		require.NoError(t, err)
		if side == "producer" {
			require.NoError(t, r.CloseProducer())
		} else {
			require.NoError(t, r.CloseConsumer())
		}
		prods := cpeer.StartProducers(r.Pointer(), 1, 2, 10, false)
		require.Len(t, prods, 2)
		for _, p := range prods {
			_, err := p.Join()
			assert.True(t, errors.Is(err, syscall.EPIPE), "%s closed: %v", side, err)
		}
		assert.False(t, r.IsMulti())
		r.Release()
	}
	_, err := cpeer.StartProducers(nil, 1, 1, 1, false)[0].Join()
	assert.Error(t, err)
	_, err = cpeer.StartProducers(unsafe.Pointer(&err), 1<<30, 1, 1, false)[0].Join()
	assert.ErrorContains(t, err, "out of range")
}

func TestMultiConsumerReports(t *testing.T) {
	// Producer 1's items 0, 2: out of order.
	r, err := cpeer.NewRing(16, cpeer.Block, cpeer.Park)
	require.NoError(t, err)
	cons := cpeer.StartMultiConsumer(r.Pointer(), []uint64{1, 2}, false)
	for _, v := range []uint64{0, 1 << cpeer.IDShift, 1<<cpeer.IDShift | 2} {
		require.NoError(t, r.Push(v))
	}
	require.NoError(t, r.CloseProducer())
	got, err := cons.Join()
	assert.True(t, errors.Is(err, syscall.EILSEQ), "%v", err)
	assert.ErrorContains(t, err, "item 2 is producer 1's 2")
	assert.EqualValues(t, 3, got)
	r.Release()

	// Producer 1 sends one of two; gaps allowed: no per-id count.
	for _, gaps := range []bool{false, true} {
		r, err = cpeer.NewRing(16, cpeer.Block, cpeer.Park)
		require.NoError(t, err)
		cons = cpeer.StartMultiConsumer(r.Pointer(), []uint64{1, 2}, gaps)
		for _, v := range []uint64{0, 1 << cpeer.IDShift} {
			require.NoError(t, r.Push(v))
		}
		require.NoError(t, r.CloseProducer())
		got, err = cons.Join()
		if gaps {
			assert.NoError(t, err)
		} else {
			assert.True(t, errors.Is(err, syscall.ENODATA), "%v", err)
			assert.ErrorContains(t, err, "producer 1 sent 1 items, want 2")
		}
		assert.EqualValues(t, 2, got)
		r.Release()
	}
	_, err = cpeer.StartMultiConsumer(unsafe.Pointer(&err), nil, false).Join()
	assert.Error(t, err)
}
