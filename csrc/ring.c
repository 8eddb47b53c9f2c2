/*
 * ring.c - the C core of spillring: the protocol of spillring.h.
 *
 * Labels (R1, A1, C1, U1, M1, ...) are those of the header. Each side is
 * the only writer of its own index and cache words, so its reads of them
 * are relaxed (or plain); ordering is spent only where slots change hands.
 * In MPSC mode the producers share tail (M1) and publish by stamp (M2);
 * they never touch the producer-private head_cache.
 *
 * The Go copy of the protocol (spsc.go, mpsc.go, drain.go, ring.go) names
 * its functions after these, so the two can be read side by side; Go's
 * "mp" prefix is C's "_mp" suffix:
 *	sr_push_spsc		tryPush (one item), pushBurst
 *	sr_push_mp, sr_claim_mp	mpTryPush, mpPushBurst, mpClaim (M1)
 *	sr_push_evict(_mp)	pushEvict, mpPushEvict (DropOldest)
 *	sr_free_slot(_mp)	freeSlot, mpFreeSlot
 *	sr_evict_owned		evictOwned (F3)
 *	sr_evict_pause		evictPause
 *	sr_published, sr_settle	published, settle (F1, F2)
 *	sr_avail, sr_take	tryPop, popBurst, popWin, takeOne
 *	sr_ready		mpReady (M3)
 *	sr_ready_at, sr_published_past, sr_drained
 *				readyAt, publishedPast, drained (F2)
 *	sr_claim_n		tryClaim (K1, K3)
 *	sr_commit_spsc, _mp	commit, mpCommit (K2, K3)
 *	sr_pop_body (rc), sr_pop_held
 *				readStep, readReady, readWin, takeHeld (K5)
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
#include "block.h"
#include "copy.h"
#include "park.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* DropOldest producer: pauses before it yields to a consumer that was
 * descheduled while copying out the item the producer wants to evict. */
#define SR_EVICT_SPINS 64


/* Sequences wrap at 2^64: order them by signed distance, never by `<`. */
static inline int64_t sr_dist(uint64_t from, uint64_t to)
{
	return (int64_t)(to - from);
}

/* Every ring has stamps: DropOldest uses them from the start, and any ring
 * may be upgraded to MPSC mode (U1), which publishes by stamp (M2). */
static inline uint64_t sr_stamps_offset(const struct sr_config *cfg)
{
	return sizeof(struct sr_ring) + sr_round_line(cfg->capacity * cfg->elem_size);
}

/* --- W1 --- */

/* W1 is in force: the strategy sleeps, so every publisher wakes. */
static inline bool sr_sleeps(const struct sr_ring *r)
{
	return r->wait != SR_WAIT_SPIN;
}

/* The futex flavour of r's memory: shared across processes or not. */
static inline bool sr_shared(const struct sr_ring *r)
{
	return r->flags & SR_FLAG_SHARED;
}

/* Waker half of W1, right after the seq_cst store of our index: the load is
 * seq_cst so that it cannot be ordered before that store. A 0 from the
 * exchange means the waiter is up already (it clears the word), another
 * waker took the word and does the wake, or close() did. */
static inline void sr_wake(const struct sr_ring *r, _Atomic uint32_t *w)
{
	if (atomic_load(w) && atomic_exchange(w, 0))
		sr_futex_wake(w, sr_shared(r));
}

/* R1: seq_cst, for F1's load of state after it (and W1's of cons_wait
 * under Park). An exchange: one locked instruction on x86, where a seq_cst
 * store may compile to a store and a fence. */
static inline void sr_publish_tail(struct sr_ring *r, uint64_t t)
{
	(void)atomic_exchange(&r->tail, t);
	if (sr_sleeps(r))
		sr_wake(r, &r->cons_wait);
}

/* R2. Under Park it is seq_cst and followed by the W1 load of prod_wait. */
static inline void sr_publish_head(struct sr_ring *r, uint64_t h)
{
	if (!sr_sleeps(r)) {
		atomic_store_explicit(&r->head, h, memory_order_release);
		return;
	}
	atomic_store(&r->head, h);
	sr_wake(r, &r->prod_wait);
}

/* M2's memory order: seq_cst, the store that F1's load of state (and W1's
 * of cons_wait under Park) must not pass. (A release store per item and one
 * seq_cst fence per batch would do, but sanitizers do not model fences.) */
static inline memory_order sr_stamp_order(const struct sr_ring *r)
{
	(void)r;
	return memory_order_seq_cst;
}

/* --- F1-F3: closing without losing an item --- */

/* seq - end for the end held in drain word d: a signed 63-bit distance. */
static inline int64_t sr_drain_dist(uint64_t d, uint64_t seq)
{
	return (int64_t)((seq << 1) - (d & ~SR_DRAIN_SEALED)) / 2;
}

/* F2, producer: it saw SR_CLOSED_PRODUCER after publishing [start, end)
 * (or, F3, after evicting start, end = start + 1). Returns the end of what
 * was taken: end, or less if the consumer sealed first. */
static uint64_t sr_settle(struct sr_ring *r, uint64_t start, uint64_t end)
{
	uint64_t d = atomic_load(&r->drain);

	for (;;) {
		if (d & SR_DRAIN_SEALED) {
			if (sr_drain_dist(d, start) >= 0)
				return start; /* sealed at or before start */
			if (sr_drain_dist(d, end) <= 0)
				return end;
			return end - (uint64_t)sr_drain_dist(d, end);
		}
		if (sr_drain_dist(d, end) <= 0)
			return end; /* promised as far already */
		if (atomic_compare_exchange_weak(&r->drain, &d, end << 1))
			return end;
	}
}

/* F1, right after the seq_cst publish of [start, end). */
static inline uint64_t sr_published(struct sr_ring *r, uint64_t start, uint64_t end)
{
	if (!(atomic_load(&r->state) & SR_CLOSED_PRODUCER))
		return end;
	return sr_settle(r, start, end);
}

/* A push's result once F1 said it took [start, e) of [start, end). */
static inline int sr_took(uint64_t start, uint64_t e)
{
	return e == start ? -EPIPE : (int)(e - start);
}

static inline bool sr_sealed(struct sr_ring *r)
{
	return atomic_load(&r->drain) & SR_DRAIN_SEALED;
}

/* M2 for the run [t, t + n), whose slots the caller has written (stamped:
 * the caller stored the per-item DropOldest stamps itself, in
 * sr_stamp_order), then the waker's half of W1 under Park. One stamp names
 * the whole run. */
static inline void sr_publish_stamps(struct sr_ring *r, uint64_t t, uint64_t n, bool stamped)
{
	if (!stamped && n > 0)
		atomic_store_explicit(sr_ring_stamp(r, t), SR_STAMP_FULL(t + n - 1), sr_stamp_order(r));
	if (sr_sleeps(r))
		sr_wake(r, &r->cons_wait);
}

/* M3, Block/Reject: the stamp s of a run's start `seq` names the run's last
 * sequence: how many sequences past seq the run holds, or UINT64_MAX if s
 * is not (yet) the stamp of a run starting at seq. */
static inline uint64_t sr_run_rest(const struct sr_ring *r, uint64_t seq, uint64_t s)
{
	uint64_t rest = ((s >> 1) - seq) & (UINT64_MAX >> 1); /* the stamp keeps 63 bits */

	return (s & 1) && rest < r->capacity ? rest : UINT64_MAX;
}

/* K4, Block/Reject: the stamp s of a run's start `seq` read as padding
 * (SR_STAMP_PAD(x)): how many sequences past seq the padding covers, or
 * UINT64_MAX if s is not padding starting at seq. */
static inline uint64_t sr_pad_rest(const struct sr_ring *r, uint64_t seq, uint64_t s)
{
	return sr_run_rest(r, seq, s ^ (UINT64_C(1) << 63));
}

/* K4, Block/Reject: the consumer releases n padding sequences at head h
 * (R2, which wakes producers as a pop does) and counts them. Relaxed
 * store: only the consumer writes `skipped` under Block/Reject. */
static void sr_skip_pad(struct sr_ring *r, uint64_t h, uint64_t n)
{
	atomic_store_explicit(&r->skipped, atomic_load_explicit(&r->skipped, memory_order_relaxed) + n,
			      memory_order_relaxed);
	sr_publish_head(r, h + n);
}

/* Waiter's re-check of W1: seq_cst loads, after its seq_cst store of the
 * word. Any close bit lets the side go on and find out what it means. */
