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
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.capacity)-unsafe.Offsetof(ringLayout{}.capacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.slots_offset)-unsafe.Offsetof(ringLayout{}.slotsOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.stamps_offset)-unsafe.Offsetof(ringLayout{}.stampsOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.refs)-unsafe.Offsetof(ringLayout{}.refs)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.tail)-unsafe.Offsetof(ringLayout{}.tail)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.head_cache)-unsafe.Offsetof(ringLayout{}.headCache)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.evicted)-unsafe.Offsetof(ringLayout{}.evicted)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.head)-unsafe.Offsetof(ringLayout{}.head)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.tail_cache)-unsafe.Offsetof(ringLayout{}.tailCache)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.closed)-unsafe.Offsetof(ringLayout{}.closed)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.prod_wait)-unsafe.Offsetof(ringLayout{}.prodWait)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_ring{}.cons_wait)-unsafe.Offsetof(ringLayout{}.consWait)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.capacity)-unsafe.Offsetof(C.struct_sr_ring{}.capacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(ringLayout{}.closed)-unsafe.Offsetof(C.struct_sr_ring{}.closed)]
)

// newCRing allocates the ring in C memory with sr_ring_new. The memory is
// released (sr_ring_release) when the ring becomes unreachable from Go, not
// at Close: a Close from another goroutine must never free memory a
// handle's owner is still using. C code that keeps the ring longer takes its
// own reference with sr_ring_retain.
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
