/*
 * ring.c - the C core of spillring: the protocol of spillring.h.
 *
 * Labels (R1, A1, C1, ...) are those of the header. Each side is the only
 * writer of its own index and cache words, so its reads of them are relaxed
 * (or plain); ordering is spent only where slots change hands.
 *
 * A translation unit may take a private copy with
 *	#define SR_API static
 *	#include "ring.c"
 * placed before any system header (this file defines _GNU_SOURCE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif

/* A private (static) copy may use only part of the API. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#include "spillring.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* DropOldest producer: pauses before it yields to a consumer that was
 * descheduled while copying out the item the producer wants to evict. */
#define SR_EVICT_SPINS 64

static inline void sr_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline uint64_t sr_round_line(uint64_t n)
{
	return (n + SR_LINE - 1) & ~(uint64_t)(SR_LINE - 1);
}

/* Sequences wrap at 2^64: order them by signed distance, never by `<`. */
static inline int64_t sr_dist(uint64_t from, uint64_t to)
{
	return (int64_t)(to - from);
}

static inline uint64_t sr_stamps_offset(const struct sr_config *cfg)
{
	if (cfg->backpressure != SR_DROP_OLDEST)
		return 0;
	return sizeof(struct sr_ring) + sr_round_line(cfg->capacity * cfg->elem_size);
}

/* --- W1 --- */

static inline void sr_futex_wait(const struct sr_ring *r, _Atomic uint32_t *w)
{
#ifdef __linux__
	int op = r->flags & SR_FLAG_SHARED ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE;

	/* EAGAIN (the word is no longer 1), EINTR and spurious wake-ups all
	 * just send the waiter back to re-check. */
	syscall(SYS_futex, (uint32_t *)w, op, 1, NULL, NULL, 0);
#else
	(void)r, (void)w;
	sched_yield(); /* no futex: the waiter re-checks after a yield */
#endif
}

static inline void sr_futex_wake(const struct sr_ring *r, _Atomic uint32_t *w)
{
#ifdef __linux__
	int op = r->flags & SR_FLAG_SHARED ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE;

	syscall(SYS_futex, (uint32_t *)w, op, INT_MAX, NULL, NULL, 0);
#else
	(void)r, (void)w;
#endif
}

/* Waker half of W1, right after the seq_cst store of our index: the load is
 * seq_cst so that it cannot be ordered before that store. A 0 from the
 * exchange means the waiter is up already (it clears the word) or close()
 * took the word and does the wake. */
static inline void sr_wake(const struct sr_ring *r, _Atomic uint32_t *w)
{
	if (atomic_load(w) && atomic_exchange(w, 0))
		sr_futex_wake(r, w);
}

/* R1. Under Park it is seq_cst and followed by the W1 load of cons_wait. */
static inline void sr_publish_tail(struct sr_ring *r, uint64_t t)
{
	if (r->wait != SR_WAIT_PARK) {
		atomic_store_explicit(&r->tail, t, memory_order_release);
		return;
	}
	atomic_store(&r->tail, t);
	sr_wake(r, &r->cons_wait);
}

/* R2. Under Park it is seq_cst and followed by the W1 load of prod_wait. */
static inline void sr_publish_head(struct sr_ring *r, uint64_t h)
{
	if (r->wait != SR_WAIT_PARK) {
		atomic_store_explicit(&r->head, h, memory_order_release);
		return;
	}
	atomic_store(&r->head, h);
	sr_wake(r, &r->prod_wait);
}

/* Waiter's re-check of W1: seq_cst loads, after its seq_cst store of the
 * word. Any close bit lets the side go on and find out what it means. */
static inline bool sr_can_go(const struct sr_ring *r, bool for_data)
{
	struct sr_ring *m = (struct sr_ring *)r;
	uint64_t h, t;

	if (atomic_load(&m->closed))
		return true;
	h = atomic_load(&m->head);
	t = atomic_load(&m->tail);
	return for_data ? sr_dist(h, t) > 0 : t - h < r->capacity;
}

