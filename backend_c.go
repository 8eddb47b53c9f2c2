//go:build cgo && linux && !purego

package spillring

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra
#include <stdlib.h>
#include "csrc/spillring.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// cBackendAvailable: this build has the C backend.
const cBackendAvailable = true

// The Go mirror must match struct sr_ring byte for byte; a drift in either
// direction makes one of these indexes out of range and breaks the build.
const (
	_ = uint(unsafe.Sizeof(C.struct_sr_ring{}) - unsafe.Sizeof(ringLayout{}))
	_ = uint(unsafe.Sizeof(ringLayout{}) - unsafe.Sizeof(C.struct_sr_ring{}))
)

var (
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.magic)-unsafe.Offsetof(ringLayout{}.magic)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.version)-unsafe.Offsetof(ringLayout{}.version)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.backpressure)-unsafe.Offsetof(ringLayout{}.backpressure)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.wait)-unsafe.Offsetof(ringLayout{}.wait)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.spins)-unsafe.Offsetof(ringLayout{}.spins)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.mask)-unsafe.Offsetof(ringLayout{}.mask)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.elem_size)-unsafe.Offsetof(ringLayout{}.elemSize)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.total_size)-unsafe.Offsetof(ringLayout{}.totalSize)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.capacity)-unsafe.Offsetof(ringLayout{}.capacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.slots_offset)-unsafe.Offsetof(ringLayout{}.slotsOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.stamps_offset)-unsafe.Offsetof(ringLayout{}.stampsOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.refs)-unsafe.Offsetof(ringLayout{}.refs)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.reclaimed)-unsafe.Offsetof(ringLayout{}.reclaimed)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.reclaimed)-unsafe.Offsetof(C.struct_sr_ring{}.reclaimed)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.tail)-unsafe.Offsetof(ringLayout{}.tail)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.head_cache)-unsafe.Offsetof(ringLayout{}.headCache)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.evicted)-unsafe.Offsetof(ringLayout{}.evicted)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.padded)-unsafe.Offsetof(ringLayout{}.padded)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.claim_len)-unsafe.Offsetof(ringLayout{}.claimLen)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.skipped)-unsafe.Offsetof(ringLayout{}.skipped)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.read_len)-unsafe.Offsetof(ringLayout{}.readLen)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.read_start)-unsafe.Offsetof(ringLayout{}.readStart)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.read_end)-unsafe.Offsetof(ringLayout{}.readEnd)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.head)-unsafe.Offsetof(ringLayout{}.head)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.tail_cache)-unsafe.Offsetof(ringLayout{}.tailCache)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.state)-unsafe.Offsetof(ringLayout{}.state)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.prod_wait)-unsafe.Offsetof(ringLayout{}.prodWait)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.cons_wait)-unsafe.Offsetof(ringLayout{}.consWait)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.producers)-unsafe.Offsetof(ringLayout{}.producers)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.mp_start)-unsafe.Offsetof(ringLayout{}.mpStart)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.drain)-unsafe.Offsetof(ringLayout{}.drain)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.flags)-unsafe.Offsetof(ringLayout{}.flags)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.drain)-unsafe.Offsetof(C.struct_sr_ring{}.drain)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.capacity)-unsafe.Offsetof(C.struct_sr_ring{}.capacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.state)-unsafe.Offsetof(C.struct_sr_ring{}.state)]
)

// newCRing allocates the ring in C memory with sr_ring_new. The block is
// freed (sr_ring_release) when the ring becomes unreachable from Go, not at
// Close: a Close from another goroutine must never free memory a handle's
// owner is still using. C code that keeps the ring longer takes its own
// reference with sr_ring_retain. What Close can give back at once, it does:
// see reclaim.
func newCRing[T any](cfg Config) (*ring[T], error) {
	cc := C.struct_sr_config{
		capacity:     C.uint64_t(cfg.Capacity),
		elem_size:    C.uint64_t(unsafe.Sizeof(*new(T))),
		backpressure: C.uint32_t(cfg.Backpressure),
		wait:         C.uint32_t(cfg.Wait.kind - 1), // waitSpin.. map onto SR_WAIT_SPIN..
		spins:        C.uint32_t(cfg.Wait.spins),
	}
	var cerr C.int
	p := C.sr_ring_new(&cc, &cerr)
	if p == nil {
		return nil, fmt.Errorf("%w: sr_ring_new: %w", ErrInvalidConfig, syscall.Errno(-cerr))
	}
	base := unsafe.Pointer(p)
	l := (*ringLayout)(base)
	r := &ring[T]{l: l, slots: unsafe.Add(base, l.slotsOffset), cptr: base}
	if l.stampsOffset != 0 {
		r.stamps = unsafe.Add(base, l.stampsOffset)
	}
	r.setup(cfg, true)
	shared := l.flags&C.SR_FLAG_SHARED != 0
	r.parker = newCParker(&l.prodWait, futexParker{shared: shared}, shared)
	runtime.AddCleanup(r, func(p *C.struct_sr_ring) { C.sr_ring_release(p) }, p)
	return r, nil
}

// reclaim returns the pages of the slots and stamps to the OS once both
// sides have closed (sr_ring_reclaim, madvise(MADV_DONTNEED)), so a closed
// channel does not hold its items' memory until the GC collects the handles:
// that is what makes Close release the memory. ring.close calls it when its
// close set the second close bit, which exactly one close does; the C side
// guards it as well, with an atomic exchange of the header's `reclaimed`
// word, so it runs once whoever calls it. Rings below 4 pages (16 KiB) are
// not mapped and keep their memory until the GC (sr_ring_new).
//
// Safety: nothing is unmapped or freed, so no handle can crash on it: the
// header (indexes, `state`, the wait words) keeps its page, and every later
// call reads both close bits there and returns ErrClosed; the block itself
// is freed only by the cleanup, after the handles are unreachable. What a
// call in flight when the last Close lands can do is read zeros where an
// item or a stamp was. Since both close bits are set before the pages go, a
// reader that finds zeros also finds the ring closed, if it looks after its
// read. So every path that copies an item out of a slot (a pop, a DropOldest
// eviction handed to a spout) must re-load `state` after its last read of
// the slot, ordered after it (the seq_cst publish of head or of the stamp
// that follows the copy, then the atomic load, does), and discard the item
// if the channel is closed (both bits; a pop may discard as soon as its own
// side is closed); every loop that waits on a stamp or a slot must also
// watch `state`, since a zeroed stamp may never change again. A push in
// flight needs nothing: its write lands in a page dropped or freed with the
// ring. The full argument is at sr_ring_reclaim in csrc/spillring.h.
func (r *ring[T]) reclaim() {
	if r.cptr == nil {
		return // the Go backend: Go memory, which the GC sees
	}
	C.sr_ring_reclaim((*C.struct_sr_ring)(r.cptr))
	runtime.KeepAlive(r)
}
