//go:build cgo && linux && !purego

package spillring

/*
#include <errno.h>
#include "csrc/spill.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// The Go mirror must match struct sr_spill byte for byte; a drift in either
// direction makes one of these indexes out of range and breaks the build.
const (
	_ = uint(unsafe.Sizeof(C.struct_sr_spill{}) - unsafe.Sizeof(spillLayout{}))
	_ = uint(unsafe.Sizeof(spillLayout{}) - unsafe.Sizeof(C.struct_sr_spill{}))
)

var (
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.refs)-unsafe.Offsetof(spillLayout{}.refs)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.magic)-unsafe.Offsetof(spillLayout{}.magic)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.version)-unsafe.Offsetof(spillLayout{}.version)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.capacity)-unsafe.Offsetof(spillLayout{}.capacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.mask)-unsafe.Offsetof(spillLayout{}.mask)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.elem_size)-unsafe.Offsetof(spillLayout{}.elemSize)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.spill_capacity)-unsafe.Offsetof(spillLayout{}.spillCapacity)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.slots_offset)-unsafe.Offsetof(spillLayout{}.slotsOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.spill_offset)-unsafe.Offsetof(spillLayout{}.spillOffset)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.total_size)-unsafe.Offsetof(spillLayout{}.totalSize)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.flags)-unsafe.Offsetof(spillLayout{}.flags)]
	_ = [1]struct{}{}[unsafe.Offsetof(spillLayout{}.flags)-unsafe.Offsetof(C.struct_sr_spill{}.flags)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.head)-unsafe.Offsetof(spillLayout{}.head)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.tail)-unsafe.Offsetof(spillLayout{}.tail)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.spilled)-unsafe.Offsetof(spillLayout{}.spilled)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.spill_head)-unsafe.Offsetof(spillLayout{}.spillHead)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_spill{}.spill_len)-unsafe.Offsetof(spillLayout{}.spillLen)]
	_ = [1]struct{}{}[unsafe.Offsetof(spillLayout{}.head)-unsafe.Offsetof(C.struct_sr_spill{}.head)]
	_ = [1]struct{}{}[unsafe.Offsetof(spillLayout{}.spillLen)-unsafe.Offsetof(C.struct_sr_spill{}.spill_len)]
)

// newSpillC puts r's ring in C memory with sr_spill_new. The memory is
// released (sr_spill_release) by Close, or when r becomes unreachable: C
// code that keeps the ring longer takes its own reference with
// sr_spill_retain.
func newSpillC[T any](r *SpillRing[T], spillBuffer int) error {
	cc := C.struct_sr_spill_config{
		capacity:       C.uint64_t(r.cap),
		elem_size:      C.uint64_t(unsafe.Sizeof(*new(T))),
		spill_capacity: C.uint64_t(spillBuffer),
	}
	var cerr C.int
	p := C.sr_spill_new(&cc, &cerr)
	if p == nil {
		if cerr == -C.ENOMEM {
			return fmt.Errorf("spillring: sr_spill_new: %w", syscall.ENOMEM)
		}
		return fmt.Errorf("%w: sr_spill_new: %w", ErrInvalidConfig, syscall.Errno(-cerr))
	}
	base := unsafe.Pointer(p)
	// The block holds the header, then the slots and the spill area at
	// the offsets sr_spill_init wrote (csrc/spill.h).
	r.l = (*spillLayout)(base)
	r.slots = unsafe.Add(base, r.l.slotsOffset)
	r.area = unsafe.Add(base, r.l.spillOffset)
	r.cptr = base
	r.cleanup = runtime.AddCleanup(r, func(p *C.struct_sr_spill) { C.sr_spill_release(p) }, p)
	return nil
}

// freeC drops Go's reference to the C block now (Close): the cleanup that
// would have dropped it at GC is stopped first, so it is dropped once. r is
// reachable here (this is its method), so the cleanup cannot be queued yet.
func (r *SpillRing[T]) freeC() {
	if r.cptr == nil {
		return
	}
	r.cleanup.Stop()
	C.sr_spill_release((*C.struct_sr_spill)(r.cptr))
}
