//go:build cgo && linux && !purego

// Package cpeer runs the other side of a spillring channel on a plain C
// thread, for the C-interop tests.
//
// It exists because the tests need a real C program at the far end of a
// ring: cgo is not allowed in _test.go files, and the root package's own
// cgo code is the library under test. So this separate package compiles its
// own private copy of the C core (SR_API static, then #include "ring.c")
// against the public header csrc/spillring.h, exactly as a C program built
// against the header would. Nothing here calls back into Go or shares
// symbols with the root package: a C thread started here sees only the
// struct sr_ring in memory and the protocol the header defines.
//
// Each peer keeps its state in its own malloc'd block, so a test may run
// several peers at once. A peer takes its own reference to the ring
// (sr_ring_retain) for the life of its thread, so the ring outlives the Go
// handles if it has to.
package cpeer

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I${SRCDIR}/../../csrc
#cgo LDFLAGS: -pthread

#define SR_API static
#include "ring.c"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

// Largest batch a peer moves in one call.
#define PEER_BATCH 64

struct peer {
	pthread_t thread;
	struct sr_ring *ring;
	uint64_t n;         // items to push, or items expected
	int batch;          // producer: push with sr_ring_push_burst
	int rc;             // 0 or the first error (negative errno)
	uint64_t count;     // items pushed or popped
	uint64_t bad_index; // consumer: index of the first mismatch
	uint64_t bad_value; // consumer: the value found there
	int bad;            // consumer: a mismatch was seen
};

static void *producer_main(void *arg)
{
	struct peer *p = arg;
	struct sr_ring *r = p->ring;
	int rc = 0;

	if (!p->batch) {
		for (uint64_t i = 0; i < p->n; i++) {
			rc = sr_ring_push(r, &i);
			if (rc < 0)
				break;
			p->count = i + 1;
		}
	} else {
		uint64_t buf[PEER_BATCH];
		uint64_t next = 0;

		while (next < p->n && rc == 0) {
			unsigned k = p->n - next < PEER_BATCH ? (unsigned)(p->n - next) : PEER_BATCH;
			unsigned off = 0;

			for (unsigned j = 0; j < k; j++)
				buf[j] = next + j;
			while (off < k) {
				int got = sr_ring_push_burst(r, buf + off, k - off);

				if (got < 0) {
					rc = got;
					break;
				}
				if (got == 0)
					sched_yield(); // full: bursts never wait
				off += (unsigned)got;
			}
			next += off;
			p->count = next;
		}
	}
	// Close even after an error, so a consumer waiting for data ends.
	int crc = sr_ring_close(r, SR_CLOSED_PRODUCER);
	if (rc == 0)
		rc = crc;
	p->rc = rc;
	sr_ring_release(r);
	return NULL;
}

// Pops with a mix of sr_ring_pop (waits per the ring's strategy) and
// sr_ring_pop_burst of varying sizes until -EPIPE, checking that item i is
// the value i. It keeps draining after a mismatch so the producer is never
// left blocked; only the first mismatch is recorded.
static void *consumer_main(void *arg)
{
	struct peer *p = arg;
	struct sr_ring *r = p->ring;
	uint64_t buf[PEER_BATCH];
	uint64_t count = 0;
	unsigned step = 0;
	int rc;

	for (;;) {
		int got;

		step++;
		if (step % 4 == 0) {
			rc = sr_ring_pop(r, buf);
			if (rc < 0)
				break;
			got = 1;
		} else {
			unsigned want = 1 + (step * 7) % PEER_BATCH;

			got = sr_ring_pop_burst(r, buf, want);
			if (got < 0) {
				rc = got;
				break;
			}
			if (got == 0) {
				// Nothing ready: let sr_ring_pop do the waiting.
				rc = sr_ring_pop(r, buf);
				if (rc < 0)
					break;
				got = 1;
			}
		}
		for (int j = 0; j < got; j++, count++) {
			if (buf[j] != count && !p->bad) {
				p->bad = 1;
				p->bad_index = count;
				p->bad_value = buf[j];
			}
		}
	}
	p->count = count;
	if (rc == -EPIPE && !(sr_ring_closed(r) & SR_CLOSED_CONSUMER))
		rc = 0; // the producer closed and the ring is drained: done
	if (rc == 0 && p->bad)
		rc = -EILSEQ;
	p->rc = rc;
	sr_ring_release(r);
	return NULL;
}

static struct peer *peer_start(struct sr_ring *r, uint64_t n, int batch,
			       void *(*fn)(void *), int *err)
{
	struct peer *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->ring = r;
	p->n = n;
	p->batch = batch;
	sr_ring_retain(r); // the thread's own reference, dropped by the thread
	rc = pthread_create(&p->thread, NULL, fn, p);
	if (rc != 0) {
		sr_ring_release(r);
		free(p);
		*err = -rc;
		return NULL;
	}
	*err = 0;
	return p;
}

