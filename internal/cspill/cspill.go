//go:build cgo && linux && !purego

// Package cspill lets a plain C thread own a spillring SpillRing for a
// while, for the tests of the C backend's handover.
//
// cgo is not allowed in _test.go files, and the root package's own cgo code
// is the library under test. So this package compiles its own private copy
// of the spill ring (SR_API static, then #include "spill.c") against the
// public header csrc/spill.h, as a C program built against the header
// would. Nothing here calls back into Go: the C thread sees only the struct
// sr_spill in memory.
//
// The handover is the one csrc/spill.h asks for: pthread_create hands the
// ring to the C thread, pthread_join hands it back, and the Go caller blocks
// in between, so Go and C never touch the ring at the same time.
package cspill

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I${SRCDIR}/../../csrc
#cgo LDFLAGS: -pthread

#define SR_API static
#include "spill.c"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

// Largest burst a pusher pushes in one call.
#define PUSH_BURST_MAX 64

struct pusher {
	struct sr_spill *ring;
	uint64_t first;  // the value of the first item
	uint64_t n;      // items to push
	unsigned burst;  // 0: sr_spill_push; else sr_spill_push_burst of this many
	uint64_t pushed; // items taken
	int rc;          // 0 or the error that stopped it (negative errno)
};

// Pushes first, first+1, ... until n items are taken or the ring refuses
// one (-ENOBUFS: the ring and its spill area are full).
static void *pusher_main(void *arg)
{
	struct pusher *p = arg;
	struct sr_spill *s = p->ring;

	if (p->burst == 0) {
		while (p->pushed < p->n) {
			uint64_t v = p->first + p->pushed;
			int rc = sr_spill_push(s, &v);

			if (rc < 0) {
				p->rc = rc;
				break;
			}
			p->pushed++;
		}
	} else {
		uint64_t buf[PUSH_BURST_MAX];

		while (p->pushed < p->n) {
			uint64_t left = p->n - p->pushed;
			unsigned k = left < p->burst ? (unsigned)left : p->burst;
			int got;

			for (unsigned j = 0; j < k; j++)
				buf[j] = p->first + p->pushed + j;
			got = sr_spill_push_burst(s, buf, k);
			if (got < 0) {
				p->rc = got;
				break;
			}
			p->pushed += (unsigned)got;
			if ((unsigned)got < k) {
				p->rc = -ENOBUFS;
				break;
			}
		}
	}
	return NULL;
}

// Runs a pusher on its own thread and waits for it. The thread holds its own
// reference to the ring while it runs.
static int run_pusher(struct sr_spill *s, uint64_t first, uint64_t n, unsigned burst,
		      uint64_t *pushed)
{
	struct pusher p = {.ring = s, .first = first, .n = n, .burst = burst};
	pthread_t th;
	int rc;

	*pushed = 0;
	if (burst > PUSH_BURST_MAX)
		return -EINVAL;
	sr_spill_retain(s);
	rc = pthread_create(&th, NULL, pusher_main, &p);
	if (rc != 0) {
		sr_spill_release(s);
		return -rc;
	}
	rc = pthread_join(th, NULL);
	sr_spill_release(s);
	if (rc != 0)
		return -rc;
	*pushed = p.pushed;
	return p.rc;
}

// The ring's counters, read by the C side's rules (a settled view).
static void counts(const struct sr_spill *s, uint64_t *len, uint64_t *pending)
{
	*len = sr_spill_len(s);
	*pending = sr_spill_pending(s);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// MaxBurst is the largest burst Push takes.
const MaxBurst = 64

// Push hands ring (a struct sr_spill * of 8-byte items, from
// SpillRing.CSpill) to a new C thread, which pushes the uint64 values first,
// first+1, ... until n are taken: one at a time with sr_spill_push when
// burst is 0, else with sr_spill_push_burst of up to burst items. It stops
// early when the ring refuses an item because the ring and its spill area are
// full. Push returns once the thread has exited (the handback), with how many
// items it pushed, and an error wrapping syscall.ENOBUFS if it stopped early.
func Push(ring unsafe.Pointer, first, n uint64, burst int) (uint64, error) {
	if ring == nil {
		return 0, errors.New("cspill: nil ring")
	}
	if burst < 0 || burst > MaxBurst {
		return 0, fmt.Errorf("cspill: burst %d out of range [0, %d]", burst, MaxBurst)
	}
	var pushed C.uint64_t
	rc := C.run_pusher((*C.struct_sr_spill)(ring), C.uint64_t(first), C.uint64_t(n), C.unsigned(burst), &pushed)
	if rc < 0 {
		return uint64(pushed), fmt.Errorf("cspill: C pusher stopped after %d of %d items: %w", uint64(pushed), n, syscall.Errno(-rc))
	}
	return uint64(pushed), nil
}

// Counts returns the ring's length and pending spilled items as the C API
// reports them (sr_spill_len, sr_spill_pending). The ring must not be in use.
func Counts(ring unsafe.Pointer) (length, pending uint64) {
	var l, p C.uint64_t
	C.counts((*C.struct_sr_spill)(ring), &l, &p)
	return uint64(l), uint64(p)
}

// Retain takes a C reference to ring (sr_spill_retain), as C code that may
// outlive the SpillRing does: the block then stays valid after the
// SpillRing's Close, until Release.
func Retain(ring unsafe.Pointer) { C.sr_spill_retain((*C.struct_sr_spill)(ring)) }

// Release drops a reference Retain took (sr_spill_release); the last one
// frees the block.
func Release(ring unsafe.Pointer) { C.sr_spill_release((*C.struct_sr_spill)(ring)) }
