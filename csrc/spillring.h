/*
 * spillring.h - the shared ring: its memory layout and its acquire/release
 * protocol, defined once for C threads, Go code and (later) other processes.
 *
 * A ring is one contiguous block: a header of six 128-byte lines, then the
 * slot array, then (DropOldest only) one 64-bit stamp per slot. Sequences are
 * free-running uint64_t, masked on access, so all `capacity` slots are usable
 * and wrap-around is not a concern (2^64 items).
 *
 * Threading contract: at most one producer thread and one consumer thread use
 * a ring at a time ("side" = producer or consumer). sr_ring_close,
 * sr_ring_len, sr_ring_evicted and sr_ring_closed may be called from any
 * thread. Go code that touches the same words (spillring's ring.go) follows
 * the protocol below to the letter and quotes its labels.
 *
 * Ordering labels (pairs):
 *   R1 producer: release store of `tail` after writing slots
 *      -> A1 consumer: acquire load of `tail` before reading slots.
 *   R2 consumer: release store of `head` after reading slots (Block/Reject)
 *      -> A2 producer: acquire load of `head` before overwriting slots.
 *   C1 DropOldest: `head` is claimed with an acq_rel CAS by the consumer (to
 *      pop) and by the producer (to evict). Whoever wins owns the slot.
 *   R3 DropOldest: the owner of a claimed slot frees it with a release store
 *      of stamp = SR_STAMP_FREE(seq + capacity)
 *      -> A3 producer: acquire load of the stamp before writing that slot.
 *   W1 Park: the waiter stores its wait word = 1 (seq_cst), re-checks the
 *      index and `closed` (seq_cst loads), then futex-waits on the word
 *      while it is still 1. The waker publishes its index with a seq_cst
 *      store, loads the wait word (seq_cst) and, only if it is 1, exchanges
 *      it to 0 and calls FUTEX_WAKE. Store->load on both sides in one total
 *      order means either the waiter sees the new index or the waker sees
 *      the flag: no lost wake-up, and no syscall when nobody sleeps.
 *      Under Spin and SpinYield nobody sleeps, and R1/R2 stay release-only.
 *      (Go publishes with sequentially consistent stores, which are at
 *      least release: the two sides interoperate under any strategy.)
 *
 * Return codes are 0 or a negative errno: -EAGAIN (would block: full on push,
 * empty on pop), -ENOBUFS (Reject: full), -EPIPE (closed: a push after either
 * side closed; a pop after the producer closed and the ring drained, or after
 * the consumer closed), -EINVAL (bad argument), -ENOMEM.
 */
#ifndef SPILLRING_H
#define SPILLRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SR_API lets a translation unit take a private (static) copy of the core by
 * defining it before including ring.c; by default functions are extern. */
#ifndef SR_API
#define SR_API
#endif

#define SR_MAGIC UINT64_C(0x31474e49524c5053) /* "SPLRING1", little-endian */
#define SR_VERSION 1u

/* Independently written words are kept 128 bytes apart: two 64-byte lines,
 * because the adjacent-line prefetcher pulls lines in pairs. */
#define SR_LINE 128

#define SR_MAX_CAPACITY (UINT64_C(1) << 30)
#define SR_MAX_ELEM_SIZE (UINT64_C(1) << 20)
#define SR_MAX_TOTAL_SIZE (UINT64_C(1) << 40)

/* Backpressure: what a push does when the ring is full. */
enum sr_backpressure {
	SR_BLOCK = 0,       /* wait for space (per the wait strategy) */
	SR_DROP_OLDEST = 1, /* evict the oldest unread item, count it */
	SR_REJECT = 2,      /* fail with -ENOBUFS */
};

/* Wait strategy: how a side waits for space or data. */
enum sr_wait {
	SR_WAIT_SPIN = 0,       /* busy spin */
	SR_WAIT_SPIN_YIELD = 1, /* spin `spins` times, then sched_yield */
	SR_WAIT_PARK = 2,       /* spin `spins` times, then futex sleep (W1) */
};