static inline bool sr_can_go(const struct sr_ring *r, bool for_data)
{
	struct sr_ring *m = (struct sr_ring *)r;
	uint32_t c = atomic_load(&m->state);
	uint64_t h, t;

	if (c & SR_CLOSED_MASK)
		return true;
	h = atomic_load(&m->head);
	if (for_data && (c & SR_MULTI)) {
		/* MPSC mode: the producers' published index is the stamp of
		 * head (M2/M3); tail only counts claims. U2: SR_MULTI seen, so
		 * mp_start is U1's value. */
		uint64_t s;

		if (sr_dist(h, atomic_load(&m->mp_start)) > 0)
			return true;
		s = atomic_load(sr_ring_stamp(r, h));
		/* Padding at head (K4) is for the consumer to step over. */
		if (r->backpressure == SR_DROP_OLDEST)
			return s == SR_STAMP_FULL(h) || s == SR_STAMP_PAD(h);
		/* The consumer waits only at the start of a run (M3). */
		return sr_run_rest(r, h, s) != UINT64_MAX || sr_pad_rest(r, h, s) != UINT64_MAX;
	}
	/* head first: the tail read after it is no older, so t - h >= 0.
	 * In MPSC mode (producers) t counts claims, which is what room is. */
	t = atomic_load(&m->tail);
	return for_data ? sr_dist(h, t) > 0 : t - h < r->capacity;
}

static inline void sr_park(struct sr_ring *r, bool for_data)
{
	_Atomic uint32_t *w = for_data ? &r->cons_wait : &r->prod_wait;

	atomic_store(w, 1);
	if (!sr_can_go(r, for_data))
		sr_futex_wait(w, sr_shared(r));
	/* Relaxed: the waker only needs to see 1 while we might sleep, and
	 * the next sleep starts with a seq_cst store of 1 again. But only a
	 * sole waiter may clear its word: in MPSC mode several producers share
	 * prod_wait, and clearing it could hide another's flag from the waker
	 * (a lost wake-up). There only a waker's exchange clears it; a flag
	 * left over costs one spurious FUTEX_WAKE. Relaxed load of state: a
	 * producer in MPSC mode has seen SR_MULTI before (it chose the MPSC
	 * path), so it reads the bit again. */
	if (for_data || !(atomic_load_explicit(&r->state, memory_order_relaxed) & SR_MULTI))
		atomic_store_explicit(w, 0, memory_order_relaxed);
}

/* SR_WAIT_ADAPTIVE spins for a time, not a count: what a poll costs varies
 * (a PAUSE is ~5 cycles on some CPUs and ~140 on others, a poll that misses
 * the cache costs more than one that hits), and a count calibrated once
 * would drift with frequency scaling and with the machine's load. The clock
 * (CLOCK_MONOTONIC, ~30 ns through the vDSO here) is read only every
 * SR_ADAPT_CHECK steps, so it costs a poll about a nanosecond.
 *
 * Its state lives in the caller's 32-bit step word: 0 before the first
 * step; SR_ADAPT_PARK once the spin time is used up (the wait then parks,
 * as Park does past its spin count); otherwise the spin's start in 16 ns
 * ticks (bits 4-30: a 2.1 s range, past SR_MAX_SPIN_NS), made odd so that
 * the word is never 0 again, over the steps left until the next clock
 * read (bits 0-3). */
#define SR_ADAPT_PARK UINT32_C(0x80000000)
#define SR_ADAPT_CHECK 16u /* steps per clock read, a power of two <= 16 */
#define SR_ADAPT_TICK_SHIFT 4 /* 16 ns */
#define SR_ADAPT_TICK_MASK (UINT32_C(0x7fffffff) >> SR_ADAPT_TICK_SHIFT)

static inline uint64_t sr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint32_t sr_adapt_ticks(void)
{
	return (uint32_t)(sr_now_ns() >> SR_ADAPT_TICK_SHIFT) & SR_ADAPT_TICK_MASK;
}

/* Whether an adaptive wait still spins at this step. */
static inline bool sr_adapt_spins(const struct sr_ring *r, uint32_t *st)
{
	uint32_t s = *st, now;

	if (s & SR_ADAPT_PARK)
		return false;
	if (s & (SR_ADAPT_CHECK - 1)) {
		*st = s - 1;
		return true;
	}
	if (s == 0 && r->spins == 0) {
		*st = SR_ADAPT_PARK;
		return false;
	}
	now = sr_adapt_ticks();
	if (s == 0) {
		*st = (now | 1) << SR_ADAPT_TICK_SHIFT | (SR_ADAPT_CHECK - 1);
		return true;
	}
	/* Ticks since the start, modulo the 27-bit field. */
	if (((now - (s >> SR_ADAPT_TICK_SHIFT)) & SR_ADAPT_TICK_MASK) < r->spins >> SR_ADAPT_TICK_SHIFT) {
		*st = s | (SR_ADAPT_CHECK - 1);
		return true;
	}
	*st = SR_ADAPT_PARK;
	return false;
}

/* SR_WAIT_SPIN_YIELD spins `spins` times, then sched_yield()s, and
 * repeats; after SR_YIELDS yields, or at once after a yield that took longer
 * than SR_YIELD_BUSY_NS, it sleeps as Park does. A slow yield means another
 * thread ran on this CPU: on a busy machine every further yield would hand
 * a whole time slice away, while the other side, if it was descheduled,
 * needs the CPU more than we do. Its state in the caller's step word: the
 * yields so far in the top 5 bits (SR_YIELD_PARK once it sleeps), the spins
 * since the last yield below (so spin counts above 2^27 - 1 act as that). */
#define SR_YIELD_SHIFT 27
#define SR_YIELD_SPINS ((UINT32_C(1) << SR_YIELD_SHIFT) - 1)
#define SR_YIELD_PARK UINT32_C(31)
#define SR_YIELDS 16u
#define SR_YIELD_BUSY_NS 50000u

/* Whether a SpinYield wait still spins or yields at this step. */
static inline bool sr_yield_spins(const struct sr_ring *r, uint32_t *st)
{
	uint32_t s = *st, yields = s >> SR_YIELD_SHIFT;
	uint64_t t0;

	if (yields == SR_YIELD_PARK)
		return false;
	if ((s & SR_YIELD_SPINS) < (r->spins < SR_YIELD_SPINS ? r->spins : SR_YIELD_SPINS)) {
		*st = s + 1;
		sr_relax();
		return true;
	}
	t0 = sr_now_ns();
	sched_yield();
	if (++yields >= SR_YIELDS || sr_now_ns() - t0 > SR_YIELD_BUSY_NS)
		yields = SR_YIELD_PARK;
	*st = yields << SR_YIELD_SHIFT;
	return true;
}

/* One step of waiting for data (consumer) or room (producer). */
static inline void sr_wait_step(struct sr_ring *r, bool for_data, uint32_t *spun)
{
	if (r->wait == SR_WAIT_ADAPTIVE) {
		if (sr_adapt_spins(r, spun))
			sr_relax();
		else
			sr_park(r, for_data); /* past the spin, as Park below */
	} else if (r->wait == SR_WAIT_SPIN_YIELD) {
		if (!sr_yield_spins(r, spun))
			sr_park(r, for_data);
	} else if (r->wait == SR_WAIT_SPIN || *spun < r->spins) {
		++*spun;
		sr_relax();
	} else {
		/* Stay past the spin phase: a wake-up that finds nothing was
		 * spurious, so park again at once. */
		sr_park(r, for_data);
	}
}

/* --- Producer --- */

/* Every push loads `state` once. Relaxed: a close orders nothing for the
 * producer, and SR_MULTI needs no ordering either: the producer that ran
 * U1 set it itself, and every other producer was registered after it
 * (sr_ring_add_producer happens before that producer's first push). So a
 * producer that reads 0 is the sole producer of an open ring: the SPSC path
 * costs nothing more than the close check it always had. */
static inline uint32_t sr_push_state(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->state, memory_order_relaxed);
}

/* Items in and out of the ring's slots (copy.h). */
static inline void sr_copy_in(struct sr_ring *r, uint64_t seq, const void *src, uint64_t n)
{
	sr_slots_copy_in(sr_ring_slot(r, 0), r->capacity, r->elem_size, seq, src, n);
}

static inline void sr_copy_out(const struct sr_ring *r, uint64_t seq, void *dst, uint64_t n)
{
	sr_slots_copy_out(sr_ring_slot(r, 0), r->capacity, r->elem_size, seq, dst, n);
}

/* Block/Reject: push n items (up to n if partial) at our tail. Returns the
 * count, -EAGAIN, or -EBUSY while our claim is pending (K1; n >= 1); never
 * 0 unless n is 0 or partial found no room. */
