//go:build cgo && linux && !purego

package spillring

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/spillring/spillring/internal/cspill"
)

// C memory, page by page: which pages of a ring Close gives back, read with
// mincore(2), and when the block is unmapped.

var pageSize = uintptr(os.Getpagesize())

func roundPage(n uintptr) uintptr { return (n + pageSize - 1) &^ (pageSize - 1) }

// residentPages counts the resident pages of [p, p+n), p page-aligned, or
// returns -1 if the range is not mapped at all (mincore fails with ENOMEM).
func residentPages(t *testing.T, p unsafe.Pointer, n uintptr) int {
	t.Helper()
	vec := make([]byte, roundPage(n)/pageSize)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(p), n, uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		require.ErrorIs(t, errno, unix.ENOMEM)
		return -1
	}
	k := 0
	for _, v := range vec {
		k += int(v & 1)
	}
	return k
}

// ringPages returns the ring's mapping (base, size) and the part of it
// reclaim returns: from the first page wholly inside the slots (head bytes
// in) to the end of the mapping.
func ringPages[T any](r *ring[T]) (base unsafe.Pointer, size, head uintptr) {
	return r.cptr, roundPage(uintptr(r.l.totalSize)), roundPage(uintptr(r.l.slotsOffset))
}

// fillC makes every slot page of a default C ring resident.
func fillC(t *testing.T, p *Producer[uint64], c *Consumer[uint64]) {
	t.Helper()
	buf := make([]uint64, p.Cap())
	n, err := p.PushBatch(buf)
	require.NoError(t, err)
	require.Equal(t, len(buf), n)
	n, err = c.PopBatch(buf)
	require.NoError(t, err)
	require.Equal(t, len(buf), n)
}

func TestCloseReclaimsPages(t *testing.T) {
	p, c := newChan[uint64](t, Config{Backend: BackendC})
	r := p.r
	require.NotZero(t, r.l.flags&0x80000000, "a default ring is mapped (SR_FLAG_MAPPED)")
	base, size, head := ringPages(r)
	data, dataLen := unsafe.Add(base, head), size-head
	fillC(t, p, c)
	slotPages := int(uintptr(r.l.capacity) * 8 / pageSize)
	require.GreaterOrEqual(t, residentPages(t, data, dataLen), slotPages-1, "used slots are resident")

	require.NoError(t, p.Close())
	assert.Zero(t, atomic.LoadUint32(&r.l.reclaimed), "one side open: nothing returned")
	assert.GreaterOrEqual(t, residentPages(t, data, dataLen), slotPages-1)

	require.NoError(t, c.Close())
	assert.Equal(t, uint32(1), atomic.LoadUint32(&r.l.reclaimed))
	assert.Zero(t, residentPages(t, data, dataLen), "slot and stamp pages returned")
	assert.Equal(t, int(head/pageSize), residentPages(t, base, head), "the header's page stays")

	// The handles still answer, from the header.
	assert.ErrorIs(t, p.Push(1), ErrClosed)
	assert.ErrorIs(t, p.TryPush(1), ErrClosed)
	_, err := c.Pop()
	assert.ErrorIs(t, err, ErrClosed)
	_, err = c.TryPop()
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 0, c.Len())
	st := c.Stats()
	assert.Equal(t, uint64(p.Cap()), st.Pushed)
	assert.Equal(t, uint64(p.Cap()), st.Popped)
	assert.ErrorIs(t, p.Close(), ErrClosed)
	assert.ErrorIs(t, c.Close(), ErrClosed)
	assert.Zero(t, residentPages(t, data, dataLen), "late calls fault nothing in")
	assert.Equal(t, uint32(1), atomic.LoadUint32(&r.l.reclaimed))
	runtime.KeepAlive(p)
	runtime.KeepAlive(c)
}

