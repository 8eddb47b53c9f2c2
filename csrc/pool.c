/*
 * pool.c - the worker pool of pool.h: threads, rounds, the handoff.
 *
 * Twins: Go runs the same protocol on the same words: the Go backend
 * (pool_go.go) on goroutines locked to their threads, and, on the C
 * backend, the dispatcher, the joiner, the collector and a Go work
 * function's round end (pool.go). The Go names:
 *	sr_pool_thread    poolGo.loop (Go backend)
 *	sr_pool_await     poolAwait
 *	sr_pool_publish   WorkerPool.publish (Go work, both backends)
 *	sr_pool_merge     mergeSpill
 *	sr_pool_dispatch  poolDispatch
 *	sr_pool_join      poolJoinWait
 *	sr_pool_take,     WorkerPool.collect
 *	sr_pool_recycle
 *	sr_pool_round,    WorkerPool.orderedRound, orderedRelease
 *	sr_pool_round_release
 *
 * A translation unit may take a private copy as with ring.c (SR_API static).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#pragma GCC diagnostic ignored "-Wunused-function"

#include "pool.h"
#include "block.h"
#include "park.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SR_POOL_BATCH(seq, ring) ((uint64_t)(seq) << 8 | ((uint64_t)(ring) + 1))
#define SR_POOL_BATCH_RING(b) ((unsigned)((b) & 0xff) - 1)
#define SR_POOL_BATCH_SEQ(b) ((b) >> 8)

struct sr_pool_thread_arg {
	struct sr_pool *p;
	unsigned i;
};

struct sr_pool_threads {
	unsigned started;
	pthread_t t[];
};

static inline uint64_t sr_pool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps while *w == val (FUTEX_WAIT): a changed word, EINTR and spurious
 * wake-ups all send the caller back to re-check. */
static inline void sr_pool_futex_wait(_Atomic uint32_t *w, uint32_t val)
{
#ifdef __linux__
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
	(void)w, (void)val;
	sched_yield();
#endif
}

static inline void sr_pool_futex_wake(_Atomic uint32_t *w)
{
	sr_futex_wake(w, false);
}

/* Waits until *w != old (acquire), spinning up to spin_ns and then sleeping,
 * with the W1 handshake on *flag, which only the waiter writes (G1). Adds
 * the time spent to *spun and *slept. Returns the new value. */
static uint32_t sr_pool_await(_Atomic uint32_t *w, uint32_t old, _Atomic uint32_t *flag, uint32_t spin_ns,
			      uint64_t *spun, uint64_t *slept)
{
	uint32_t v = atomic_load_explicit(w, memory_order_acquire);
	uint64_t t0, t1;
	unsigned n = 0;

	if (v != old)
		return v;
	t0 = sr_pool_now();
	t1 = t0;
	if (spin_ns) {
		for (;;) {
			sr_relax();
			v = atomic_load_explicit(w, memory_order_acquire);
			if (v != old)
				goto out;
			if (++n % 64 == 0) {
				t1 = sr_pool_now();
				if (t1 - t0 >= spin_ns)
					break;
			}
		}
	}
	*spun += t1 - t0;
	for (;;) {
		atomic_store(flag, 1); /* seq_cst: G1 / D1 */
		v = atomic_load(w);
		if (v != old)
			break;
		sr_pool_futex_wait(w, old);
		v = atomic_load_explicit(w, memory_order_acquire);
		if (v != old)
			break;
	}
	atomic_store_explicit(flag, 0, memory_order_relaxed);
	*slept += sr_pool_now() - t1;
	return v;
out:
	*spun += sr_pool_now() - t0;
	return v;
}