static int sr_push_spsc(struct sr_ring *r, const void *src, uint64_t n, bool partial)
{
	/* Relaxed: the producer is the only writer of tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t room = r->capacity - (t - r->head_cache);

	if (room < n) {
		/* K1: a pending claim set head_cache to leave no room, so we
		 * find it here, off the fast path (claim_len shares the line). */
		if (r->claim_len)
			return -EBUSY;
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
	return sr_took(t, sr_published(r, t, t + n)); /* F1 */
}

/* M1, Block/Reject in MPSC mode: claim n sequences (up to n if partial) at
 * *tp. Returns how many: 0 if n is 0, or if there was no room for one
 * (partial) or for all n (not partial). head_cache is not used: several
 * producers would share it. */
static inline uint64_t sr_claim_mp(struct sr_ring *r, uint64_t n, bool partial, uint64_t *tp)
{
	/* Acquire, as the CAS below on failure: the claim we read was made
	 * after its producer saw a head that left room for it, so the head we
	 * read next is no older and tail - head stays within capacity. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t k;

	for (;;) {
		/* A2: the consumer is done reading every slot below head (R2)
		 * before a claim lets us overwrite it. */
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
		int64_t used = sr_dist(h, t);

		if (used < 0 || (uint64_t)used > r->capacity) {
			/* Our tail is older than that head: read it again. */
			t = atomic_load_explicit(&r->tail, memory_order_acquire);
			continue;
		}
		k = r->capacity - (uint64_t)used;
		if (k < n) {
			/* Full at the time head was read: tail, if stale, was
			 * only lower then. */
			if (!partial)
				return 0;
		} else {
			k = n;
		}
		if (k == 0)
			return 0;
		/* M1: [t, t + k) is ours once tail moves from t. acq_rel: see
		 * the load above; release so that a consumer whose A1 load
		 * reads this tail then sees SR_MULTI (U2), and (K3) so that a
		 * claimer after a give-back writes the slots after us. */
		if (atomic_compare_exchange_strong_explicit(&r->tail, &t, t + k, memory_order_acq_rel,
							    memory_order_acquire))
			break;
	}
	*tp = t;
	return k;
}

/* Block/Reject in MPSC mode: claim n sequences (up to n if partial) by M1,
 * write them, publish them by M2. Same results as sr_push_spsc (but never
 * -EBUSY: claims in MPSC mode are per handle). */
static int sr_push_mp(struct sr_ring *r, const void *src, uint64_t n, bool partial)
{
	uint64_t t, k = sr_claim_mp(r, n, partial, &t);

	if (k == 0)
		return partial || n == 0 ? 0 : -EAGAIN;
	sr_copy_in(r, t, src, k);
	sr_publish_stamps(r, t, k, false); /* M2 */
	return sr_took(t, sr_published(r, t, t + k)); /* F1 */
}

/* DropOldest: x, just won by C1, is evicted: counted, unless F3 finds it
 * past the consumer's seal (then it was never taken). Copies it out to
 * evicted_out if given and the consumer is open (after its close the slot
 * memory may be reclaimed: the check follows the copy). Returns whether it
 * counts, and sets *handed if it was copied out. */
static inline bool sr_evict_owned(struct sr_ring *r, uint64_t x, void *evicted_out, bool *handed)
{
	if (sr_published(r, x, x + 1) == x) /* F3 */
		return false;
	if (evicted_out) {
		memcpy(evicted_out, sr_ring_slot(r, x), r->elem_size);
		*handed = !(atomic_load(&r->state) & SR_CLOSED_CONSUMER);
	}
	return true;
}

/* Between spins of a producer waiting for a slot the consumer must free:
 * false once the consumer has closed (it may never free it). */
static inline bool sr_evict_pause(struct sr_ring *r, unsigned *spins)
{
	if (++*spins % SR_EVICT_SPINS) {
		sr_relax();
		return true;
	}
	if (atomic_load_explicit(&r->state, memory_order_relaxed) & SR_CLOSED_CONSUMER)
		return false;
	sched_yield();
	return true;
}

/* DropOldest: make the slot of seq t free, evicting seq t - capacity if the
 * consumer has not won it (C1). Returns 1 if it evicted (and counts it), 0
 * if not, -EPIPE if the consumer closed while the slot was not free,
 * -EBUSY if t is the first slot of our pending claim (K1: the claim leaves
 * its stamp not free, so a push finds that only here, off the fast path). */
static inline int sr_free_slot(struct sr_ring *r, uint64_t t, void *evicted_out, bool *handed)
{
	_Atomic uint64_t *stamp = sr_ring_stamp(r, t);
	unsigned spins = 0;

	for (;;) {
		/* A3: the owner of t - capacity freed the slot (R3) after it
		 * copied the item out. */
		if (atomic_load_explicit(stamp, memory_order_acquire) == SR_STAMP_FREE(t))
			return 0;
		if (r->claim_len)
			return -EBUSY;
		uint64_t h = t - r->capacity;
		/* C1: winning head makes seq h ours; its slot holds our own
		 * write, so copying it out needs no further ordering. seq_cst:
		 * F3's load of state follows. */
		if (atomic_compare_exchange_strong(&r->head, &h, h + 1))
			return sr_evict_owned(r, t - r->capacity, evicted_out, handed);
		/* The consumer won h (C1) and is copying it out: its R3 is a
		 * memcpy away, unless it was descheduled (or holds h in a read
		 * claim, K5). */
		if (!sr_evict_pause(r, &spins))
			return -EPIPE;
	}
}

/* DropOldest: push all n items, evicting as needed, and count the
 * evictions. Returns how many it took (F1: fewer after a close), -EPIPE,
 * or -EBUSY while our claim is pending (K1). */
static int sr_push_evict(struct sr_ring *r, const void *src, uint64_t n, void *evicted_out, bool *handed)
{
	uint64_t t0 = atomic_load_explicit(&r->tail, memory_order_relaxed), t = t0;
	uint64_t evicted = 0;

	for (uint64_t i = 0; i < n; i++, t++) {
		int e = sr_free_slot(r, t, evicted_out, handed);

		if (e < 0) {
			if (e == -EBUSY)
				return -EBUSY; /* K1: only at t0, before anything */
			break;
		}
		evicted += (uint64_t)e;
		memcpy(sr_ring_slot(r, t), (const char *)src + i * r->elem_size, r->elem_size);
		/* M2 ("holds t"): the consumer learns of the item through R1
		 * below, but the upgrade (U1) may hand this slot to a producer
		 * that evicts it, and in MPSC mode the consumer reads stamps. */
		atomic_store_explicit(sr_ring_stamp(r, t), SR_STAMP_FULL(t), memory_order_release);
	}
	/* Relaxed: the producer is the only writer; readers want a count. */
	if (evicted)
		atomic_store_explicit(&r->evicted,
				      atomic_load_explicit(&r->evicted, memory_order_relaxed) + evicted,
				      memory_order_relaxed);
	if (t == t0)
		return -EPIPE;
	sr_publish_tail(r, t);
	return sr_took(t0, sr_published(r, t0, t)); /* F1 */
}

/* DropOldest in MPSC mode: make the slot of seq t free. It may evict seq
 * h = t - capacity only once its stamp reads SR_STAMP_FULL(h): h's producer
 * (any producer) has written it, and the acquire makes the slot's contents
 * ours to copy out. SR_STAMP_PAD(h) (K4) is won the same way, but it is no
 * item: nothing is evicted or copied, and it counts as skipped. Returns as
 * sr_free_slot (never -EBUSY). */
static inline int sr_free_slot_mp(struct sr_ring *r, uint64_t t, void *evicted_out, bool *handed)
{
	_Atomic uint64_t *stamp = sr_ring_stamp(r, t);
	uint64_t h = t - r->capacity;
	unsigned spins = 0;

	for (;;) {
		/* A3 (free for t: the consumer copied h out, R3) or M3 (holds
		 * h: its producer's M2). */
		uint64_t s = atomic_load_explicit(stamp, memory_order_acquire);

		if (s == SR_STAMP_FREE(t))
			return 0;
		if (s == SR_STAMP_FULL(h) || s == SR_STAMP_PAD(h)) {
			uint64_t e = h;

			/* C1: only t's producer evicts h, and only from head
			 * == h; the consumer wins h only after reading the
			 * same full stamp. seq_cst: F3 follows. */
			if (atomic_compare_exchange_strong(&r->head, &e, h + 1)) {
				if (s == SR_STAMP_FULL(h))
					return sr_evict_owned(r, h, evicted_out, handed);
				/* K4: padding, released (no F3: not an item). */
				atomic_fetch_add_explicit(&r->skipped, 1, memory_order_relaxed);
				return 0;
			}
			/* e > h: the consumer owns h and frees it next (R3).
			 * e < h: older items are still being popped or
			 * evicted by their own producers. */
		}
		/* Otherwise h's producer has not written it yet: it is as far
		 * as one memcpy from doing so, unless it was descheduled (or
		 * its claim is pending, K3). */
		if (!sr_evict_pause(r, &spins))
			return -EPIPE;
	}
}