// TestCloseReclaimsOnceConcurrently: both sides close at once, many times;
// exactly one close reclaims (the C side's once-flag would refuse a second
// one, but the Go side only calls it from the close that set the second
// bit) and the pages go every time.
func TestCloseReclaimsOnceConcurrently(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	for range rounds {
		p, c := newChan[uint64](t, Config{Backend: BackendC, Capacity: 1 << 12})
		require.NoError(t, p.Push(1))
		base, size, head := ringPages(p.r)
		var start, done sync.WaitGroup
		start.Add(1)
		errs := make([]error, 2)
		for i, close := range []func() error{p.Close, c.Close} {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				errs[i] = close()
			}()
		}
		start.Done()
		done.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.Equal(t, uint32(1), atomic.LoadUint32(&p.r.l.reclaimed))
		require.Zero(t, residentPages(t, unsafe.Add(base, head), size-head))
	}
}

// TestCloseReclaimsAfterLastProducer: with cloned producers, the pages go
// when the last handle of either side closes last.
func TestCloseReclaimsAfterLastProducer(t *testing.T) {
	p, c := newChan[uint64](t, Config{Backend: BackendC})
	p2, err := p.Clone()
	require.NoError(t, err)
	base, size, head := ringPages(p.r)
	fillC(t, p, c)
	require.NoError(t, p.Close())
	require.NoError(t, c.Close())
	assert.Zero(t, atomic.LoadUint32(&p.r.l.reclaimed), "p2 is open")
	assert.ErrorIs(t, p2.Push(1), ErrClosed)
	require.NoError(t, p2.Close())
	assert.Equal(t, uint32(1), atomic.LoadUint32(&p.r.l.reclaimed))
	assert.Zero(t, residentPages(t, unsafe.Add(base, head), size-head))
}

// waitUnmapped waits for a GC cleanup to unmap p (cleanups run on their own
// goroutine, after a GC).
func waitUnmapped(t *testing.T, p unsafe.Pointer, n uintptr) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for residentPages(t, p, n) != -1 {
		if time.Now().After(deadline) {
			t.Fatal("the block is still mapped after 10 s of GCs")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// TestUnclosedRingFreedAtGC: a channel that is never closed is still
// unmapped once its handles are collected, as before.
func TestUnclosedRingFreedAtGC(t *testing.T) {
	base, size := func() (unsafe.Pointer, uintptr) {
		p, c := newChan[uint64](t, Config{Backend: BackendC})
		fillC(t, p, c)
		b, n, _ := ringPages(p.r)
		return b, n
	}()
	waitUnmapped(t, base, size)
}

// TestSpillRingCloseFrees: Close unmaps a C SpillRing at once, unless C code
// holds a reference: then the block stays valid until C releases it.
func TestSpillRingCloseFrees(t *testing.T) {
	items := make([]uint64, 4096)
	newRing := func() (*SpillRing[uint64], unsafe.Pointer, uintptr) {
		r, err := NewSpillRing(SpillConfig[uint64]{Capacity: 1 << 16, Backend: BackendC})
		require.NoError(t, err)
		n, err := r.PushSlice(items)
		require.NoError(t, err)
		require.Equal(t, len(items), n)
		p, err := r.CSpill()
		require.NoError(t, err)
		return r, p, roundPage(uintptr(r.l.totalSize))
	}

	r, p, n := newRing()
	require.Equal(t, uint32(1), r.l.flags, "a large spill ring is mapped (SR_SPILL_MAPPED)")
	require.Positive(t, residentPages(t, p, n))
	require.NoError(t, r.Close())
	assert.Equal(t, -1, residentPages(t, p, n), "Close unmapped the block")

	r, p, n = newRing()
	cspill.Retain(p) // C code keeps the block
	require.NoError(t, r.Close())
	require.Positive(t, residentPages(t, p, n), "a C reference keeps the block")
	length, pending := cspill.Counts(p)
	assert.Equal(t, uint64(len(items)), length, "and its contents: Close changes nothing in C memory")
	assert.Zero(t, pending)
	cspill.Release(p)
	assert.Equal(t, -1, residentPages(t, p, n), "the C release freed it")

	// Never closed: freed at GC, as before.
	p, n = func() (unsafe.Pointer, uintptr) {
		_, p, n := newRing()
		return p, n
	}()
	waitUnmapped(t, p, n)
}
