package bench

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -I${SRCDIR}/../csrc

// The spillring-c work function of the pool scenarios (sr_work_fn,
// ../csrc/pool.h). Like c11loop.go, a private static copy of the C core
// (here the spill ring the workers push into), as a C program built against
// the headers would have: no symbol clash with the root package's extern
// copy, and the rings the pool hands over share its layout. spill.c must
// come before any system header.
#define SR_API static
#include "spill.c"
#include "pool.h"

#include <stdint.h>

// Must match poolArgs (checked below).
struct pw_args {
	uint64_t seq;   // the round's first value
	uint64_t count; // items each worker pushes
};

enum { PW_BURST = 256 };

// Worker w pushes seq + j + w<<40 for j < count: one sr_spill_push for a
// single item (pool-round), bursts of PW_BURST from a stack buffer
// otherwise (pool-stream), as the Go work does with Push and PushSlice.
// Anything but a plain push is a failure: the rings are sized so that
// nothing spills, and Join turns a nonzero return into an error.
static int pw_work(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	const struct pw_args *a = args;
	uint64_t base = a->seq + ((uint64_t)worker << 40);
	uint64_t buf[PW_BURST];

	(void)ctx;
	if (a->count == 1)
		return sr_spill_push(out, &base) != 0;
	for (uint64_t off = 0; off < a->count;) {
		unsigned n = a->count - off < PW_BURST ? (unsigned)(a->count - off) : PW_BURST;
		for (unsigned j = 0; j < n; j++)
			buf[j] = base + off + j;
		if (sr_spill_push_burst(out, buf, n) != (int)n)
			return 1;
		off += n;
	}
	return 0;
}

static void *pw_fn(void) { return (void *)pw_work; }
*/
import "C"

import (
	"unsafe"

	"github.com/spillring/spillring"
)

// poolArgs is a pool round's args, for the Go and the C work alike.
type poolArgs struct {
	Seq   uint64 // the round's first value
	Count uint64 // items each worker pushes
}

// poolArgs must match struct pw_args byte for byte: the pool copies it
// into C memory for pw_work.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(poolArgs{})-unsafe.Sizeof(C.struct_pw_args{})]
	_ = [1]struct{}{}[unsafe.Offsetof(poolArgs{}.Count)-unsafe.Offsetof(C.struct_pw_args{}.count)]
)

// cPoolWork is the spillring-c work function. It keeps no state: Ctx is nil.
func cPoolWork() spillring.CWork {
	return spillring.CWork{Fn: C.pw_fn()}
}