static inline void sr_park(struct sr_ring *r, bool for_data)
{
	_Atomic uint32_t *w = for_data ? &r->cons_wait : &r->prod_wait;

	atomic_store(w, 1);
	if (!sr_can_go(r, for_data))
		sr_futex_wait(r, w);
	/* Relaxed: the waker only needs to see 1 while we might sleep, and
	 * the next sleep starts with a seq_cst store of 1 again. */
	atomic_store_explicit(w, 0, memory_order_relaxed);
}

/* One step of waiting for data (consumer) or room (producer). */
static inline void sr_wait_step(struct sr_ring *r, bool for_data, uint32_t *spun)
{
	if (r->wait == SR_WAIT_SPIN || *spun < r->spins) {
		++*spun;
		sr_relax();
	} else if (r->wait == SR_WAIT_SPIN_YIELD) {
		*spun = 0;
		sched_yield();
	} else {
		/* Stay past the spin phase: a wake-up that finds nothing was
		 * spurious, so park again at once. */
		sr_park(r, for_data);
	}
}

/* --- Producer --- */

/* A push after either side closed fails. Relaxed: the flag orders nothing
 * for the producer, and the read-mostly line is an L1 hit. */
static inline bool sr_push_closed(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->closed, memory_order_relaxed) != 0;
}

/* One item: constant sizes let the compiler turn the copy into a move
 * instead of a call, the bulk of a single push or pop. */
static inline void sr_copy1(void *dst, const void *src, uint64_t size)
{
	switch (size) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		memcpy(dst, src, size);
	}
}

static inline void sr_copy_in(struct sr_ring *r, uint64_t seq, const void *src, uint64_t n)
{
	uint64_t first = r->capacity - (seq & r->mask);

	if (n == 1) {
		sr_copy1(sr_ring_slot(r, seq), src, r->elem_size);
		return;
	}
	if (first > n)
		first = n;
	memcpy(sr_ring_slot(r, seq), src, first * r->elem_size);
	if (n > first)
		memcpy(sr_ring_slot(r, seq + first), (const char *)src + first * r->elem_size,
		       (n - first) * r->elem_size);
}

/* Block/Reject: push n items (up to n if partial) at our tail. Returns the
 * count or -EAGAIN; never 0 unless n is 0 or partial found no room. */
static int sr_push_spsc(struct sr_ring *r, const void *src, uint64_t n, bool partial)
{
	/* Relaxed: the producer is the only writer of tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t room = r->capacity - (t - r->head_cache);

	if (room < n) {
		/* A2: the consumer's reads of the slots it gave back (R2) are
		 * done before we overwrite them. */
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		room = r->capacity - (t - r->head_cache);
		if (room < n) {
			if (!partial)
				return -EAGAIN;
			n = room;
		}
	}
	if (n == 0)
		return 0;
	sr_copy_in(r, t, src, n);
	sr_publish_tail(r, t + n);
	return (int)n;
}

/* DropOldest: make the slot of seq t free, evicting seq t - capacity if the
 * consumer has not claimed it. Returns 1 if it evicted. */
static inline int sr_claim_slot(struct sr_ring *r, uint64_t t, void *evicted_out)
{
	_Atomic uint64_t *stamp = sr_ring_stamp(r, t);
	unsigned spins = 0;

	for (;;) {
		/* A3: the owner of t - capacity freed the slot (R3) after it
		 * copied the item out. */
		if (atomic_load_explicit(stamp, memory_order_acquire) == SR_STAMP_FREE(t))
			return 0;
		uint64_t h = t - r->capacity;
		/* C1: winning head makes seq h ours; its slot holds our own
		 * write, so copying it out needs no further ordering. */
		if (atomic_compare_exchange_strong_explicit(&r->head, &h, h + 1,
							    memory_order_acq_rel, memory_order_relaxed)) {
			if (evicted_out)
				memcpy(evicted_out, sr_ring_slot(r, h), r->elem_size);
			return 1;
		}
		/* The consumer claimed h and is copying it out: its R3 is a
		 * memcpy away, unless it was descheduled. */
		if (++spins % SR_EVICT_SPINS)
			sr_relax();
		else
			sched_yield();
	}
}