/* DropOldest in MPSC mode: claim n sequences by fetch_add (M1, no room
 * check), free each slot, write it and stamp it (M2). Returns how many it
 * took (F1: fewer after a close) or -EPIPE, and counts the evictions. */
static int sr_push_evict_mp(struct sr_ring *r, const void *src, uint64_t n, void *evicted_out, bool *handed)
{
	/* M1. Release: a consumer whose A1 load reads this tail then sees
	 * SR_MULTI (U2). */
	uint64_t t = atomic_fetch_add_explicit(&r->tail, n, memory_order_acq_rel);
	uint64_t evicted = 0, i;

	for (i = 0; i < n; i++) {
		int e = sr_free_slot_mp(r, t + i, evicted_out, handed);

		if (e < 0)
			break; /* the consumer closed: nobody reads the rest */
		evicted += (uint64_t)e;
		sr_copy1(sr_ring_slot(r, t + i), (const char *)src + i * r->elem_size, r->elem_size);
		/* M2, item by item: a later item of this very batch may evict
		 * it (n > capacity), which needs the full stamp first. */
		atomic_store_explicit(sr_ring_stamp(r, t + i), SR_STAMP_FULL(t + i), sr_stamp_order(r));
	}
	/* Relaxed RMW: several producers count; readers want a number. */
	if (evicted)
		atomic_fetch_add_explicit(&r->evicted, evicted, memory_order_relaxed);
	sr_publish_stamps(r, t, i, true);
	return sr_took(t, sr_published(r, t, t + i)); /* F1 */
}

/* The slow path of every push: closed, or MPSC mode. */
static int sr_push_slow(struct sr_ring *r, uint32_t c, const void *src, uint64_t n, bool partial)
{
	bool handed = false;

	if (c & SR_CLOSED_MASK)
		return -EPIPE;
	if (r->backpressure == SR_DROP_OLDEST)
		return sr_push_evict_mp(r, src, n, NULL, &handed);
	return sr_push_mp(r, src, n, partial);
}