/* Bits of `closed`. */
#define SR_CLOSED_PRODUCER 1u
#define SR_CLOSED_CONSUMER 2u

/* Bits of `flags`. */
#define SR_FLAG_SHARED 1u /* memory shared across processes: non-private futex */

struct sr_config {
	uint64_t capacity;  /* power of two, 1 .. SR_MAX_CAPACITY */
	uint64_t elem_size; /* bytes per item, 1 .. SR_MAX_ELEM_SIZE */
	uint32_t backpressure;
	uint32_t wait;
	uint32_t spins; /* spin iterations before yield/park */
	uint32_t flags;
};

struct sr_ring {
	/* Line 0: immutable after init, read by both sides. */
	uint64_t magic;
	uint32_t version;
	uint32_t backpressure;
	uint32_t wait;
	uint32_t spins;
	uint64_t capacity;
	uint64_t mask;
	uint64_t elem_size;
	uint64_t slots_offset;  /* from the start of the ring, multiple of SR_LINE */
	uint64_t stamps_offset; /* 0 unless DropOldest */
	uint64_t total_size;    /* bytes, header + slots + stamps */
	uint32_t flags;
	_Atomic uint32_t refs; /* owners of a heap ring; see sr_ring_release */

	/* Line 1: next sequence to publish. Written by the producer only (R1). */
	_Alignas(SR_LINE) _Atomic uint64_t tail;

	/* Line 2: producer-private. head_cache is the last `head` the producer
	 * saw (refreshed only when the ring looks full); evicted counts items
	 * DropOldest threw away (written by the producer, read by anyone). */
	_Alignas(SR_LINE) uint64_t head_cache;
	_Atomic uint64_t evicted;

	/* Line 3: next sequence to consume. Written by the consumer (R2); in
	 * DropOldest also CAS-claimed by the producer (C1). */
	_Alignas(SR_LINE) _Atomic uint64_t head;

	/* Line 4: consumer-private. tail_cache is the last `tail` the consumer
	 * saw (refreshed only when the ring looks empty). */
	_Alignas(SR_LINE) uint64_t tail_cache;

	/* Line 5: rarely written control words. prod_wait / cons_wait are the
	 * futex words of W1 (a producer waiting for space / a consumer waiting
	 * for data). */
	_Alignas(SR_LINE) _Atomic uint32_t closed;
	_Atomic uint32_t prod_wait;
	_Atomic uint32_t cons_wait;
	uint32_t _reserved;
};

_Static_assert(offsetof(struct sr_ring, tail) == 1 * SR_LINE, "tail line");
_Static_assert(offsetof(struct sr_ring, head_cache) == 2 * SR_LINE, "producer line");
_Static_assert(offsetof(struct sr_ring, head) == 3 * SR_LINE, "head line");
_Static_assert(offsetof(struct sr_ring, tail_cache) == 4 * SR_LINE, "consumer line");
_Static_assert(offsetof(struct sr_ring, closed) == 5 * SR_LINE, "control line");
_Static_assert(sizeof(struct sr_ring) == 6 * SR_LINE, "header is six lines");

/* Slot of sequence `seq`. */
static inline void *sr_ring_slot(const struct sr_ring *r, uint64_t seq)
{
	return (char *)r + r->slots_offset + (seq & r->mask) * r->elem_size;
}

/* Stamp of sequence `seq` (DropOldest only). SR_STAMP_FREE(seq) means the
 * slot is free for seq; SR_STAMP_FULL(seq) means it holds seq; once seq is
 * consumed it becomes SR_STAMP_FREE(seq + capacity). Free and full values
 * have different parity, so even with capacity 1 "holds seq" can never be
 * read as "free for seq + 1". The doubling drops the top bit of seq, which
 * is harmless: a slot's stamps only move by capacity <= 2^30 at a time. */
