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
//
// StartProducers runs several C producers on one ring at once (its MPSC
// mode), and StartMultiConsumer checks what they sent. Ring makes a ring with
// this package's own copy of the core, for tests that need no Go backend.
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

// How a producer pushes.
#define PEER_PUSH 0  // sr_ring_push
#define PEER_BURST 1 // sr_ring_push_burst
#define PEER_CLAIM 2 // sr_ring_claim, then sr_ring_commit of all, part or none

// What a claim writes into the slots it does not commit: no consumer may
// ever see it.
#define PEER_POISON UINT64_C(0xdeadbeefdeadbeef)

// MPSC items: producer id << PEER_ID_SHIFT | that producer's sequence.
#define PEER_ID_SHIFT 40
#define PEER_MAX_IDS 64

struct peer {
	pthread_t thread;
	struct sr_ring *ring;
	uint64_t n;         // items to push, or items expected
	uint64_t tag;       // producer: or'ed into every value (id << 40)
	int batch;          // producer: PEER_PUSH, PEER_BURST or PEER_CLAIM
	int claims;         // consumer: mix read claims into the pops
	int rc;             // 0 or the first error (negative errno)
	uint64_t count;     // items pushed or popped
	uint64_t bad_index; // consumer: index of the first mismatch
	uint64_t bad_value; // consumer: the value found there
	int bad;            // consumer: a mismatch was seen
	// MPSC consumer: items expected per producer id, the next sequence
	// expected from each, and whether gaps are allowed (DropOldest).
	unsigned nids;
	int gaps;
	uint64_t want[PEER_MAX_IDS];
	uint64_t next[PEER_MAX_IDS];
};