/* Count, -EAGAIN or -EPIPE. */
static int sr_push_n(struct sr_ring *r, const void *src, uint64_t n, bool partial)
{
	uint32_t c = sr_push_state(r);
	bool handed = false;

	if (c)
		return sr_push_slow(r, c, src, n, partial);
	if (r->backpressure == SR_DROP_OLDEST)
		return sr_push_evict(r, src, n, NULL, &handed);
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
		uint32_t c = sr_push_state(r);
		bool handed = false;

		if (c & SR_CLOSED_MASK)
			return -EPIPE;
		rc = c ? sr_push_evict_mp(r, elem, 1, evicted_out, &handed)
		       : sr_push_evict(r, elem, 1, evicted_out, &handed);
		return rc < 0 ? rc : handed;
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


/* sr_avail's answer once it sees SR_MULTI: leave tail alone, use M3. */
#define SR_AVAIL_MULTI UINT64_MAX
/* Its answer while a read claim is pending or DropOldest holds items (K5). */
#define SR_AVAIL_HELD (UINT64_MAX - 1)

/* K5: a read claim is pending, or DropOldest holds items a read claim won
 * and did not release, [read_start, read_end). */
static inline bool sr_consumer_busy(const struct sr_ring *r)
{
	return (r->read_len | (r->read_start ^ r->read_end)) != 0;
}

/* Items ready past h, refreshing tail_cache only when the cached view has
 * fewer than `want`. Under DropOldest h may be past tail (a batch evicted
 * its own unpublished items): that reads as empty. held_first: K5's check,
 * which costs the fast path nothing, since a read claim made on this path
 * leaves tail_cache at head (Block/Reject: until it has been released) or
 * below it (DropOldest: head only grows), so that every pop comes here. */
static inline __attribute__((always_inline)) uint64_t sr_avail(struct sr_ring *r, uint64_t h, uint64_t want,
								bool held_first)
{
	int64_t avail = sr_dist(h, r->tail_cache);

	if (avail < (int64_t)want) {
		if (held_first && sr_consumer_busy(r))
			return SR_AVAIL_HELD;
		/* A1: the producer wrote the slots below tail before R1. */
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
		/* U2: that tail may count MPSC claims. Every claim was made
		 * after SR_MULTI was set and releases tail, so if the bit is
		 * still clear here, the tail is all R1. Only then may it become
		 * tail_cache, which M3 reads as "published up to". */
		if (atomic_load_explicit(&r->state, memory_order_acquire) & SR_MULTI)
			return SR_AVAIL_MULTI;
		r->tail_cache = t;
		avail = sr_dist(h, t);
	}
	return avail > 0 ? (uint64_t)avail : 0;
}

/* M3: how many of the `want` (>= 1) sequences from *hp are ready, in
 * order. ms is mp_start: Block/Reject sequences below it were published by
 * R1 before U1 and have no stamps. DropOldest stamps every item (M2), and
 * its consumer claims only what it read as full, on either side of
 * mp_start. K4: padding at head is released on the way, which moves head
 * (and *hp with it); padding past head ends the count, so what lies before
 * it goes out first. */
static inline uint64_t sr_ready(struct sr_ring *r, uint64_t *hp, uint64_t ms, uint64_t want)
{
	uint64_t h = *hp, n = 0, end;

	if (r->backpressure == SR_DROP_OLDEST) {
		while (n < want) {
			/* M3: acquire, pairs with the producer's M2 release. */
			uint64_t s = atomic_load_explicit(sr_ring_stamp(r, h + n), memory_order_acquire), e = h;

			if (s == SR_STAMP_FULL(h + n)) {
				n++;
				continue;
			}
			if (n > 0 || s != SR_STAMP_PAD(h))
				break;
			/* K4: padding at head, won by C1 and freed by R3 like
			 * an item (nothing to copy), and counted. A failed CAS
			 * means a producer won it, or evicted past it: go on
			 * from the head it left. */
			if (atomic_compare_exchange_strong_explicit(&r->head, &e, h + 1, memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_store_explicit(sr_ring_stamp(r, h), SR_STAMP_FREE(h + r->capacity),
						      memory_order_release);
				/* An RMW: producers count the padding they win. */
				atomic_fetch_add_explicit(&r->skipped, 1, memory_order_relaxed);
				e = h + 1;
			}
			h = e;
		}
		*hp = h;
		return n;
	}
	/* Block/Reject: tail_cache is a run's start at or past h (M3). */
	end = r->tail_cache;
	if (sr_dist(end, h) > 0)
		end = h;
	if (sr_dist(end, ms) > 0)
		end = ms;
	while (sr_dist(h, end) < (int64_t)want) {
		/* M3: acquire, pairs with the run's M2 release (K3: or the
		 * padding's). */
		uint64_t s = atomic_load_explicit(sr_ring_stamp(r, end), memory_order_acquire);
		uint64_t rest = sr_run_rest(r, end, s);

		if (rest != UINT64_MAX) {
			end += rest + 1;
			continue;
		}
		if (end != h || (rest = sr_pad_rest(r, end, s)) == UINT64_MAX)
			break;
		/* K4: padding at head: release it (R2) and go on after it. */
		sr_skip_pad(r, h, rest + 1);
		h = end = h + rest + 1;
	}
	r->tail_cache = end;
	*hp = h;
	n = (uint64_t)sr_dist(h, end);
	return n < want ? n : want;
}

/* Consumer-private words that sr_ring_len reads from any thread
 * (read_start, read_end): the consumer reads them plainly and writes them
 * with relaxed atomic stores, a plain store on every CPU we know. */
#define sr_priv_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define sr_priv_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* c->flags (the API's): the side whose claim is pending on c, and the mode
 * it was made in. */
#define SR_CLAIM_PRODUCER 1u
#define SR_CLAIM_CONSUMER 2u
#define SR_CLAIM_MP 4u

/* A claim of [seq, seq + k) on c: at most two spans, split where the run
 * wraps around the end of the slot array. */
static void sr_claim_set(const struct sr_ring *r, struct sr_claim *c, uint64_t seq, uint64_t k, uint32_t flags)
{
	uint64_t first = r->capacity - (seq & r->mask);

	if (first > k)
		first = k;
	c->span[0] = sr_ring_slot(r, seq);
	c->len[0] = (uint32_t)first;
	c->span[1] = k > first ? sr_ring_slot(r, 0) : NULL;
	c->len[1] = (uint32_t)(k - first);
	c->n = (uint32_t)k;
	c->flags = flags;
	c->seq = seq;
}

/* The claim on c is over (seq stays, for the caller's records). */
static void sr_claim_end(struct sr_claim *c)
{
	c->span[0] = c->span[1] = NULL;
	c->len[0] = c->len[1] = 0;
	c->n = 0;
	c->flags = 0;
}

/* K5: a read claim of [h, h + n), ready (and under DropOldest won). */
static inline void sr_read_claimed(struct sr_ring *r, struct sr_claim *c, uint64_t h, uint64_t n)
{
	sr_claim_set(r, c, h, n, SR_CLAIM_CONSUMER);
	r->read_len = n;
}

/* DropOldest: R3 for [h, h + n), which the consumer won (C1) and is done
 * with. */
static void sr_free_won(struct sr_ring *r, uint64_t h, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		atomic_store_explicit(sr_ring_stamp(r, h + i), SR_STAMP_FREE(h + i + r->capacity),
				      memory_order_release);
}

/* Hands [h, h + n), ready, to dst, or (K5) to the read claim rc without
 * copying. Block/Reject: R2 (a read claim: at its release). DropOldest: C1
 * first; false (h refreshed) if a producer evicted part of it meanwhile. */
static inline bool sr_take(struct sr_ring *r, uint64_t *h, void *dst, struct sr_claim *rc, uint64_t n)
{
	if (r->backpressure != SR_DROP_OLDEST) {
		if (rc) {
			sr_read_claimed(r, rc, *h, n);
			return true;
		}
		sr_copy_out(r, *h, dst, n);
		sr_publish_head(r, *h + n);
		return true;
	}
	/* C1: owning h..h+n-1 keeps the producers from evicting them. On
	 * failure *h is the fresh head. */
	if (!atomic_compare_exchange_strong_explicit(&r->head, h, *h + n, memory_order_acq_rel,
						     memory_order_acquire))
		return false;
	if (rc) {
		/* Won: no producer evicts them while they are read (K5). */
		sr_read_claimed(r, rc, *h, n);
		return true;
	}
	sr_copy_out(r, *h, dst, n);
	/* R3: the copy-out is done, the producers may reuse the slots (A3). */
	sr_free_won(r, *h, n);
	return true;
}

/* F2, consumer: is the item of sequence h (head) published? seq_cst loads,
 * after the seq_cst load that saw SR_CLOSED_PRODUCER. Padding at head (K4)
 * counts: the consumer steps over it before it may seal. */
static bool sr_ready_at(struct sr_ring *r, uint64_t h)
{
	if (atomic_load(&r->state) & SR_MULTI) {
		uint64_t s = atomic_load(sr_ring_stamp(r, h));

		if (r->backpressure == SR_DROP_OLDEST)
			return s == SR_STAMP_FULL(h) || s == SR_STAMP_PAD(h);
		/* Below mp_start R1 published it; below tail_cache a run. */
		if (sr_dist(h, atomic_load(&r->mp_start)) > 0 || sr_dist(h, r->tail_cache) > 0)
			return true;
		return sr_run_rest(r, h, s) != UINT64_MAX || sr_pad_rest(r, h, s) != UINT64_MAX;
	}
	int64_t d = sr_dist(h, atomic_load(&r->tail));
	return d > 0 && (uint64_t)d <= r->capacity; /* past it: head passed tail */
}

/* F2, consumer, MPSC: is a sequence claimed past h published (a run start,
 * or a DropOldest item)? Such a push succeeded before the close and waits
 * behind a claim still in flight. One stamp per claimed sequence, once.
 * Padding (K4) is not published: it decodes as neither. */
static bool sr_published_past(struct sr_ring *r, uint64_t h)
{
	uint64_t t = atomic_load(&r->tail);

	for (uint64_t y = h + 1; sr_dist(y, t) > 0; y++) {
		uint64_t s = atomic_load(sr_ring_stamp(r, y));

		if (r->backpressure == SR_DROP_OLDEST ? s == SR_STAMP_FULL(y)
						      : sr_run_rest(r, y, s) != UINT64_MAX)
			return true;
	}
	return false;
}

/* F2, consumer: the producer side closed and nothing was found to pop.
 * Seal at head unless an item is ready there, one is published past it
 * (MPSC), or a producer promised items past it. True: closed and drained. */
static bool sr_drained(struct sr_ring *r)
{
	uint64_t h = atomic_load(&r->head);
	uint64_t d;

	if (sr_ready_at(r, h))
		return false;
	if ((atomic_load(&r->state) & SR_MULTI) && sr_published_past(r, h))
		return false;
	d = atomic_load(&r->drain);
	for (;;) {
		if (d & SR_DRAIN_SEALED)
			return true;
		if (sr_drain_dist(d, h) < 0)
			return false; /* promised items are still to come */
		if (atomic_compare_exchange_weak(&r->drain, &d, (h << 1) | SR_DRAIN_SEALED))
			return true;
	}
}

/* MPSC mode: pop `want` (>= 1) items (up to `want` if partial) by M3, or
 * read-claim them (rc). Same results as sr_pop_n. */
static int sr_pop_mp(struct sr_ring *r, void *dst, struct sr_claim *rc, uint64_t want, bool partial)
{
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint64_t ms, h, n;

	/* U2: an acquire load that sees SR_MULTI (the caller saw it, so this
	 * does) makes U1's mp_start and the R1-published items below it ours:
	 * relaxed load of mp_start. */
	(void)atomic_load_explicit(&r->state, memory_order_acquire);
	ms = atomic_load_explicit(&r->mp_start, memory_order_relaxed);
	/* Block/Reject: we are the only writer of head. DropOldest: the
	 * producers move it too, and C1 settles who owns what. */
	h = atomic_load_explicit(&r->head, drop ? memory_order_acquire : memory_order_relaxed);
	for (;;) {
		n = sr_ready(r, &h, ms, want);
		if (n == 0) {
			/* Closed and drained only by F2: SR_CLOSED_PRODUCER
			 * seen (seq_cst), then nothing to take, then a seal. */
			if (!(atomic_load(&r->state) & SR_CLOSED_PRODUCER))
				return partial ? 0 : -EAGAIN;
			if (drop)
				h = atomic_load_explicit(&r->head, memory_order_acquire);
			if (sr_ready(r, &h, ms, 1))
				continue;
			return sr_drained(r) ? -EPIPE : partial ? 0 : -EAGAIN;
		}
		if (n < want && !partial)
			return -EAGAIN;
		if (sr_take(r, &h, dst, rc, n)) {
			if (rc)
				rc->flags |= SR_CLAIM_MP; /* its release leaves tail_cache alone */
			return (int)n;
		}
	}
}

static int sr_pop_held(struct sr_ring *r, void *dst, struct sr_claim *rc, uint64_t want, bool partial);

/* sr_pop_n's body, for a pop (dst) or a read claim (rc): count, 0
 * (partial, empty), -EAGAIN, -EPIPE, or (held_first) -EBUSY. Always
 * inlined, so that a pop's copy has rc folded away. held_first: a pending
 * read claim or held items (K5) go first, found where the path looks
 * anyway: on the slow path of a closed or MPSC ring, or in sr_avail. */
static inline __attribute__((always_inline)) int sr_pop_body(struct sr_ring *r, void *dst, struct sr_claim *rc,
							      uint64_t want, bool partial, bool held_first)
{
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint32_t c;
	uint64_t h, n;

	/* Relaxed: our own close orders nothing we read, and SR_MULTI is only
	 * a hint here (sr_pop_mp and sr_avail load it with acquire). One test
	 * for both keeps the SPSC path as it was. */
	c = atomic_load_explicit(&r->state, memory_order_relaxed);
	if (c) {
		/* K5: held items lie below any seal; they go out first. */
		if (held_first && sr_consumer_busy(r))
			return sr_pop_held(r, dst, rc, want, partial);
		/* Sealed (F2): nothing past the seal is ever popped. Only we
		 * seal, so our own seal is what this load can see. */
		if ((c & SR_CLOSED_CONSUMER) || ((c & SR_CLOSED_PRODUCER) && sr_sealed(r)))
			return -EPIPE;
		if (c & SR_MULTI)
			return want ? sr_pop_mp(r, dst, rc, want, partial) : 0;
	}
	if (want == 0)
		return 0;
	/* Block/Reject: we are the only writer of head. DropOldest: the
	 * producer moves it too, and the CAS below settles who owns what. */
	h = atomic_load_explicit(&r->head, drop ? memory_order_acquire : memory_order_relaxed);
	for (;;) {
		n = sr_avail(r, h, want, held_first);
		if (n >= SR_AVAIL_HELD) {
			if (n == SR_AVAIL_HELD)
				return sr_pop_held(r, dst, rc, want, partial);
			return sr_pop_mp(r, dst, rc, want, partial);
		}
		if (n == 0) {
			/* F2: SR_CLOSED_PRODUCER seen (seq_cst), then a tail
			 * read after it, then a seal if that is still empty. */
			c = atomic_load(&r->state);
			if (c & SR_MULTI)
				return sr_pop_mp(r, dst, rc, want, partial);
			if (!(c & SR_CLOSED_PRODUCER))
				return partial ? 0 : -EAGAIN;
			/* A1, then U2 (no upgrade follows a close, but the
			 * rule costs nothing here). */
			uint64_t t = atomic_load(&r->tail);
			if (atomic_load_explicit(&r->state, memory_order_acquire) & SR_MULTI)
				return sr_pop_mp(r, dst, rc, want, partial);
			if (sr_dist(h, t) > 0 && (uint64_t)sr_dist(h, t) <= r->capacity) {
				r->tail_cache = t;
				continue;
			}
			if (drop)
				h = atomic_load_explicit(&r->head, memory_order_acquire);
			return sr_drained(r) ? -EPIPE : partial ? 0 : -EAGAIN;
		}
		if (n < want && !partial)
			return -EAGAIN;
		if (n > want)
			n = want;
		if (sr_take(r, &h, dst, rc, n)) {
			/* K5: a read claim sends every pop to sr_avail's
			 * check: tail_cache at head, or below it (DropOldest:
			 * head is h + n, or past it after evictions). A lower
			 * tail_cache is only a staler one (SPSC mode: this
			 * path consumes only below mp_start, U2). */
			if (rc) {
				rc->known = r->tail_cache; /* back at the release */
				r->tail_cache = drop ? h + n : h;
			}
			return (int)n;
		}
	}
}

/* K5: the slow path of every pop and read claim while a read claim is
 * pending (-EBUSY), or while DropOldest holds items that a read claim won
 * and did not release, [read_start, read_end): those go out first, before
 * anything at head, also after the producer side closed (they lie below
 * any seal, and the consumer seals only once they are gone). */
static int sr_pop_held(struct sr_ring *r, void *dst, struct sr_claim *rc, uint64_t want, bool partial)
{
	uint64_t start = r->read_start, held = r->read_end - start, k;

	if (atomic_load_explicit(&r->state, memory_order_relaxed) & SR_CLOSED_CONSUMER)
		return -EPIPE;
	if (r->read_len)
		return -EBUSY;
	if (want == 0)
		return 0;
	k = want < held ? want : held;
	if (rc) {
		sr_read_claimed(r, rc, start, k);
		return (int)k;
	}
	if (k < want && !partial) {
		/* bulk: all want or nothing, so the rest from head first; a
		 * closed and drained rest is still short of want. */
		int rest = sr_pop_body(r, (char *)dst + k * r->elem_size, NULL, want - k, false, false);

		/* That refreshed tail_cache: below head again, so that pops
		 * keep coming here while items are held (DropOldest, the only
		 * mode with held items, reads tail_cache only in SPSC mode). */
		r->tail_cache = r->read_end;
		if (rest < 0)
			return rest == -EPIPE ? -EAGAIN : rest;
	}
	sr_copy_out(r, start, dst, k);
	sr_free_won(r, start, k); /* R3 */
	sr_priv_store(&r->read_start, start + k);
	return !partial ? (int)want : (int)k;
}

/* Pop `want` items (up to `want` if partial): count, 0 (partial, empty),
 * -EAGAIN, -EPIPE, or -EBUSY while a read claim is pending. */
static int sr_pop_n(struct sr_ring *r, void *dst, uint64_t want, bool partial)
{
	return sr_pop_body(r, dst, NULL, want, partial, true);
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

/* --- Claim and commit (K1-K6) --- */

/* K1, Block/Reject: up to n slots at our tail, with the room a push finds
 * (head_cache, refreshed by A2 when short). Returns how many, 0 if full. */
static inline uint64_t sr_claim_spsc(struct sr_ring *r, uint64_t n, uint64_t *tp)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t room = r->capacity - (t - r->head_cache);

	if (room < n) {
		/* A2: as sr_push_spsc. */
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		room = r->capacity - (t - r->head_cache);
	}
	*tp = t;
	return room < n ? room : n;
}

/* K1, DropOldest: n (<= capacity) slots at our tail, each made free as
 * sr_push_evict does (A3, or C1 and an eviction, counted). Returns how
 * many: fewer (0) if the consumer closed meanwhile. */
static uint64_t sr_claim_evict(struct sr_ring *r, uint64_t n, uint64_t *tp)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed), evicted = 0, i;
	bool handed = false;

	for (i = 0; i < n; i++) {
		int e = sr_free_slot(r, t + i, NULL, &handed);

		if (e < 0)
			break;
		evicted += (uint64_t)e;
	}
	if (evicted)
		atomic_store_explicit(&r->evicted, atomic_load_explicit(&r->evicted, memory_order_relaxed) + evicted,
				      memory_order_relaxed);
	/* K1: while the claim is pending, stamp(t) reads as not free, so a
	 * push of ours fails A3's check there and finds claim_len in
	 * sr_free_slot, off its fast path. Relaxed: in SPSC mode stamps are
	 * the producer's to read, and the commit overwrites this one (R3-like
	 * release) before anyone else may. */
	if (i)
		atomic_store_explicit(sr_ring_stamp(r, t), SR_STAMP_FULL(t - r->capacity), memory_order_relaxed);
	*tp = t;
	return i;
}