static struct peer *start_producer(struct sr_ring *r, uint64_t n, int batch, int *err)
{
	return peer_start(r, n, batch, producer_main, err);
}

static struct peer *start_consumer(struct sr_ring *r, uint64_t n, int *err)
{
	return peer_start(r, n, 0, consumer_main, err);
}

// Waits for the thread and frees the peer. Returns 0 or the first error.
static int join_peer(struct peer *p, uint64_t *count, uint64_t *bad_index, uint64_t *bad_value)
{
	int rc = pthread_join(p->thread, NULL);

	if (rc != 0)
		return -rc;
	*count = p->count;
	*bad_index = p->bad_index;
	*bad_value = p->bad_value;
	rc = p->rc;
	free(p);
	return rc;
}

static int join_producer(struct peer *p, uint64_t *count)
{
	uint64_t bi, bv;

	return join_peer(p, count, &bi, &bv);
}

static int join_consumer(struct peer *p, uint64_t *count, uint64_t *bad_index, uint64_t *bad_value)
{
	return join_peer(p, count, bad_index, bad_value);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// Peer is a C thread running one side of a ring. Join it exactly once.
type Peer struct {
	p        *C.struct_peer
	consumer bool
	n        uint64
	startErr error
	joined   bool
}

// ErrJoined is returned by a second Join.
var ErrJoined = errors.New("cpeer: peer already joined")

// StartProducer starts a C thread that pushes the uint64 values 0..n-1 into
// ring (a struct sr_ring * of 8-byte items) and then closes the producer
// side. With batch false it uses sr_ring_push, which waits per the ring's
// wait strategy; with batch true it uses sr_ring_push_burst of up to 64
// items, yielding when nothing fits. The thread holds its own reference to
// the ring while it runs.
func StartProducer(ring unsafe.Pointer, n uint64, batch bool) *Peer {
	pr := &Peer{n: n}
	if ring == nil {
		pr.startErr = errors.New("cpeer: nil ring")
		return pr
	}
	b := C.int(0)
	if batch {
		b = 1
	}
	var cerr C.int
	pr.p = C.start_producer((*C.struct_sr_ring)(ring), C.uint64_t(n), b, &cerr)
	if pr.p == nil {
		pr.startErr = fmt.Errorf("cpeer: start producer: %w", syscall.Errno(-cerr))
	}
	return pr
}

// StartConsumer starts a C thread that pops from ring (a struct sr_ring *
// of 8-byte items) until it is closed and drained, mixing sr_ring_pop and
// sr_ring_pop_burst, and checks that the i-th item is the value i. Join
// reports the count and any mismatch, and an error unless exactly n items
// arrived. The thread holds its own reference to the ring while it runs.
func StartConsumer(ring unsafe.Pointer, n uint64) *Peer {
	pr := &Peer{n: n, consumer: true}
	if ring == nil {
		pr.startErr = errors.New("cpeer: nil ring")
		return pr
	}
	var cerr C.int
	pr.p = C.start_consumer((*C.struct_sr_ring)(ring), C.uint64_t(n), &cerr)
	if pr.p == nil {
		pr.startErr = fmt.Errorf("cpeer: start consumer: %w", syscall.Errno(-cerr))
	}
	return pr
}

// Join waits for the thread to finish and returns how many items it pushed
// or popped. The error wraps the syscall.Errno of a failed ring call (e.g.
// EPIPE for a push after the consumer closed), EILSEQ for a consumer that
// saw an item out of sequence (the message names the first bad index), or
// says that a consumer got a count other than n.
func (pr *Peer) Join() (count uint64, err error) {
	if pr.startErr != nil {
		return 0, pr.startErr
	}
	if pr.joined {
		return 0, ErrJoined
	}
	pr.joined = true
	var cnt, badIndex, badValue C.uint64_t
	var rc C.int
	if pr.consumer {
		rc = C.join_consumer(pr.p, &cnt, &badIndex, &badValue)
	} else {
		rc = C.join_producer(pr.p, &cnt)
	}
	pr.p = nil
	count = uint64(cnt)
	side := "producer"
	if pr.consumer {
		side = "consumer"
	}
	switch {
	case rc == -C.EILSEQ && pr.consumer:
		return count, fmt.Errorf("cpeer: C consumer: item %d is %d, want %d (%d items popped): %w",
			uint64(badIndex), uint64(badValue), uint64(badIndex), count, syscall.Errno(C.EILSEQ))
	case rc < 0:
		return count, fmt.Errorf("cpeer: C %s stopped after %d of %d items: %w", side, count, pr.n, syscall.Errno(-rc))
	case rc > 0:
		return count, fmt.Errorf("cpeer: C %s: unexpected result %d", side, int(rc))
	case pr.consumer && count != pr.n:
		return count, fmt.Errorf("cpeer: C consumer popped %d items, want %d", count, pr.n)
	}
	return count, nil
}