static void *producer_main(void *arg)
{
	struct peer *p = arg;
	struct sr_ring *r = p->ring;
	int rc = 0;

	if (p->batch == PEER_CLAIM) {
		// Claims of varying size, written in place; every third one
		// commits only part (or none) and poisons the rest.
		uint64_t next = 0;
		unsigned step = 0;

		while (next < p->n && rc == 0) {
			struct sr_claim c = SR_CLAIM_INIT;
			uint64_t left = p->n - next;
			unsigned want = 1 + (++step * 7) % PEER_BATCH;
			int got, took;
			unsigned k;

			if (want > left)
				want = (unsigned)left;
			got = sr_ring_claim(r, &c, want);
			if (got == -ENOBUFS) { // Reject: full is not an error here
				sched_yield();
				continue;
			}
			if (got < 0) {
				rc = got;
				break;
			}
			k = step % 3 == 0 ? step % ((unsigned)got + 1) : (unsigned)got;
			for (unsigned j = 0; j < (unsigned)got; j++) {
				uint64_t *slot = j < c.len[0] ? (uint64_t *)c.span[0] + j
							       : (uint64_t *)c.span[1] + (j - c.len[0]);

				*slot = j < k ? p->tag | (next + j) : PEER_POISON;
			}
			took = sr_ring_commit(r, &c, k);
			if (took < 0) {
				rc = took;
				break;
			}
			next += (unsigned)took;
			p->count = next;
			if ((unsigned)took != k)
				rc = -EPIPE; // a close kept some out
		}
	} else if (p->batch == PEER_PUSH) {
		for (uint64_t i = 0; i < p->n; i++) {
			uint64_t v = p->tag | i;

			// Reject: full is not an error for a peer, it retries.
			while ((rc = sr_ring_push(r, &v)) == -ENOBUFS)
				sched_yield();
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
				buf[j] = p->tag | (next + j);
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

// One pop of the consumers' mix: every 4th step sr_ring_pop (waits per the
// ring's strategy), otherwise sr_ring_pop_burst of a varying size, falling
// back to sr_ring_pop when nothing is ready. The number of items in buf, or
// a negative errno (-EPIPE at the end).
static int peer_pop(struct sr_ring *r, uint64_t *buf, unsigned step)
{
	int got;

	if (step % 4 != 0) {
		got = sr_ring_pop_burst(r, buf, 1 + (step * 7) % PEER_BATCH);
		if (got != 0)
			return got;
	}
	got = sr_ring_pop(r, buf);
	return got < 0 ? got : 1;
}

// A read claim of a varying size, copied into buf and released; every third
// one releases only part (at least one item), and the rest comes first next
// time. The number of items in buf, or a negative errno (-EPIPE at the end).
static int peer_read(struct sr_ring *r, uint64_t *buf, unsigned step)
{
	struct sr_claim c = SR_CLAIM_INIT;
	int got = sr_ring_read_claim(r, &c, 1 + (step * 5) % PEER_BATCH);
	unsigned k;
	int rc;

	if (got < 0)
		return got;
	k = step % 3 == 0 ? 1 + step % (unsigned)got : (unsigned)got;
	for (unsigned j = 0; j < k; j++)
		buf[j] = j < c.len[0] ? ((uint64_t *)c.span[0])[j] : ((uint64_t *)c.span[1])[j - c.len[0]];
	rc = sr_ring_read_release(r, &c, k);
	return rc < 0 ? rc : (int)k;
}

// The consumers' step: peer_pop, or every other step peer_read if the peer
// mixes in read claims.
static int peer_take(struct peer *p, uint64_t *buf, unsigned step)
{
	return p->claims && step % 2 ? peer_read(p->ring, buf, step) : peer_pop(p->ring, buf, step);
}

// Pops with peer_pop until -EPIPE, checking that item i is the value i. It
// keeps draining after a mismatch so the producer is never left blocked;
// only the first mismatch is recorded.
static void *consumer_main(void *arg)
{
	struct peer *p = arg;
	struct sr_ring *r = p->ring;
	uint64_t buf[PEER_BATCH];
	uint64_t count = 0;
	unsigned step = 0;
	int rc;

	for (;;) {
		int got = peer_take(p, buf, ++step);

		if (got < 0) {
			rc = got;
			break;
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

// Pops with peer_pop until -EPIPE, from several producers at once:
// item v comes from producer v >> 40, whose items must arrive in their own
// order (v & (2^40 - 1) = 0, 1, 2, ...), with gaps only if p->gaps. At the
// end, without gaps, each producer id must have sent exactly want[id].
static void *multi_consumer_main(void *arg)
{
	struct peer *p = arg;
	struct sr_ring *r = p->ring;
	uint64_t buf[PEER_BATCH];
	uint64_t count = 0;
	unsigned step = 0;
	int rc;

	for (;;) {
		int got = peer_take(p, buf, ++step);

		if (got < 0) {
			rc = got;
			break;
		}
		for (int j = 0; j < got; j++, count++) {
			uint64_t id = buf[j] >> PEER_ID_SHIFT;
			uint64_t seq = buf[j] & ((UINT64_C(1) << PEER_ID_SHIFT) - 1);
			int ok = id < p->nids && (p->gaps ? seq >= p->next[id] : seq == p->next[id]);

			if (!ok && !p->bad) {
				p->bad = 1;
				p->bad_index = count;
				p->bad_value = buf[j];
			}
			if (id < p->nids)
				p->next[id] = seq + 1;
		}
	}
	p->count = count;
	if (rc == -EPIPE && !(sr_ring_closed(r) & SR_CLOSED_CONSUMER))
		rc = 0;
	if (rc == 0 && p->bad)
		rc = -EILSEQ;
	for (unsigned id = 0; rc == 0 && !p->gaps && id < p->nids; id++) {
		if (p->next[id] != p->want[id]) {
			p->bad = 2;
			p->bad_index = id;
			p->bad_value = p->next[id];
			rc = -ENODATA;
		}
	}
	p->rc = rc;
	sr_ring_release(r);
	return NULL;
}

static struct peer *peer_new(struct sr_ring *r, uint64_t n, int batch, int *err)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->ring = r;
	p->n = n;
	p->batch = batch;
	return p;
}

// Starts fn on p (from peer_new), or frees p and returns NULL.
static struct peer *peer_run(struct peer *p, void *(*fn)(void *), int *err)
{
	struct sr_ring *r = p->ring;
	int rc;

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

static struct peer *peer_start(struct sr_ring *r, uint64_t n, int batch,
			       void *(*fn)(void *), int *err)
{
	struct peer *p = peer_new(r, n, batch, err);

	return p ? peer_run(p, fn, err) : NULL;
}

static struct peer *start_producer(struct sr_ring *r, uint64_t n, int batch, int *err)
{
	return peer_start(r, n, batch, producer_main, err);
}

// One more producer of an MPSC ring: registered here, on the calling thread
// (sr_ring_add_producer, which upgrades the ring the first time), before its
// thread exists; the thread closes its producer reference when it is done.
// If the thread cannot start, the registration is undone by that close.
static struct peer *start_mp_producer(struct sr_ring *r, uint64_t id, uint64_t n, int batch, int *err)
{
	struct peer *p = peer_new(r, n, batch, err);

	if (!p)
		return NULL;
	p->tag = id << PEER_ID_SHIFT;
	*err = sr_ring_add_producer(r);
	if (*err) {
		free(p);
		return NULL;
	}
	p = peer_run(p, producer_main, err);
	if (!p)
		sr_ring_close(r, SR_CLOSED_PRODUCER);
	return p;
}

static struct peer *start_multi_consumer(struct sr_ring *r, const uint64_t *want, unsigned nids, int gaps, int claims, int *err)
{
	struct peer *p;
	uint64_t n = 0;

	if (nids > PEER_MAX_IDS) {
		*err = -EINVAL;
		return NULL;
	}
	for (unsigned i = 0; i < nids; i++)
		n += want[i];
	p = peer_new(r, n, 0, err);
	if (!p)
		return NULL;
	p->nids = nids;
	p->gaps = gaps;
	p->claims = claims;
	for (unsigned i = 0; i < nids; i++)
		p->want[i] = want[i];
	return peer_run(p, multi_consumer_main, err);
}

static struct peer *start_consumer(struct sr_ring *r, uint64_t n, int claims, int *err)
{
	struct peer *p = peer_new(r, n, 0, err);

	if (!p)
		return NULL;
	p->claims = claims;
	return peer_run(p, consumer_main, err);
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

// A ring made by this package's copy of the core, for tests that do
// without the root package.
static struct sr_ring *ring_new(uint64_t capacity, uint32_t backpressure, uint32_t wait, int *err)
{
	struct sr_config cfg = {
		.capacity = capacity,
		.elem_size = 8,
		.backpressure = backpressure,
		.wait = wait,
		.spins = 100,
	};

	return sr_ring_new(&cfg, err);
}

static int ring_push(struct sr_ring *r, uint64_t v)
{
	return sr_ring_push(r, &v);
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
	want     []uint64 // multi-producer consumer: items per producer id
	n        uint64
	startErr error
	joined   bool
}

// IDShift places a producer id in the items of StartProducers and
// StartMultiConsumer: item = id<<IDShift | the producer's sequence number.
const IDShift = C.PEER_ID_SHIFT

// MaxIDs bounds the producer ids a multi-producer consumer tells apart.
const MaxIDs = C.PEER_MAX_IDS

// ErrJoined is returned by a second Join.
var ErrJoined = errors.New("cpeer: peer already joined")

// StartProducer starts a C thread that pushes the uint64 values 0..n-1 into
// ring (a struct sr_ring * of 8-byte items) and then closes the producer
// side. With batch false it uses sr_ring_push, which waits per the ring's
// wait strategy; with batch true it uses sr_ring_push_burst of up to 64
// items, yielding when nothing fits. The thread holds its own reference to
// the ring while it runs.
func StartProducer(ring unsafe.Pointer, n uint64, batch bool) *Peer {
	return startProducer(ring, n, mode(batch))
}

// StartClaimProducer is StartProducer with claims: sr_ring_claim of 1 to 64
// slots, the values written in place, then sr_ring_commit. Every third
// claim commits only part of its slots, or none, and writes a poison value
// into the rest, which no consumer may ever see.
func StartClaimProducer(ring unsafe.Pointer, n uint64) *Peer {
	return startProducer(ring, n, C.PEER_CLAIM)
}

func mode(batch bool) C.int {
	if batch {
		return C.PEER_BURST
	}
	return C.PEER_PUSH
}

func startProducer(ring unsafe.Pointer, n uint64, b C.int) *Peer {
	pr := &Peer{n: n}
	if ring == nil {
		pr.startErr = errors.New("cpeer: nil ring")
		return pr
	}
	var cerr C.int
	pr.p = C.start_producer((*C.struct_sr_ring)(ring), C.uint64_t(n), b, &cerr)
	if pr.p == nil {
		pr.startErr = fmt.Errorf("cpeer: start producer: %w", syscall.Errno(-cerr))
	}
	return pr
}

// StartProducers starts k C threads that push into ring (a struct sr_ring *
// of 8-byte items) at once, thread i pushing the values (id0+i)<<IDShift | j
// for j = 0..n-1, as StartProducer does (Reject: a full ring is retried),
// then closing its own producer reference (sr_ring_close of the producer
// side; the side closes with the last reference).
//
// Each thread is registered with sr_ring_add_producer here, on the calling
// thread, before the thread exists; the first registration upgrades the ring
// to MPSC mode (U1 in csrc/spillring.h). So the caller must hold a producer
// reference of the ring (its first producer, or one registered before) and
// have no push of that producer in flight during the call. The caller keeps
// its reference and closes it itself. A thread that could not be registered
// (the ring closed: EPIPE) or started reports that from its Join; so do the
// ones after it, which are not started.
func StartProducers(ring unsafe.Pointer, id0, k int, n uint64, batch bool) []*Peer {
	return startProducers(ring, id0, k, n, mode(batch))
}

// StartClaimProducers is StartProducers with the claims of
// StartClaimProducer: in MPSC mode a part commit or an abort leaves padding
// behind when a later claim exists (K3 in csrc/spillring.h).
func StartClaimProducers(ring unsafe.Pointer, id0, k int, n uint64) []*Peer {
	return startProducers(ring, id0, k, n, C.PEER_CLAIM)
}

func startProducers(ring unsafe.Pointer, id0, k int, n uint64, b C.int) []*Peer {
	peers := make([]*Peer, k)
	var failed error
	switch {
	case ring == nil:
		failed = errors.New("cpeer: nil ring")
	case id0 < 0 || k < 0 || uint64(id0)+uint64(k) > 1<<(64-IDShift):
		failed = fmt.Errorf("cpeer: producer ids %d..%d out of range", id0, id0+k-1)
	}
	for i := range peers {
		pr := &Peer{n: n}
		peers[i] = pr
		if failed != nil {
			pr.startErr = failed
			continue
		}
		var cerr C.int
		pr.p = C.start_mp_producer((*C.struct_sr_ring)(ring), C.uint64_t(id0+i), C.uint64_t(n), b, &cerr)
		if pr.p == nil {
			pr.startErr = fmt.Errorf("cpeer: start producer %d: %w", id0+i, syscall.Errno(-cerr))
			failed = fmt.Errorf("cpeer: producer %d not started: %w", id0+i, pr.startErr)
		}
	}
	return peers
}

// StartMultiConsumer starts a C thread that pops from ring like
// StartConsumer, but for several producers (StartProducers): an item
// id<<IDShift | seq must have id < len(want), and each id's items must
// arrive in their own order 0, 1, 2, ... Without gaps, Join reports an error
// unless every id sent exactly want[id] items. With gaps (DropOldest rings,
// which evict) an id's sequence only has to grow, and the caller compares
// Join's count plus the ring's evictions with what was pushed.
func StartMultiConsumer(ring unsafe.Pointer, want []uint64, gaps bool) *Peer {
	return startMultiConsumer(ring, want, gaps, 0)
}

// StartClaimMultiConsumer is StartMultiConsumer with read claims mixed in
// (see StartClaimConsumer).
func StartClaimMultiConsumer(ring unsafe.Pointer, want []uint64, gaps bool) *Peer {
	return startMultiConsumer(ring, want, gaps, 1)
}

func startMultiConsumer(ring unsafe.Pointer, want []uint64, gaps bool, claims C.int) *Peer {
	pr := &Peer{consumer: true, want: append([]uint64(nil), want...)}
	for _, w := range want {
		pr.n += w
	}
	switch {
	case ring == nil:
		pr.startErr = errors.New("cpeer: nil ring")
		return pr
	case len(want) == 0 || len(want) > MaxIDs:
		pr.startErr = fmt.Errorf("cpeer: %d producer ids, want 1..%d", len(want), MaxIDs)
		return pr
	}
	g := C.int(0)
	if gaps {
		g = 1
	}
	var cerr C.int
	// C copies want before it returns.
	pr.p = C.start_multi_consumer((*C.struct_sr_ring)(ring), (*C.uint64_t)(unsafe.Pointer(&pr.want[0])),
		C.unsigned(len(want)), g, claims, &cerr)
	if pr.p == nil {
		pr.startErr = fmt.Errorf("cpeer: start consumer: %w", syscall.Errno(-cerr))
	}
	return pr
}

// StartConsumer starts a C thread that pops from ring (a struct sr_ring *
// of 8-byte items) until it is closed and drained, mixing sr_ring_pop and
// sr_ring_pop_burst, and checks that the i-th item is the value i. Join
// reports the count and any mismatch, and an error unless exactly n items
// arrived. The thread holds its own reference to the ring while it runs.
func StartConsumer(ring unsafe.Pointer, n uint64) *Peer {
	return startConsumer(ring, n, 0)
}

// StartClaimConsumer is StartConsumer with read claims: every other step
// is an sr_ring_read_claim of 1 to 64 items, read in place and released,
// every third one only in part (the rest comes first next time).
func StartClaimConsumer(ring unsafe.Pointer, n uint64) *Peer {
	return startConsumer(ring, n, 1)
}

func startConsumer(ring unsafe.Pointer, n uint64, claims C.int) *Peer {
	pr := &Peer{n: n, consumer: true}
	if ring == nil {
		pr.startErr = errors.New("cpeer: nil ring")
		return pr
	}
	var cerr C.int
	pr.p = C.start_consumer((*C.struct_sr_ring)(ring), C.uint64_t(n), claims, &cerr)
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
	case rc == -C.EILSEQ && pr.want != nil:
		v := uint64(badValue)
		return count, fmt.Errorf("cpeer: C consumer: item %d is producer %d's %d: out of order or unknown (%d items popped): %w",
			uint64(badIndex), v>>IDShift, v&(1<<IDShift-1), count, syscall.Errno(C.EILSEQ))
	case rc == -C.ENODATA && pr.want != nil:
		id := uint64(badIndex)
		return count, fmt.Errorf("cpeer: C consumer: producer %d sent %d items, want %d: %w",
			id, uint64(badValue), pr.want[id], syscall.Errno(C.ENODATA))
	case rc == -C.EILSEQ && pr.consumer:
		return count, fmt.Errorf("cpeer: C consumer: item %d is %d, want %d (%d items popped): %w",
			uint64(badIndex), uint64(badValue), uint64(badIndex), count, syscall.Errno(C.EILSEQ))
	case rc < 0:
		return count, fmt.Errorf("cpeer: C %s stopped after %d of %d items: %w", side, count, pr.n, syscall.Errno(-rc))
	case rc > 0:
		return count, fmt.Errorf("cpeer: C %s: unexpected result %d", side, int(rc))
	case pr.consumer && pr.want == nil && count != pr.n:
		return count, fmt.Errorf("cpeer: C consumer popped %d items, want %d", count, pr.n)
	}
	return count, nil
}

// Backpressure and Wait are the ring's enum sr_backpressure and enum
// sr_wait, for NewRing.
type (
	Backpressure uint32
	Wait         uint32
)

const (
	Block      Backpressure = C.SR_BLOCK
	DropOldest Backpressure = C.SR_DROP_OLDEST
	Reject     Backpressure = C.SR_REJECT

	Spin      Wait = C.SR_WAIT_SPIN
	SpinYield Wait = C.SR_WAIT_SPIN_YIELD
	Park      Wait = C.SR_WAIT_PARK
	Adaptive  Wait = C.SR_WAIT_ADAPTIVE // spins 100 ns (the spins word), then parks
)

// Ring is a ring of 8-byte items made by this package's own copy of the C
// core (sr_ring_new), so that tests of the peers need no Go backend. Its
// creator holds the ring's first producer reference; Push and
// CloseProducer act for that producer, from one goroutine at a time.
type Ring struct {
	r *C.struct_sr_ring
}

func errno(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	return syscall.Errno(-rc)
}

// NewRing makes a ring of capacity 8-byte items (a power of two).
func NewRing(capacity uint64, bp Backpressure, w Wait) (*Ring, error) {
	var cerr C.int
	r := C.ring_new(C.uint64_t(capacity), C.uint32_t(bp), C.uint32_t(w), &cerr)
	if r == nil {
		return nil, fmt.Errorf("cpeer: sr_ring_new: %w", errno(cerr))
	}
	return &Ring{r: r}, nil
}

// Pointer is the struct sr_ring *, for the Start functions.
func (r *Ring) Pointer() unsafe.Pointer { return unsafe.Pointer(r.r) }

// Push is sr_ring_push of v: nil, or EPIPE, ENOBUFS (Reject: full).
func (r *Ring) Push(v uint64) error { return errno(C.ring_push(r.r, C.uint64_t(v))) }

// CloseProducer closes the creator's producer reference (sr_ring_close).
func (r *Ring) CloseProducer() error { return errno(C.sr_ring_close(r.r, C.SR_CLOSED_PRODUCER)) }

// CloseConsumer closes the consumer side (sr_ring_close).
func (r *Ring) CloseConsumer() error { return errno(C.sr_ring_close(r.r, C.SR_CLOSED_CONSUMER)) }

// Evicted is sr_ring_evicted: the items DropOldest threw away.
func (r *Ring) Evicted() uint64 { return uint64(C.sr_ring_evicted(r.r)) }

// IsMulti is sr_ring_is_multi: whether the ring is in MPSC mode.
func (r *Ring) IsMulti() bool { return C.sr_ring_is_multi(r.r) != 0 }

// Release drops the creator's reference to the ring's memory
// (sr_ring_release); peers hold their own while they run.
func (r *Ring) Release() {
	C.sr_ring_release(r.r)
	r.r = nil
}