/* K3, DropOldest: n (<= capacity) sequences claimed by fetch_add (M1),
 * each slot made free as sr_push_evict_mp does. Returns how many: fewer
 * (0) if the consumer closed meanwhile (nobody reads the rest). */
static uint64_t sr_claim_evict_mp(struct sr_ring *r, uint64_t n, uint64_t *tp)
{
	/* M1. Release: a consumer whose A1 load reads this tail then sees
	 * SR_MULTI (U2). */
	uint64_t t = atomic_fetch_add_explicit(&r->tail, n, memory_order_acq_rel), evicted = 0, i;
	bool handed = false;

	for (i = 0; i < n; i++) {
		int e = sr_free_slot_mp(r, t + i, NULL, &handed);

		if (e < 0)
			break;
		evicted += (uint64_t)e;
	}
	if (evicted)
		atomic_fetch_add_explicit(&r->evicted, evicted, memory_order_relaxed);
	*tp = t;
	return i;
}

/* K1, K3: claim up to n slots, waiting (Block) while none is free. */
static int sr_claim_n(struct sr_ring *r, struct sr_claim *c, unsigned n, bool wait)
{
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint32_t spun = 0;

	if (!c || n == 0)
		return -EINVAL;
	if (c->n)
		return -EBUSY;
	if (n > r->capacity)
		n = (unsigned)r->capacity; /* the spans may not overlap */
	for (;;) {
		uint32_t st = sr_push_state(r);
		uint64_t t, k;

		if (st & SR_CLOSED_MASK)
			return -EPIPE; /* K6 */
		if (st & SR_MULTI) {
			/* K3: the handle is the claim's only record. */
			k = drop ? sr_claim_evict_mp(r, n, &t) : sr_claim_mp(r, n, true, &t);
			if (k) {
				sr_claim_set(r, c, t, k, SR_CLAIM_PRODUCER | SR_CLAIM_MP);
				return (int)k;
			}
		} else {
			/* K1: one claim or push at a time. */
			if (r->claim_len)
				return -EBUSY;
			k = drop ? sr_claim_evict(r, n, &t) : sr_claim_spsc(r, n, &t);
			if (k) {
				r->claim_len = k;
				/* Block/Reject: no room for a push until the commit
				 * (sr_push_spsc then finds claim_len). t - capacity
				 * is still a lower bound of head, as head_cache must
				 * be (DropOldest: the stamp does it, sr_claim_evict). */
				if (!drop) {
					c->known = r->head_cache; /* back at the commit */
					r->head_cache = t - r->capacity;
				}
				sr_claim_set(r, c, t, k, SR_CLAIM_PRODUCER);
				return (int)k;
			}
		}
		if (drop)
			return -EPIPE; /* DropOldest never waits: the consumer closed */
		if (!wait)
			return -EAGAIN;
		if (r->backpressure == SR_REJECT)
			return -ENOBUFS;
		sr_wait_step(r, false, &spun);
	}
}