/* DropOldest: push all n items, evicting as needed. Returns the evictions. */
static uint64_t sr_push_drop(struct sr_ring *r, const void *src, uint64_t n, void *evicted_out)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t evicted = 0;

	for (uint64_t i = 0; i < n; i++, t++) {
		evicted += sr_claim_slot(r, t, evicted_out);
		memcpy(sr_ring_slot(r, t), (const char *)src + i * r->elem_size, r->elem_size);
		/* Stamp "holds t". Only the producer reads stamps; the consumer
		 * learns of the item through R1 below. */
		atomic_store_explicit(sr_ring_stamp(r, t), SR_STAMP_FULL(t), memory_order_release);
	}
	/* Relaxed: the producer is the only writer; readers want a count. */
	if (evicted)
		atomic_store_explicit(&r->evicted,
				      atomic_load_explicit(&r->evicted, memory_order_relaxed) + evicted,
				      memory_order_relaxed);
	sr_publish_tail(r, t);
	return evicted;
}

/* Count, -EAGAIN or -EPIPE. */
static int sr_push_n(struct sr_ring *r, const void *src, uint64_t n, bool partial)
{
	if (sr_push_closed(r))
		return -EPIPE;
	if (r->backpressure == SR_DROP_OLDEST) {
		sr_push_drop(r, src, n, NULL);
		return (int)n;
	}
	return sr_push_spsc(r, src, n, partial);
}

SR_API int sr_ring_try_push(struct sr_ring *r, const void *elem)
{
	int rc = sr_push_n(r, elem, 1, false);

	return rc < 0 ? rc : 0;
}

SR_API int sr_ring_push_evict(struct sr_ring *r, const void *elem, void *evicted_out)
{
	uint32_t spun = 0;
	int rc;

	if (r->backpressure == SR_DROP_OLDEST) {
		if (sr_push_closed(r))
			return -EPIPE;
		return sr_push_drop(r, elem, 1, evicted_out) && evicted_out;
	}
	while ((rc = sr_push_n(r, elem, 1, false)) == -EAGAIN) {
		if (r->backpressure == SR_REJECT)
			return -ENOBUFS;
		sr_wait_step(r, false, &spun);
	}
	return rc < 0 ? rc : 0;
}

SR_API int sr_ring_push(struct sr_ring *r, const void *elem)
{
	return sr_ring_push_evict(r, elem, NULL);
}

SR_API int sr_ring_push_bulk(struct sr_ring *r, const void *elems, unsigned n)
{
	/* More than the ring holds could never fit: not a would-block. */
	if (n > INT_MAX || (n > r->capacity && r->backpressure != SR_DROP_OLDEST))
		return -EINVAL;
	return sr_push_n(r, elems, n, false);
}

SR_API int sr_ring_push_burst(struct sr_ring *r, const void *elems, unsigned n)
{
	if (n > INT_MAX)
		return -EINVAL;
	return sr_push_n(r, elems, n, true);
}

/* --- Consumer --- */

static inline void sr_copy_out(const struct sr_ring *r, uint64_t seq, void *dst, uint64_t n)
{
	uint64_t first = r->capacity - (seq & r->mask);

	if (n == 1) {
		sr_copy1(dst, sr_ring_slot(r, seq), r->elem_size);
		return;
	}
	if (first > n)
		first = n;
	memcpy(dst, sr_ring_slot(r, seq), first * r->elem_size);
	if (n > first)
		memcpy((char *)dst + first * r->elem_size, sr_ring_slot(r, seq + first),
		       (n - first) * r->elem_size);
}

/* Items ready past h, refreshing tail_cache only when the cached view has
 * fewer than `want`. Under DropOldest h may be past tail (a batch evicted
 * its own unpublished items): that reads as empty. */
static inline uint64_t sr_avail(struct sr_ring *r, uint64_t h, uint64_t want)
{
	int64_t avail = sr_dist(h, r->tail_cache);

	if (avail < (int64_t)want) {
		/* A1: the producer wrote the slots below tail before R1. */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		avail = sr_dist(h, r->tail_cache);
	}
	return avail > 0 ? (uint64_t)avail : 0;
}

/* Pop `want` items (up to `want` if partial): count, 0 (partial, empty),
 * -EAGAIN or -EPIPE. */