static inline void sr_pool_count(_Atomic uint64_t *c, uint64_t n)
{
	if (n)
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

/* Moves what `from` holds to the end of `into` (into's items are older),
 * spilling from `into` as it must; stops where into's spill area is full,
 * leaving the rest in `from`. Copies straight from from's slots, at most two
 * runs. Returns how many moved. Both rings are settled. */
static uint64_t sr_pool_merge(struct sr_spill *into, struct sr_spill *from)
{
	uint64_t moved = 0, n;

	while ((n = from->tail - from->head) > 0) {
		uint64_t h = from->head, run = from->capacity - (h & from->mask);
		int took;

		if (run > n)
			run = n;
		if (run > INT_MAX)
			run = INT_MAX;
		took = sr_spill_push_burst(into, sr_spill_slot(from, h), (unsigned)run);
		from->head = h + (uint64_t)took;
		moved += (uint64_t)took;
		if ((uint64_t)took < run)
			break;
	}
	return moved;
}

/* Settles a ring (spill.h): a pop of nothing does it. */
static inline void sr_pool_settle(struct sr_spill *s)
{
	sr_spill_pop_burst(s, NULL, 0);
}

/* O1: an ordered pool's count of what round seq's publish put into the
 * slot, before the H1 store (or D1's, when there is none). */
static inline void sr_pool_count_round(const struct sr_pool *p, struct sr_pool_worker *w, uint64_t seq, uint64_t n)
{
	if (w->counts)
		atomic_store_explicit(&w->counts[seq & p->order_mask], n, memory_order_relaxed);
}

/* H3: the round's end on worker w: everything the active ring holds is
 * published, or merged into the uncollected batch, or (that batch's spill
 * area full) left in the active ring for the next publish. */
static void sr_pool_publish(const struct sr_pool *p, struct sr_pool_worker *w, uint64_t seq)
{
	struct sr_spill *a = w->rings[w->active];
	uint64_t b = atomic_exchange(&w->batch, 0); /* H3 (acq_rel) */

	sr_pool_count_round(p, w, seq, 0); /* unless the publish below moves items */

	if (b) {
		/* Not collected: merge the active ring into it and put it back
		 * (unchanged if there is nothing to merge). The ring's items go
		 * first: they push out only the batch's own oldest items, which
		 * are older than what the active ring spilled; then the active
		 * ring's spilled items, so the spill area stays oldest first. */
		unsigned k = SR_POOL_BATCH_RING(b);
		struct sr_spill *old = w->rings[k];
		uint64_t sp, moved;

		if (a->tail == a->head && sr_spill_pending(a) == 0) {
			atomic_store_explicit(&w->batch, b, memory_order_release);
			return;
		}
		sr_pool_settle(old);
		sp = old->spilled;
		moved = sr_pool_merge(old, a);
		sr_spill_move_spilled(old, a);
		sr_pool_count_round(p, w, seq, moved); /* O1 */
		sr_pool_count(&w->merged, moved);
		sr_pool_count(&w->spilled, old->spilled - sp);
		atomic_store_explicit(&w->batch, SR_POOL_BATCH(seq, k), memory_order_release); /* H1 */
		sr_pool_count(&w->published, 1);
		return;
	}
	if (a->tail == a->head && sr_spill_pending(a) == 0)
		return; /* nothing to publish: keep the ring */
	w->spare |= atomic_exchange_explicit(&w->recycle, 0, memory_order_acquire); /* H2 */
	if (!w->spare)
		return; /* cannot happen (H3); if it did, the items would go out with the next publish */
	sr_pool_count_round(p, w, seq, a->tail - a->head); /* O1 */
	atomic_store_explicit(&w->batch, SR_POOL_BATCH(seq, w->active), memory_order_release); /* H1 */
	sr_pool_count(&w->published, 1);
	w->active = (uint32_t)__builtin_ctz(w->spare);
	w->spare &= w->spare - 1;
}

static void *sr_pool_thread(void *arg)
{
	struct sr_pool_thread_arg ta = *(struct sr_pool_thread_arg *)arg;
	struct sr_pool *p = ta.p;
	struct sr_pool_worker *w = &p->w[ta.i];
	uint32_t seen = 0;
	uint64_t spun = 0, slept = 0;

	free(arg);
	for (;;) {
		/* Oversubscribed, a worker sleeps at once: a worker that
		 * polled, even yielding, would wait behind a busy dispatcher
		 * on its CPU for a whole time slice, where a futex wake-up
		 * preempts it. */
		seen = sr_pool_await(&w->go, seen, &w->parked, (p->flags & SR_POOL_YIELDS) ? 0 : p->spin_ns, &spun,
				     &slept);
		atomic_store_explicit(&w->spin_ns, spun, memory_order_relaxed);
		atomic_store_explicit(&w->park_ns, slept, memory_order_relaxed);
		if (atomic_load_explicit(&p->shutdown, memory_order_relaxed))
			break;
		{
			struct sr_spill *a = w->rings[w->active];
			const void *args = p->args_size ? p->args : NULL;
			uint64_t t0 = a->tail, s0 = a->spilled; /* settled by the last publish */
			int rc;

			if (p->flags & SR_POOL_SELF_PUBLISH) {
				/* The work function ends its round itself (Go
				 * work: pool.go's WorkerPool.round). */
				rc = p->work(a, ta.i, args, p->ctx);
			} else {
				rc = p->work(a, ta.i, args, p->ctx);
				/* A push settles the ring (spill.h); do it
				 * for the counts in case the last one did not. */
				sr_pool_settle(a);
				sr_pool_count(&w->pushed, a->tail - t0);
				sr_pool_count(&w->spilled, a->spilled - s0);
				sr_pool_publish(p, w, p->round); /* round: written before G1 */
			}
			sr_pool_count(&w->rounds, 1);
			atomic_store_explicit(&w->status, rc, memory_order_relaxed);
			atomic_store_explicit(&w->done, seen, memory_order_release);
		}
		/* D1 */
		{
			uint32_t old = atomic_fetch_sub(&p->pending, 1);

			if ((old & ~SR_POOL_JOINER) == 1 && (old & SR_POOL_JOINER))
				sr_pool_futex_wake(&p->pending);
		}
	}
	return NULL;
}

/* CPUs this process may run on (the pool's oversubscription rule). */
static unsigned sr_pool_cpus(void)
{
#ifdef __linux__
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
#endif
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int sr_pool_check(const struct sr_pool_config *cfg)
{
	if (!cfg || cfg->workers == 0 || cfg->workers > SR_POOL_MAX_WORKERS || !cfg->work ||
	    cfg->args_size > SR_POOL_MAX_ARGS || cfg->spin_ns > SR_POOL_MAX_SPIN_NS ||
	    cfg->order_window > SR_POOL_MAX_WINDOW ||
	    (cfg->flags & ~(SR_POOL_DISCARD | SR_POOL_SPIN_OVERSUBSCRIBED | SR_POOL_SELF_PUBLISH)))
		return -EINVAL;
	if (cfg->cpus) {
		for (uint32_t i = 0; i < cfg->workers; i++)
			if (cfg->cpus[i] < 0 || cfg->cpus[i] >= CPU_SETSIZE)
				return -EINVAL;
	}
	return 0;
}

static void sr_pool_stop(struct sr_pool *p)
{
	struct sr_pool_threads *th = p->threads;

	atomic_store(&p->shutdown, 1);
	for (uint32_t i = 0; i < p->workers; i++) {
		struct sr_pool_worker *w = &p->w[i];

		/* S1: as a dispatch (G1). */
		atomic_store(&w->go, atomic_load_explicit(&w->go, memory_order_relaxed) + 1);
		if (atomic_load(&w->parked))
			sr_pool_futex_wake(&w->go);
	}
	for (unsigned i = 0; th && i < th->started; i++)
		pthread_join(th->t[i], NULL);
}

static void sr_pool_release(struct sr_pool *p)
{
	if (p->w) {
		for (uint32_t i = 0; i < p->workers; i++) {
			for (int k = 0; k < SR_POOL_RINGS; k++)
				sr_spill_release(p->w[i].rings[k]);
			free((void *)p->w[i].counts);
		}
	}
	free(p->w);
	free(p->args);
	free(p->threads);
	free(p);
}

SR_API struct sr_pool *sr_pool_new(const struct sr_pool_config *cfg, int *err)
{
	struct sr_spill_config sc;
	struct sr_pool *p;
	struct sr_pool_threads *th;
	int rc = sr_pool_check(cfg);

	if (rc)
		goto fail;
	memset(&sc, 0, sizeof(sc));
	sc.capacity = cfg->ring_capacity;
	sc.elem_size = cfg->elem_size;
	sc.spill_capacity = cfg->spill_capacity;
	sc.flags = (cfg->flags & SR_POOL_DISCARD) ? SR_SPILL_DISCARD : 0;
	if (!sr_spill_size(&sc)) {
		rc = -EINVAL;
		goto fail;
	}
	rc = -ENOMEM;
	p = aligned_alloc(SR_LINE, sizeof(*p));
	if (!p)
		goto fail;
	memset(p, 0, sizeof(*p));
	p->magic = SR_POOL_MAGIC;
	p->version = SR_POOL_VERSION;
	p->workers = cfg->workers;
	p->ring_capacity = cfg->ring_capacity;
	p->elem_size = cfg->elem_size;
	p->args_size = cfg->args_size;
	p->spin_ns = cfg->spin_ns;
	p->flags = cfg->flags;
	if (!(cfg->flags & SR_POOL_SPIN_OVERSUBSCRIBED) && cfg->workers + 1 > sr_pool_cpus())
		p->flags |= SR_POOL_YIELDS; /* a spinner would take the CPU a worker needs */
	p->work = cfg->work;
	p->ctx = cfg->ctx;
	p->joined = 1; /* round 0 needs no join */
	p->order_window = cfg->order_window;
	if (cfg->order_window) {
		uint32_t n = 1;

		while (n < cfg->order_window)
			n <<= 1;
		p->order_mask = n - 1;
		p->order_floor = 1;
	}
	p->w = aligned_alloc(SR_LINE, sizeof(struct sr_pool_worker) * cfg->workers);
	p->args = cfg->args_size ? calloc(1, cfg->args_size) : NULL;
	th = malloc(sizeof(*th) + sizeof(pthread_t) * cfg->workers);
	p->threads = th;
	if (!p->w || (cfg->args_size && !p->args) || !th) {
		if (p->w)
			memset(p->w, 0, sizeof(struct sr_pool_worker) * cfg->workers);
		sr_pool_release(p);
		goto fail;
	}
	th->started = 0;
	memset(p->w, 0, sizeof(struct sr_pool_worker) * cfg->workers);
	for (uint32_t i = 0; i < cfg->workers; i++) {
		struct sr_pool_worker *w = &p->w[i];

		for (int k = 0; k < SR_POOL_RINGS; k++) {
			w->rings[k] = sr_spill_new(&sc, &rc);
			if (!w->rings[k]) {
				sr_pool_release(p);
				goto fail;
			}
		}
		w->active = 0;
		w->spare = 6; /* rings 1 and 2 */
		atomic_init(&w->emit, 1);
		if (p->order_window) {
			w->counts = calloc((size_t)p->order_mask + 1, sizeof(*w->counts));
			if (!w->counts) {
				rc = -ENOMEM;
				sr_pool_release(p);
				goto fail;
			}
		}
	}
	for (uint32_t i = 0; i < cfg->workers; i++) {
		struct sr_pool_thread_arg *ta = malloc(sizeof(*ta));
		pthread_attr_t attr;
		int e;

		if (!ta) {
			rc = -ENOMEM;
			goto stop;
		}
		ta->p = p;
		ta->i = i;
		pthread_attr_init(&attr);
#ifdef __linux__
		if (cfg->cpus) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cfg->cpus[i], &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
#endif
		e = pthread_create(&th->t[i], &attr, sr_pool_thread, ta);
		pthread_attr_destroy(&attr);
		if (e) {
			free(ta);
			rc = -e;
			goto stop;
		}
		th->started++;
	}
	if (err)
		*err = 0;
	return p;
stop:
	sr_pool_stop(p);
	sr_pool_release(p);
fail:
	if (err)
		*err = rc;
	return NULL;
}

SR_API void sr_pool_free(struct sr_pool *p)
{
	if (!p)
		return;
	if (!p->joined)
		sr_pool_join(p);
	sr_pool_stop(p);
	sr_pool_release(p);
}

SR_API int sr_pool_dispatch(struct sr_pool *p, const void *args)
{
	uint32_t go;

	if (!p->joined)
		return -EBUSY;
	if (p->order_window && p->round + 1 - p->order_floor >= p->order_window) {
		/* O3: re-read the workers' emit; the round may start only once
		 * every worker's round round + 1 - order_window was emitted. */
		uint64_t floor = atomic_load_explicit(&p->w[0].emit, memory_order_acquire);

		for (uint32_t i = 1; i < p->workers; i++) {
			uint64_t e = atomic_load_explicit(&p->w[i].emit, memory_order_acquire);

			if ((int64_t)(e - floor) < 0)
				floor = e;
		}
		p->order_floor = floor;
		if (p->round + 1 - floor >= p->order_window)
			return -ENOSPC;
	}
	if (p->args_size && args)
		memcpy(p->args, args, p->args_size);
	p->joined = 0;
	p->round++;
	go = (uint32_t)p->round;
	atomic_store_explicit(&p->pending, p->workers, memory_order_relaxed);
	for (uint32_t i = 0; i < p->workers; i++) {
		struct sr_pool_worker *w = &p->w[i];

		atomic_store(&w->go, go); /* G1 (seq_cst; orders pending too) */
		if (atomic_load(&w->parked))
			sr_pool_futex_wake(&w->go);
	}
	return 0;
}

SR_API int sr_pool_join(struct sr_pool *p)
{
	bool spinning = p->spin_ns != 0;
	uint64_t t0 = spinning ? sr_pool_now() : 0;
	unsigned n = 0;
	uint32_t v;

	if (p->joined)
		return -EPERM;
	/* D1: wait for pending's count to reach 0; spin, then sleep with
	 * SR_POOL_JOINER set. */
	for (;;) {
		v = atomic_load_explicit(&p->pending, memory_order_acquire);
		if ((v & ~SR_POOL_JOINER) == 0)
			break;
		if (spinning) {
			/* Oversubscribed, poll with sched_yield, which hands the
			 * CPU to any thread that wants it (a worker) and keeps
			 * it only if none does. */
			if (p->flags & SR_POOL_YIELDS)
				sched_yield();
			else
				sr_relax();
			if ((++n % 64 == 0 || (p->flags & SR_POOL_YIELDS)) && sr_pool_now() - t0 >= p->spin_ns)
				spinning = false;
			continue;
		}
		if (!(v & SR_POOL_JOINER) && !atomic_compare_exchange_strong(&p->pending, &v, v | SR_POOL_JOINER))
			continue; /* a worker left meanwhile: re-check */
		sr_pool_futex_wait(&p->pending, v | SR_POOL_JOINER);
	}
	p->joined = 1;
	return 0;
}

SR_API int sr_pool_status(const struct sr_pool *p, unsigned worker)
{
	if (worker >= p->workers)
		return -EINVAL;
	return atomic_load_explicit(&p->w[worker].status, memory_order_relaxed);
}

SR_API struct sr_spill *sr_pool_take(struct sr_pool *p, unsigned worker, uint64_t *seq)
{
	uint64_t b;

	if (worker >= p->workers)
		return NULL;
	b = atomic_exchange(&p->w[worker].batch, 0); /* H1 (acq_rel) */
	if (!b)
		return NULL;
	if (seq)
		*seq = SR_POOL_BATCH_SEQ(b);
	return p->w[worker].rings[SR_POOL_BATCH_RING(b)];
}

SR_API int sr_pool_recycle(struct sr_pool *p, unsigned worker, struct sr_spill *ring)
{
	struct sr_pool_worker *w;

	if (worker >= p->workers || !ring)
		return -EINVAL;
	w = &p->w[worker];
	for (uint32_t k = 0; k < SR_POOL_RINGS; k++) {
		if (w->rings[k] != ring)
			continue;
		if (sr_spill_len(ring) || sr_spill_pending(ring))
			return -EINVAL;
		atomic_fetch_or_explicit(&w->recycle, 1u << k, memory_order_release); /* H2 */
		return 0;
	}
	return -EINVAL;
}

/* Seq a is before seq b (wrapping at 2^64). */
static inline bool sr_pool_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

/* Hands worker w's held ring back (H2) once its rounds are all emitted and
 * it is empty; returns -EAGAIN while its spill area holds items. */
static int sr_pool_unhold(struct sr_pool_worker *w)
{
	unsigned k = SR_POOL_BATCH_RING(w->held);
	struct sr_spill *ring = w->rings[k];

	if (sr_spill_pending(ring))
		return -EAGAIN;
	/* The counts said the ring held no more than its rounds: any item
	 * left is a bug, and dropping it beats handing a round's items on
	 * as another's. */
	sr_pool_settle(ring);
	ring->head = ring->tail;
	w->held = 0;
	w->drop = 0;
	atomic_fetch_or_explicit(&w->recycle, 1u << k, memory_order_release); /* H2 */
	return 0;
}

SR_API int sr_pool_round(struct sr_pool *p, unsigned worker, struct sr_pool_round *r)
{
	struct sr_pool_worker *w;
	uint64_t e;

	if (worker >= p->workers || !p->order_window || !r)
		return -EINVAL;
	w = &p->w[worker];
	e = atomic_load_explicit(&w->emit, memory_order_relaxed); /* the collector's own */
	memset(r, 0, sizeof(*r));
	r->seq = e;
	for (;;) {
		if (w->held) {
			struct sr_spill *ring = w->rings[SR_POOL_BATCH_RING(w->held)];
			uint64_t want, d, h, first;
			int rc;

			if (sr_pool_before(SR_POOL_BATCH_SEQ(w->held), e)) {
				/* Its rounds are all emitted. */
				if ((rc = sr_pool_unhold(w)) < 0) {
					r->ring = ring;
					return rc;
				}
				continue;
			}
			/* Round e is in the held ring: what of its count is
			 * left, less what spilled from the ring's front. */
			want = atomic_load_explicit(&w->counts[e & p->order_mask], memory_order_relaxed) - w->part;
			d = w->drop < want ? w->drop : want;
			w->drop -= d;
			w->part += d;
			want -= d;
			sr_pool_settle(ring);
			if (want > ring->tail - ring->head)
				want = ring->tail - ring->head; /* cannot happen: the counts say otherwise */
			r->ring = ring;
			h = ring->head;
			first = ring->capacity - (h & ring->mask);
			if (first > want)
				first = want;
			/* pool.h promises NULL for a round with none left; a
			 * caller may test the pointer rather than the length. */
			r->items[0] = want ? sr_spill_slot(ring, h) : NULL;
			r->len[0] = first;
			if (want > first) {
				r->items[1] = sr_spill_slot(ring, h + first);
				r->len[1] = want - first;
			}
			return 1;
		}
		{
			/* O1: done before the exchange. */
			uint32_t done = atomic_load_explicit(&w->done, memory_order_acquire);
			uint64_t b = atomic_exchange(&w->batch, 0); /* H1 (acq_rel) */

			if (b) {
				struct sr_spill *ring = w->rings[SR_POOL_BATCH_RING(b)];
				uint64_t c = 0, len;

				for (uint64_t s = e; !sr_pool_before(SR_POOL_BATCH_SEQ(b), s); s++)
					c += atomic_load_explicit(&w->counts[s & p->order_mask], memory_order_relaxed);
				sr_pool_settle(ring);
				len = ring->tail - ring->head;
				w->held = b;
				w->drop = c > len ? c - len : 0;
				continue;
			}
			/* Ended, and published nothing (O1). Ended with a count
			 * means a later round's merge has the batch in hand:
			 * it puts it back soon. */
			if ((int32_t)(done - (uint32_t)e) >= 0 &&
			    atomic_load_explicit(&w->counts[e & p->order_mask], memory_order_relaxed) == 0)
				return 1;
			return 0;
		}
	}
}

SR_API int sr_pool_round_release(struct sr_pool *p, unsigned worker, uint64_t n)
{
	struct sr_pool_worker *w;
	struct sr_pool_round r;
	uint64_t left;
	int rc = sr_pool_round(p, worker, &r); /* so a release always matches a round that ended */

	if (rc < 0)
		return rc;
	if (rc == 0)
		return -EINVAL;
	w = &p->w[worker];
	left = r.len[0] + r.len[1];
	if (n > left)
		return -EINVAL;
	if (n) {
		r.ring->head += n;
		w->part += n;
	}
	if (n < left)
		return 0;
	w->part = 0;
	atomic_store_explicit(&w->emit, r.seq + 1, memory_order_release); /* O2 */
	if (w->held && !sr_pool_before(r.seq, SR_POOL_BATCH_SEQ(w->held)))
		sr_pool_unhold(w); /* or, its spill area not empty, at the next sr_pool_round */
	return 0;
}