SR_API int sr_ring_claim(struct sr_ring *r, struct sr_claim *c, unsigned n)
{
	return sr_claim_n(r, c, n, true);
}

SR_API int sr_ring_try_claim(struct sr_ring *r, struct sr_claim *c, unsigned n)
{
	return sr_claim_n(r, c, n, false);
}

/* K2, SPSC: publish the first k of the n claimed at t. known is the
 * head_cache the claim hid (Block/Reject). */
static int sr_commit_spsc(struct sr_ring *r, uint64_t t, uint64_t n, uint64_t k, uint64_t known)
{
	if (r->backpressure == SR_DROP_OLDEST) {
		uint64_t i;

		/* M2 per item, as sr_push_evict does. */
		for (i = 0; i < k; i++)
			atomic_store_explicit(sr_ring_stamp(r, t + i), SR_STAMP_FULL(t + i), memory_order_release);
		/* The claim made the rest's slots ours: free for the next
		 * claim or push at these sequences (A3). */
		for (; i < n; i++)
			atomic_store_explicit(sr_ring_stamp(r, t + i), SR_STAMP_FREE(t + i), memory_order_release);
	}
	r->claim_len = 0;
	/* Back to the head_cache the claim hid: a head read before, still a
	 * lower bound of head (dropping it would make the next claim or push
	 * read the consumer's line again). */
	if (r->backpressure != SR_DROP_OLDEST)
		r->head_cache = known;
	if (k == 0)
		return 0;
	sr_publish_tail(r, t + k);
	return sr_took(t, sr_published(r, t, t + k)); /* F1 */
}

/* K3, MPSC: publish the first k of the n claimed at t; give the rest back
 * (Block/Reject, while no later claim exists) or make it padding. */
static int sr_commit_mp(struct sr_ring *r, uint64_t t, uint64_t n, uint64_t k)
{
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint64_t e = t + n;

	if (k < n) {
		if (drop) {
			/* padded first: the consumer counts what it skips
			 * after it read the stamps below. */
			atomic_fetch_add_explicit(&r->padded, n - k, memory_order_relaxed);
			for (uint64_t i = k; i < n; i++)
				atomic_store_explicit(sr_ring_stamp(r, t + i), SR_STAMP_PAD(t + i), sr_stamp_order(r));
		} else if (atomic_compare_exchange_strong(&r->tail, &e, t + k)) {
			/* Given back, and no stamp past t + k was written in
			 * this lap. seq_cst: the W1 load of prod_wait follows
			 * (room for a waiting producer); release: the next
			 * claimer of these slots writes them after us. */
			if (sr_sleeps(r))
				sr_wake(r, &r->prod_wait);
		} else {
			/* A later claim exists: one stamp at the run start
			 * t + k names the padding's end. seq_cst (more than
			 * release): with k = 0 the W1 load of cons_wait in
			 * sr_publish_stamps follows it directly. */
			atomic_fetch_add_explicit(&r->padded, n - k, memory_order_relaxed);
			atomic_store_explicit(sr_ring_stamp(r, t + k), SR_STAMP_PAD(t + n - 1), sr_stamp_order(r));
		}
	}
	if (drop)
		for (uint64_t i = 0; i < k; i++)
			atomic_store_explicit(sr_ring_stamp(r, t + i), SR_STAMP_FULL(t + i), sr_stamp_order(r));
	sr_publish_stamps(r, t, k, drop); /* M2, and W1's wake */
	if (k == 0)
		return 0;
	return sr_took(t, sr_published(r, t, t + k)); /* F1 */
}

SR_API int sr_ring_commit(struct sr_ring *r, struct sr_claim *c, unsigned k)
{
	bool gone;
	int rc;

	if (!c)
		return -EINVAL;
	if (c->n == 0 || !(c->flags & SR_CLAIM_PRODUCER))
		return -ENOENT;
	if (k > c->n)
		return -EINVAL;
	/* K6: a commit that finds either side closed is a push after a close:
	 * it takes nothing, and the claim ends as an abort, which leaves every
	 * mode's words consistent. A close that lands during the commit is
	 * settled by F1/F2 as for any push. */
	gone = atomic_load_explicit(&r->state, memory_order_relaxed) & SR_CLOSED_MASK;
	if (gone)
		k = 0;
	rc = c->flags & SR_CLAIM_MP ? sr_commit_mp(r, c->seq, c->n, k) : sr_commit_spsc(r, c->seq, c->n, k, c->known);
	sr_claim_end(c);
	return gone ? -EPIPE : rc;
}

/* K5: read-claim up to n ready items, waiting while none is. */
static int sr_read_claim_n(struct sr_ring *r, struct sr_claim *c, unsigned n, bool wait)
{
	uint32_t spun = 0;
	int rc;

	if (!c || n == 0)
		return -EINVAL;
	if (c->n)
		return -EBUSY;
	if (n > r->capacity)
		n = (unsigned)r->capacity;
	/* Partial, as a burst: 0 is empty (not drained, or not yet sealed). */
	while ((rc = sr_pop_body(r, NULL, c, n, true, true)) == 0) {
		if (!wait)
			return -EAGAIN;
		sr_wait_step(r, true, &spun);
	}
	return rc;
}

SR_API int sr_ring_read_claim(struct sr_ring *r, struct sr_claim *c, unsigned n)
{
	return sr_read_claim_n(r, c, n, true);
}

SR_API int sr_ring_try_read_claim(struct sr_ring *r, struct sr_claim *c, unsigned n)
{
	return sr_read_claim_n(r, c, n, false);
}

SR_API int sr_ring_read_release(struct sr_ring *r, struct sr_claim *c, unsigned k)
{
	if (!c)
		return -EINVAL;
	if (c->n == 0 || !(c->flags & SR_CLAIM_CONSUMER))
		return -ENOENT;
	if (k > c->n)
		return -EINVAL;
	if (r->backpressure == SR_DROP_OLDEST) {
		/* R3 for the first k; the rest stays held, before anything at
		 * head (K5). A claim of fresh items (none were held) makes the
		 * range; one of held items shrinks it from the front. Start
		 * first: sr_ring_len, between the stores, sees an empty range
		 * (end at or below start), never a long one. */
		bool fresh = r->read_start == r->read_end;

		sr_free_won(r, c->seq, k);
		sr_priv_store(&r->read_start, c->seq + k);
		if (fresh)
			sr_priv_store(&r->read_end, c->seq + c->n);
	} else {
		/* R2; the rest stays in the ring. A claim made in SPSC mode
		 * kept tail_cache at head: back to the tail it knew, which is
		 * past the claim (M3 and Go's readers expect tail_cache >=
		 * head under Block/Reject). */
		if (!(c->flags & SR_CLAIM_MP))
			r->tail_cache = sr_dist(c->seq + k, c->known) > 0 ? c->known : c->seq + k;
		if (k)
			sr_publish_head(r, c->seq + k);
	}
	r->read_len = 0;
	sr_claim_end(c);
	return 0;
}

/* --- MPSC --- */

SR_API int sr_ring_add_producer(struct sr_ring *r)
{
	/* Relaxed: the CAS below validates it. */
	uint32_t p = atomic_load_explicit(&r->producers, memory_order_relaxed);

	/* K1: a pending claim is a push in flight, which U1 must not have.
	 * Before the upgrade only the sole producer calls this, so
	 * claim_len is its own word; after it, claim_len stays 0. */
	if (!(atomic_load_explicit(&r->state, memory_order_relaxed) & SR_MULTI) && r->claim_len)
		return -EBUSY;
	do {
		/* 0: every producer has closed; the side never reopens. The
		 * caller's own reference keeps p >= 1 unless it was misused. */
		if (p == 0 || (atomic_load_explicit(&r->state, memory_order_relaxed) & SR_CLOSED_MASK))
			return -EPIPE;
	} while (!atomic_compare_exchange_weak_explicit(&r->producers, &p, p + 1, memory_order_relaxed,
							memory_order_relaxed));
	/* Before the upgrade the caller is the sole producer, so no other
	 * thread can be in here at once; after it the bit is never cleared.
	 * Relaxed: the caller's own write of SR_MULTI, if any. */
	if (atomic_load_explicit(&r->state, memory_order_relaxed) & SR_MULTI)
		return 0;
	/* U1: no push of ours is in flight, so tail (ours, relaxed) is all
	 * published by R1. mp_start first, then the bit, both seq_cst: whoever
	 * sees the bit (acquire) sees mp_start and everything below it. */
	atomic_store(&r->mp_start, atomic_load_explicit(&r->tail, memory_order_relaxed));
	atomic_fetch_or(&r->state, SR_MULTI);
	return 0;
}

