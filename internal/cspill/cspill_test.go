//go:build cgo && linux && !purego

package cspill_test

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spillring/spillring"
	"github.com/spillring/spillring/internal/cspill"
)

// These tests check the helper itself; the handover tests are in the root
// package's spillring_cgo_test.go.

func TestSpillRingCPushStopsWhenFull(t *testing.T) {
	for _, burst := range []int{0, 3, cspill.MaxBurst} {
		r, err := spillring.NewSpillRing(spillring.SpillConfig[uint64]{Capacity: 4, Backend: spillring.BackendC, SpillBuffer: 4})
		require.NoError(t, err)
		ring, err := r.CSpill()
		require.NoError(t, err)
		n, err := cspill.Push(ring, 0, 100, burst)
		assert.ErrorIs(t, err, syscall.ENOBUFS, "burst %d", burst)
		assert.EqualValues(t, 8, n, "the ring and the spill area hold 4 each")
		l, p := cspill.Counts(ring)
		assert.EqualValues(t, 4, l)
		assert.EqualValues(t, 4, p)
		assert.Equal(t, 4, r.Len())
		assert.Equal(t, 4, r.Pending())

		n, err = cspill.Push(ring, 8, 0, burst)
		assert.NoError(t, err, "nothing to push")
		assert.Zero(t, n)
	}
}

func TestSpillRingCPushBadArguments(t *testing.T) {
	_, err := cspill.Push(nil, 0, 1, 0)
	assert.Error(t, err)
	r, err := spillring.NewSpillRing(spillring.SpillConfig[uint64]{Capacity: 4, Backend: spillring.BackendC})
	require.NoError(t, err)
	ring, err := r.CSpill()
	require.NoError(t, err)
	_, err = cspill.Push(ring, 0, 1, cspill.MaxBurst+1)
	assert.Error(t, err)
	_, err = cspill.Push(ring, 0, 1, -1)
	assert.Error(t, err)
	runtime.KeepAlive(r) // r owns the C memory ring points into
}