static int sr_pop_n(struct sr_ring *r, void *dst, uint64_t want, bool partial)
{
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint64_t h, n;

	/* Relaxed: our own close orders nothing we read. */
	if (atomic_load_explicit(&r->closed, memory_order_relaxed) & SR_CLOSED_CONSUMER)
		return -EPIPE;
	if (want == 0)
		return 0;
	/* Block/Reject: we are the only writer of head. DropOldest: the
	 * producer moves it too, and the CAS below settles who owns what. */
	h = atomic_load_explicit(&r->head, drop ? memory_order_acquire : memory_order_relaxed);
	for (;;) {
		n = sr_avail(r, h, want);
		if (n == 0) {
			/* Acquire pairs with the close's fetch_or, which follows
			 * the producer's last R1: the tail read after it is final. */
			if (!(atomic_load_explicit(&r->closed, memory_order_acquire) & SR_CLOSED_PRODUCER))
				return partial ? 0 : -EAGAIN;
			r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (sr_dist(h, r->tail_cache) <= 0)
				return -EPIPE;
			continue;
		}
		if (n < want && !partial)
			return -EAGAIN;
		if (n > want)
			n = want;
		if (!drop) {
			sr_copy_out(r, h, dst, n);
			sr_publish_head(r, h + n);
			return (int)n;
		}
		/* C1: owning h..h+n-1 keeps the producer from evicting them.
		 * On failure h is the fresh head. */
		if (atomic_compare_exchange_strong_explicit(&r->head, &h, h + n,
							    memory_order_acq_rel, memory_order_acquire))
			break;
	}
	sr_copy_out(r, h, dst, n);
	/* R3: the copy-out is done, the producer may reuse the slots (A3). */
	for (uint64_t i = 0; i < n; i++)
		atomic_store_explicit(sr_ring_stamp(r, h + i),
				      SR_STAMP_FREE(h + i + r->capacity), memory_order_release);
	return (int)n;
}

SR_API int sr_ring_try_pop(struct sr_ring *r, void *out)
{
	int rc = sr_pop_n(r, out, 1, false);

	return rc < 0 ? rc : 0;
}

SR_API int sr_ring_pop(struct sr_ring *r, void *out)
{
	uint32_t spun = 0;
	int rc;

	while ((rc = sr_pop_n(r, out, 1, false)) == -EAGAIN)
		sr_wait_step(r, true, &spun);
	return rc < 0 ? rc : 0;
}

SR_API int sr_ring_pop_bulk(struct sr_ring *r, void *out, unsigned n)
{
	if (n > r->capacity)
		return -EINVAL;
	return sr_pop_n(r, out, n, false);
}

SR_API int sr_ring_pop_burst(struct sr_ring *r, void *out, unsigned n)
{
	if (n > INT_MAX)
		return -EINVAL;
	return sr_pop_n(r, out, n, true);
}

/* --- Any thread --- */

SR_API int sr_ring_close(struct sr_ring *r, uint32_t side)
{
	if (side != SR_CLOSED_PRODUCER && side != SR_CLOSED_CONSUMER)
		return -EINVAL;
	/* seq_cst: against a W1 waiter's store of its word and load of
	 * closed; and a release of everything this side published before. */
	if (atomic_fetch_or(&r->closed, side) & side)
		return -EPIPE;
	/* Close is rare: wake both sides without asking whether they sleep. */
	atomic_exchange(&r->prod_wait, 0);
	sr_futex_wake(r, &r->prod_wait);
	atomic_exchange(&r->cons_wait, 0);
	sr_futex_wake(r, &r->cons_wait);
	return 0;
}

SR_API uint32_t sr_ring_closed(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->closed, memory_order_acquire);
}

SR_API uint64_t sr_ring_len(const struct sr_ring *r)
{
	struct sr_ring *m = (struct sr_ring *)r;
	/* head first: tail, read later, is no older, so in SPSC the
	 * difference cannot go negative; DropOldest may still put head past
	 * tail for a moment, and pops between the loads can overshoot. */
	uint64_t h = atomic_load_explicit(&m->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&m->tail, memory_order_acquire);
	int64_t d = sr_dist(h, t);

	if (d <= 0)
		return 0;
	return (uint64_t)d > r->capacity ? r->capacity : (uint64_t)d;
}

SR_API uint64_t sr_ring_evicted(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->evicted, memory_order_relaxed);
}

/* --- Lifecycle --- */