SR_API int sr_ring_is_multi(const struct sr_ring *r)
{
	return (atomic_load_explicit(&((struct sr_ring *)r)->state, memory_order_acquire) & SR_MULTI) != 0;
}

/* --- Any thread --- */

SR_API int sr_ring_close(struct sr_ring *r, uint32_t side)
{
	if (side != SR_CLOSED_PRODUCER && side != SR_CLOSED_CONSUMER)
		return -EINVAL;
	if (side == SR_CLOSED_PRODUCER) {
		uint32_t p = atomic_load_explicit(&r->producers, memory_order_relaxed);

		/* acq_rel: the producers' drops form one chain, so the last
		 * one's fetch_or below releases every producer's pushes, not
		 * just its own. */
		do {
			if (p == 0)
				return -EPIPE;
		} while (!atomic_compare_exchange_weak_explicit(&r->producers, &p, p - 1, memory_order_acq_rel,
								memory_order_relaxed));
		if (p > 1)
			return 0; /* other producers still push */
	}
	/* seq_cst: against a W1 waiter's store of its word and load of
	 * closed; and a release of everything this side published before. */
	if (atomic_fetch_or(&r->state, side) & side)
		return -EPIPE;
	/* Close is rare: wake both sides without asking whether they sleep. */
	atomic_exchange(&r->prod_wait, 0);
	sr_futex_wake(&r->prod_wait, sr_shared(r));
	atomic_exchange(&r->cons_wait, 0);
	sr_futex_wake(&r->cons_wait, sr_shared(r));
	return 0;
}

SR_API uint32_t sr_ring_closed(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->state, memory_order_acquire) & SR_CLOSED_MASK;
}

/* A snapshot. In MPSC mode tail counts claimed sequences, some of which
 * may not be published yet: they count as in the ring. Padding not yet
 * released (K4: padded - skipped) does not; the rest of a partly released
 * DropOldest read claim (K5: [read_start, read_end), below head) does. A
 * pending read claim's items count under Block/Reject (head has not moved)
 * but not under DropOldest (won, and held only from the release on). */
SR_API uint64_t sr_ring_len(const struct sr_ring *r)
{
	struct sr_ring *m = (struct sr_ring *)r;
	/* head first: tail, read later, is no older, so in SPSC the
	 * difference cannot go negative; DropOldest may still put head past
	 * tail for a moment, and pops between the loads can overshoot. */
	uint64_t h = atomic_load_explicit(&m->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&m->tail, memory_order_acquire);
	/* skipped before padded: both only grow, and padding is counted in
	 * padded before it can be skipped, so this order errs low. */
	uint64_t skipped = atomic_load_explicit(&m->skipped, memory_order_relaxed);
	uint64_t padded = atomic_load_explicit(&m->padded, memory_order_relaxed);
	uint64_t held = sr_priv_load(&m->read_end) - sr_priv_load(&m->read_start);
	int64_t d = sr_dist(h, t), pad = sr_dist(skipped, padded);

	if (held > r->capacity) /* a torn snapshot of the pair */
		held = 0;
	if (d <= 0 || sr_sealed(m)) /* sealed: what is left was never taken */
		d = 0;
	if (pad > 0)
		d = d > pad ? d - pad : 0;
	if ((uint64_t)d > r->capacity)
		d = (int64_t)r->capacity;
	return (uint64_t)d + held > r->capacity ? r->capacity : (uint64_t)d + held;
}

SR_API uint64_t sr_ring_evicted(const struct sr_ring *r)
{
	return atomic_load_explicit(&((struct sr_ring *)r)->evicted, memory_order_relaxed);
}

/* --- Lifecycle --- */

SR_API size_t sr_ring_size(const struct sr_config *cfg)
{
	uint64_t total;

	if (!cfg || !sr_blk_geometry_ok(cfg->capacity, cfg->elem_size) || cfg->backpressure > SR_REJECT ||
	    cfg->wait > SR_WAIT_ADAPTIVE || (cfg->wait == SR_WAIT_ADAPTIVE && cfg->spins > SR_MAX_SPIN_NS) ||
	    (cfg->flags & ~SR_FLAG_SHARED))
		return 0;
	/* Both factors are bounded (2^30 * 2^20), so none of this overflows. */
	total = sr_stamps_offset(cfg) + cfg->capacity * sizeof(uint64_t);
	return sr_blk_total_ok(total);
}

/* sr_ring_init, for sr_ring_new too: `flags` adds private bits
 * (SR_FLAG_MAPPED), and `zeroed` says the memory is known to be zero (a
 * fresh anonymous mapping). */
static int sr_ring_lay_out(void *mem, size_t size, const struct sr_config *cfg, uint32_t flags, bool zeroed)
{
	struct sr_ring *r = mem;
	size_t need = sr_ring_size(cfg);

	if (!need || !mem || (uintptr_t)mem % SR_LINE || size < need)
		return -EINVAL;
	memset(r, 0, sizeof(*r)); /* indexes, caches, counters, closed, waits, mp_start, drain */
	r->backpressure = cfg->backpressure;
	r->wait = cfg->wait;
	r->spins = cfg->spins;
	r->capacity = cfg->capacity;
	r->mask = cfg->capacity - 1;
	r->elem_size = cfg->elem_size;
	r->slots_offset = sizeof(*r);
	r->stamps_offset = sr_stamps_offset(cfg);
	r->total_size = need;
	r->flags = cfg->flags | flags;
	atomic_init(&r->refs, 1);
	atomic_init(&r->producers, 1); /* the ring's first producer */
	/* Free for the first sequence of each slot: what DropOldest's A3
	 * expects, and (even) never full for any sequence, as M3 needs of a
	 * Block/Reject ring that is upgraded later. Zero is even too: in
	 * memory known to be zero, a Block/Reject ring keeps zero stamps, as
	 * the Go backend's rings do, and its stamp pages stay untouched (not
	 * resident) until an MPSC push writes them. */
	if (!zeroed || r->backpressure == SR_DROP_OLDEST)
		for (uint64_t i = 0; i < r->capacity; i++)
			atomic_init(sr_ring_stamp(r, i), SR_STAMP_FREE(i));
	/* A peer mapping the memory checks magic first (sr_ring_validate):
	 * everything above is in place before it appears. */
	atomic_thread_fence(memory_order_release);
	r->version = SR_VERSION;
	r->magic = SR_MAGIC;
	return 0;
}

SR_API int sr_ring_init(void *mem, size_t size, const struct sr_config *cfg)
{
	return sr_ring_lay_out(mem, size, cfg, 0, false);
}

SR_API struct sr_ring *sr_ring_new(const struct sr_config *cfg, int *err)
{
	size_t size = sr_ring_size(cfg);
	struct sr_ring *r = NULL;
	int rc = -EINVAL;

	if (size) {
		/* Mapped if large (block.h): a fresh mapping reads as zeros. */
		bool mapped;

		r = sr_blk_alloc(size, &mapped);
		rc = r ? sr_ring_lay_out(r, size, cfg, mapped ? SR_FLAG_MAPPED : 0, mapped) : -ENOMEM;
		if (rc) {
			sr_blk_free(r, size, mapped);
			r = NULL;
		}
	}
	if (err)
		*err = rc;
	return r;
}

SR_API void sr_ring_retain(struct sr_ring *r)
{
	sr_blk_ref(&r->refs);
}

SR_API void sr_ring_release(struct sr_ring *r)
{
	if (r && sr_blk_unref(&r->refs))
		sr_blk_free(r, r->total_size, r->flags & SR_FLAG_MAPPED);
}

/* The safety argument and what readers must do: spillring.h. */
SR_API int sr_ring_reclaim(struct sr_ring *r)
{
	if (!r || !(r->flags & SR_FLAG_MAPPED))
		return -EINVAL;
	/* seq_cst: the load sees the bits of every close that happened
	 * before; close bits are never cleared. */
	if ((atomic_load(&r->state) & SR_CLOSED_MASK) != SR_CLOSED_MASK)
		return -EBUSY;
	if (atomic_exchange(&r->reclaimed, 1))
		return -EALREADY;
	/* Pages wholly at or after the first slot: the header's page stays. */
	sr_blk_discard(r, r->total_size, r->slots_offset);
	return 0;
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
		.flags = r->flags & ~SR_FLAG_MAPPED, /* not a config flag */
	};
	need = sr_ring_size(&cfg); /* enums, power of two, limits */
	if (!need || r->mask != r->capacity - 1 || r->slots_offset != sizeof(*r) ||
	    r->stamps_offset != sr_stamps_offset(&cfg) || r->total_size != need ||
	    r->total_size > size)
		return -EINVAL;
	return 0;
}

#pragma GCC diagnostic pop