#define SR_STAMP_FREE(seq) ((uint64_t)(seq) << 1)
#define SR_STAMP_FULL(seq) (((uint64_t)(seq) << 1) | 1u)

static inline _Atomic uint64_t *sr_ring_stamp(const struct sr_ring *r, uint64_t seq)
{
	return (_Atomic uint64_t *)((char *)r + r->stamps_offset) + (seq & r->mask);
}

/* Lifecycle. sr_ring_size returns the bytes a ring with this configuration
 * needs, or 0 if the configuration is invalid. sr_ring_init lays a ring out
 * in caller-provided memory (SR_LINE-aligned, zeroed or not). sr_ring_new
 * allocates and initialises one with refs = 1; sr_ring_retain adds an owner
 * and sr_ring_release drops one, freeing the ring with the last. */
SR_API size_t sr_ring_size(const struct sr_config *cfg);
SR_API int sr_ring_init(void *mem, size_t size, const struct sr_config *cfg);
SR_API struct sr_ring *sr_ring_new(const struct sr_config *cfg, int *err);
SR_API void sr_ring_retain(struct sr_ring *r);
SR_API void sr_ring_release(struct sr_ring *r);

/* Checks magic, version and sizes of a ring found in memory of `size` bytes
 * (e.g. a shared mapping): 0 or -EINVAL. */
SR_API int sr_ring_validate(const struct sr_ring *r, size_t size);

/* Producer side. NOT safe for more than one producer thread.
 * sr_ring_try_push never waits: 0, -EAGAIN (full; under DropOldest it evicts
 * instead), -EPIPE. sr_ring_push follows the ring's backpressure: Block waits
 * per the wait strategy; DropOldest evicts the oldest item and counts it (if
 * `evicted_out` is non-NULL the evicted item is copied there and 1 is
 * returned); Reject returns -ENOBUFS when full. */
SR_API int sr_ring_try_push(struct sr_ring *r, const void *elem);
SR_API int sr_ring_push(struct sr_ring *r, const void *elem);
SR_API int sr_ring_push_evict(struct sr_ring *r, const void *elem, void *evicted_out);

/* Batches publish once (one R1 store) per call. bulk: all n or nothing
 * (n, or -EAGAIN/-EPIPE; -EINVAL if n exceeds the capacity, except under
 * DropOldest). burst: as many as fit now (0..n, or -EPIPE if closed before
 * anything was pushed). Neither waits; under DropOldest both evict as needed
 * and always take all n. Order is kept. */
SR_API int sr_ring_push_bulk(struct sr_ring *r, const void *elems, unsigned n);
SR_API int sr_ring_push_burst(struct sr_ring *r, const void *elems, unsigned n);

/* Consumer side. NOT safe for more than one consumer thread.
 * sr_ring_try_pop: 0, -EAGAIN (empty), -EPIPE (closed and drained).
 * sr_ring_pop waits per the wait strategy until an item or -EPIPE. */
SR_API int sr_ring_try_pop(struct sr_ring *r, void *out);
SR_API int sr_ring_pop(struct sr_ring *r, void *out);

/* bulk: n or nothing (n, -EAGAIN, -EPIPE; -EINVAL if n exceeds the
 * capacity). burst: 0..n available now, or -EPIPE when closed and drained.
 * One R2 store per call. */
SR_API int sr_ring_pop_bulk(struct sr_ring *r, void *out, unsigned n);
SR_API int sr_ring_pop_burst(struct sr_ring *r, void *out, unsigned n);

/* Any thread. sr_ring_close sets `side` (SR_CLOSED_PRODUCER or
 * SR_CLOSED_CONSUMER) and wakes every sleeper: 0, or -EPIPE if that side was
 * already closed. */
SR_API int sr_ring_close(struct sr_ring *r, uint32_t side);
SR_API uint32_t sr_ring_closed(const struct sr_ring *r);
SR_API uint64_t sr_ring_len(const struct sr_ring *r);
SR_API uint64_t sr_ring_evicted(const struct sr_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* SPILLRING_H */
