//go:build cgo && linux && !purego

// Package cwork provides C work functions (sr_work_fn, csrc/pool.h) for the
// WorkerPool tests: cgo is not allowed in _test.go files. It compiles its
// own private copy of the spill ring (SR_API static), as a C program built
// against the header would, and pushes with sr_spill_push_burst.
package cwork

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I${SRCDIR}/../../csrc

#define SR_API static
#include "spill.c"
#include "pool.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

// Must match Args below.
struct cw_args {
	uint64_t count; // items each worker pushes this round
	int32_t fail;   // nonzero: worker `fail - 1` returns 100 + worker
	int32_t sleep_us;
};

// Per worker: the next item's number, the CPU the last round ran on, and the
// first push error seen.
struct cw_state {
	uint64_t next;
	int32_t cpu;
	int32_t err;
	char pad[112];
};

// cw_seq: each worker pushes worker << 40 | n, n counting up from 0 over
// all its rounds, in bursts of up to 64.
static int cw_seq(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	const struct cw_args *a = args;
	struct cw_state *st = (struct cw_state *)ctx + worker;
	uint64_t buf[64];

	st->cpu = sched_getcpu();
	if (a->sleep_us > 0) {
		struct timespec ts = { a->sleep_us / 1000000, (a->sleep_us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
	for (uint64_t done = 0; done < a->count;) {
		unsigned n = a->count - done < 64 ? (unsigned)(a->count - done) : 64;
		for (unsigned i = 0; i < n; i++)
			buf[i] = (uint64_t)worker << 40 | (st->next + i);
		int k = sr_spill_push_burst(out, buf, n);
		if (k < 0 || (unsigned)k < n) {
			// Spill area full: what it took is pushed; stop here.
			st->next += k < 0 ? 0 : (uint64_t)k;
			st->err = -ENOBUFS;
			return -ENOBUFS;
		}
		st->next += n;
		done += n;
	}
	if (a->fail && (unsigned)(a->fail - 1) == worker)
		return 100 + (int)worker;
	return 0;
}

static void *cw_fn(void) { return (void *)cw_seq; }
static struct cw_state *cw_new(unsigned workers) { return calloc(workers, sizeof(struct cw_state)); }
static int32_t cw_cpu(struct cw_state *s, unsigned i) { return s[i].cpu; }
static uint64_t cw_next(struct cw_state *s, unsigned i) { return s[i].next; }
*/
import "C"

import "unsafe"

// Args is a round's args for Seq (struct cw_args).
type Args struct {
	Count   uint64 // items each worker pushes
	Fail    int32  // nonzero: worker Fail-1 returns 100 + its index
	SleepUs int32  // sleep first, in microseconds
}

// Seq is the state of the cw_seq work function: worker w pushes w<<40 | n,
// n counting up from 0 across rounds.
type Seq struct {
	st      *C.struct_cw_state
	workers int
}

// NewSeq allocates the per-worker state; Free releases it after the pool's
// Close.
func NewSeq(workers int) *Seq {
	return &Seq{st: C.cw_new(C.unsigned(workers)), workers: workers}
}

// Work returns the pool's CWork: the function and its ctx. (A CWork value
// itself would import spillring, whose tests import this package.)
func (s *Seq) Work() (fn, ctx unsafe.Pointer) {
	return C.cw_fn(), unsafe.Pointer(s.st)
}

// CPU is the CPU worker i ran its last round on.
func (s *Seq) CPU(i int) int { return int(C.cw_cpu(s.st, C.unsigned(i))) }

// Next is how many items worker i has pushed in all.
func (s *Seq) Next(i int) uint64 { return uint64(C.cw_next(s.st, C.unsigned(i))) }

// Free releases the state.
func (s *Seq) Free() { C.free(unsafe.Pointer(s.st)) }