SR_API size_t sr_ring_size(const struct sr_config *cfg)
{
	uint64_t total;

	if (!cfg || cfg->capacity == 0 || (cfg->capacity & (cfg->capacity - 1)) ||
	    cfg->capacity > SR_MAX_CAPACITY || cfg->elem_size == 0 ||
	    cfg->elem_size > SR_MAX_ELEM_SIZE || cfg->backpressure > SR_REJECT ||
	    cfg->wait > SR_WAIT_PARK || (cfg->flags & ~SR_FLAG_SHARED))
		return 0;
	/* Both factors are bounded (2^30 * 2^20), so none of this overflows. */
	total = sizeof(struct sr_ring) + sr_round_line(cfg->capacity * cfg->elem_size);
	if (cfg->backpressure == SR_DROP_OLDEST)
		total += cfg->capacity * sizeof(uint64_t);
	if (total > SR_MAX_TOTAL_SIZE)
		return 0;
#if SIZE_MAX < UINT64_MAX
	if (total > SIZE_MAX - SR_LINE)
		return 0;
#endif
	return (size_t)total;
}

SR_API int sr_ring_init(void *mem, size_t size, const struct sr_config *cfg)
{
	struct sr_ring *r = mem;
	size_t need = sr_ring_size(cfg);

	if (!need || !mem || (uintptr_t)mem % SR_LINE || size < need)
		return -EINVAL;
	memset(r, 0, sizeof(*r)); /* indexes, caches, counters, closed, waits */
	r->backpressure = cfg->backpressure;
	r->wait = cfg->wait;
	r->spins = cfg->spins;
	r->capacity = cfg->capacity;
	r->mask = cfg->capacity - 1;
	r->elem_size = cfg->elem_size;
	r->slots_offset = sizeof(*r);
	r->stamps_offset = sr_stamps_offset(cfg);
	r->total_size = need;
	r->flags = cfg->flags;
	atomic_init(&r->refs, 1);
	if (r->stamps_offset)
		for (uint64_t i = 0; i < r->capacity; i++)
			atomic_init(sr_ring_stamp(r, i), SR_STAMP_FREE(i));
	/* A peer mapping the memory checks magic first (sr_ring_validate):
	 * everything above is in place before it appears. */
	atomic_thread_fence(memory_order_release);
	r->version = SR_VERSION;
	r->magic = SR_MAGIC;
	return 0;
}

SR_API struct sr_ring *sr_ring_new(const struct sr_config *cfg, int *err)
{
	size_t size = sr_ring_size(cfg);
	struct sr_ring *r = NULL;
	int rc = -EINVAL;

	if (size) {
		/* aligned_alloc wants a multiple of the alignment. */
		size = (size_t)sr_round_line(size);
		r = aligned_alloc(SR_LINE, size);
		rc = r ? sr_ring_init(r, size, cfg) : -ENOMEM;
		if (rc) {
			free(r);
			r = NULL;
		}
	}
	if (err)
		*err = rc;
	return r;
}

SR_API void sr_ring_retain(struct sr_ring *r)
{
	/* Relaxed: the caller already owns a reference. */
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

SR_API void sr_ring_release(struct sr_ring *r)
{
	/* acq_rel: every owner's last use happens before the free. */
	if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		free(r);
}

SR_API int sr_ring_validate(const struct sr_ring *r, size_t size)
{
	struct sr_config cfg;
	size_t need;

	if (!r || (uintptr_t)r % SR_LINE || size < sizeof(*r) || r->magic != SR_MAGIC)
		return -EINVAL;
	atomic_thread_fence(memory_order_acquire); /* pairs with sr_ring_init */
	if (r->version != SR_VERSION)
		return -EINVAL;
	cfg = (struct sr_config){
		.capacity = r->capacity,
		.elem_size = r->elem_size,
		.backpressure = r->backpressure,
		.wait = r->wait,
		.spins = r->spins,
		.flags = r->flags,
	};
	need = sr_ring_size(&cfg); /* enums, power of two, limits */
	if (!need || r->mask != r->capacity - 1 || r->slots_offset != sizeof(*r) ||
	    r->stamps_offset != sr_stamps_offset(&cfg) || r->total_size != need ||
	    r->total_size > size)
		return -EINVAL;
	return 0;
}

#pragma GCC diagnostic pop
