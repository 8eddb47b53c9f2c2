//go:build cgo && linux && !purego

// The C side of a Go work function (pool_c.go): a worker thread calls
// sr_go_work as its sr_work_fn, and it calls back into Go once per round.
// Kept apart from pool_c.go, whose preamble defines functions: a file with
// //export may only declare them.
#include <stdint.h>
#include "_cgo_export.h"

struct sr_spill;

int sr_go_work(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	(void)args; /* Go work reads the pool's args in Go memory */
	return spillringPoolWork((uintptr_t)ctx, worker, out);
}
