/*
 * pool_test.c - pthread tests of the worker pool's C core (pool.h) with C
 * work functions, no Go. It includes ring.c, spill.c and pool.c into one
 * translation unit with extern functions, as the Go package's csrc.c does,
 * so a clash between them shows up here first.
 *
 * Environment:
 *	SR_POOL_N	rounds per main scenario (default 4000; the slow and
 *			refusing collectors get a quarter)
 *	SR_POOL_TIMEOUT	seconds one test may take before the watchdog
 *			aborts (default 60)
 *	SR_POOL_ONLY	run only the tests whose name contains it
 *
 * The main scenarios run W workers (1 to 3) for R rounds while a collector
 * thread takes, drains and recycles their batches concurrently. Each worker
 * pushes its own increasing sequence (worker id in the high bits), 0 to 3
 * ring capacities a round, so the collector can tell a lost, duplicated or
 * reordered item from the rest; at the end the items taken, spilled (or
 * dropped) and left in the rings must add up to the pool's counters, and
 * a round that pushes nothing must leave nothing behind. Collectors: fast,
 * slow (the workers merge into untaken batches), refusing (keeps a batch
 * half drained for a while); rings that spill or discard.
 *
 * The small tests: bad configurations, -EBUSY / -EPERM / recycle errors,
 * status and sequence numbers round by round, a merge with spilled items,
 * each round's args (a copy), pinning (sched_getcpu), sr_pool_free of a
 * parked, spinning, mid-round or never-used pool (threads counted in
 * /proc/self/task; ASan's leak check sees the memory), and a two-stage
 * pipeline of C pools chained by a C collector (no Go on the item path).
 *
 * Ordered pools (order_window; "ordered" in SR_POOL_ONLY runs them all):
 * sr_pool_round / sr_pool_round_release errors and partial releases;
 * merged rounds by hand (a batch's spilled front, a round across the
 * ring's end, an item a merge left behind, a batch out of the slot
 * mid-publish); the window (-ENOSPC, changing nothing); a two-stage
 * pipeline of ordered pools whose output must come out in stage 1's order;
 * and scenarios whose workers push (round, worker, index) items, finish
 * in varying order, and are collected round by round, worker by worker,
 * by a thread while rounds run and between rounds: with rings that hold a
 * window the stream must be exactly every item in (round, worker, index)
 * order; with rings of 8 and a lagging collector, each item must come out
 * with the round whose publish moved it, and collected + spilled (or
 * dropped) must equal pushed.
 *
 * Every check aborts with a message; every test prints one "ok" line.
 *
 *	gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=thread -Wall -Wextra \
 *	    -Werror -pthread csrc/test/pool_test.c -o /tmp/pool_test && \
 *	    setarch -R /tmp/pool_test
 */
#include "../ring.c"
#include "../spill.c"
#include "../pool.c"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* --- Threads of this process, from /proc/self/task --- */

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	CHECK(d, "opendir /proc/self/task");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* pthread_join returns when the kernel clears the thread's tid, which comes
 * a moment before the task leaves /proc: wait for the count a little. */
static void expect_tasks(int want, const char *what)
{
	int n = count_tasks();

	for (int i = 0; n != want && i < 2000; i++) {
		sleep_us(1000);
		n = count_tasks();
	}
	CHECK(n == want, "%s: %d threads, want %d (a worker thread left behind)", what, n, want);
}

/* CPUs this process may run on: the pool's oversubscription rule counts
 * the same set. */
static unsigned allowed_cpus(int *first, int *second)
{
	cpu_set_t set;
	unsigned n = 0;

	*first = *second = -1;
	CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (n == 0)
			*first = c;
		else if (n == 1)
			*second = c;
		n++;
	}
	return n;
}

static struct sr_pool *mkpool(const struct sr_pool_config *cfg)
{
	int err = 1;
	struct sr_pool *p = sr_pool_new(cfg, &err);

	CHECK(p && err == 0, "sr_pool_new: %d", err);
	return p;
}

static void round_ok(struct sr_pool *p, const void *args)
{
	int rc = sr_pool_dispatch(p, args);

	CHECK(rc == 0, "dispatch: %d", rc);
	rc = sr_pool_join(p);
	CHECK(rc == 0, "join: %d", rc);
}

/* Empties a batch the caller took (ring and spill area) and hands it back. */
static uint64_t drain_all(struct sr_pool *p, unsigned i, struct sr_spill *b)
{
	uint64_t buf[64], n = 0;
	int k;

	while ((k = sr_spill_take_spilled(b, buf, 64)) > 0)
		n += (uint64_t)k;
	while ((k = sr_spill_pop_burst(b, buf, 64)) > 0)
		n += (uint64_t)k;
	CHECK(sr_pool_recycle(p, i, b) == 0, "recycle of an emptied batch");
	return n;
}

/* ===================================================================== */
/* Main scenarios: conservation, per-worker order, sequences, counters.  */
/* ===================================================================== */

#define MAXW 3
#define WSHIFT 48 /* item = worker << WSHIFT | index */

enum coll_mode {
	COLL_FAST,   /* takes as fast as it can */
	COLL_SLOW,   /* sleeps between passes: the workers merge (H3) */
	COLL_REFUSE, /* keeps every other batch half drained for a few passes */
};

struct scen {
	const char *name;
	unsigned workers;
	uint64_t cap, spill_cap;
	uint32_t flags, spin_ns;
	enum coll_mode mode;
	unsigned rounds_div; /* rounds = SR_POOL_N / rounds_div */
	unsigned pace_us;    /* the dispatcher's pause between rounds */
};

struct rargs {
	uint64_t round; /* 1-based: the pool's sequence of the round */
	uint64_t seed;  /* 0: push nothing (the flush round) */
};

/* The worker's side, written only by work_main on worker i's thread; the
 * main thread reads it after a join (D1), the collector reads cum[s] only
 * after taking a batch of sequence s (H1: written before that publish). */
struct wstate {
	uint64_t next;      /* items pushed (taken by the ring) so far */
	uint64_t *cum;      /* cum[r]: next at the end of round r */
	uint64_t last_round;
	uint64_t enobufs;   /* rounds that ended on a refused push */
	int last_status;
	uint64_t *scratch;  /* 3 * cap items for the bursts */
	char pad[64];
};

/* The collector's side: the collector thread, then (after pthread_join) the
 * main thread. */
struct cstate {
	uint8_t *seen;      /* per index: 0, 1 popped from a ring, 2 spilled */
	uint64_t ring_got, spill_got, takes;
	uint64_t last_seq;
	uint64_t last_ring; /* index of the last ring item + 1, 0 = none yet */
	uint64_t last_spill; /* index of the last spilled item + 1, 0 = none yet */
	struct sr_spill *held; /* COLL_REFUSE: a batch kept half drained */
	uint64_t held_seq;
	unsigned held_passes;
	uint64_t rng;
	char pad[64];
};

struct run {
	const struct scen *s;
	struct sr_pool *p;
	uint64_t rounds, max_items;
	_Atomic uint64_t dispatched; /* bumped before each dispatch */
	_Atomic int stop;
	struct wstate w[MAXW];
	struct cstate c[MAXW];
};

static int work_main(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct run *x = ctx;
	const struct rargs *ra = args;
	struct wstate *ws = &x->w[worker];
	uint64_t cap = x->s->cap, n, done = 0;
	uint64_t rng;
	bool full = false;

	CHECK(worker < x->s->workers && ra, "worker %u, args %p", worker, args);
	rng = (ra->seed * UINT64_C(0x9e3779b97f4a7c15) + worker) | 1;
	CHECK(ra->round == ws->last_round + 1, "worker %u ran round %" PRIu64 " after %" PRIu64, worker,
	      ra->round, ws->last_round);
	ws->last_round = ra->round;
	/* 0 .. 3 * capacity: rings overflow into the spill area, and the
	 * area fills too (-ENOBUFS) when the ring started non-empty. */
	n = ra->seed ? rnd(&rng) % (3 * cap + 1) : 0;
	while (done < n && !full) {
		uint64_t k = n - done;

		if (rnd(&rng) & 1) {
			k = min64(k, 1 + rnd(&rng) % 8);
			for (uint64_t j = 0; j < k; j++) {
				uint64_t v = (uint64_t)worker << WSHIFT | ws->next;
				int rc = sr_spill_push(out, &v);

				if (rc == -ENOBUFS) {
					full = true;
					break;
				}
				CHECK(rc == 0 || rc == 1, "push: %d", rc);
				ws->next++;
				done++;
			}
		} else {
			int took;

			k = min64(k, 1 + rnd(&rng) % (2 * cap));
			for (uint64_t j = 0; j < k; j++)
				ws->scratch[j] = (uint64_t)worker << WSHIFT | (ws->next + j);
			took = sr_spill_push_burst(out, ws->scratch, (unsigned)k);
			CHECK(took >= 0 && (uint64_t)took <= k, "push_burst(%" PRIu64 "): %d", k, took);
			ws->next += (uint64_t)took;
			done += (uint64_t)took;
			full = (uint64_t)took < k;
		}
	}
	if (full) {
		CHECK(!(x->s->flags & SR_POOL_DISCARD), "a discarding ring refused a push");
		ws->enobufs++;
	}
	ws->cum[ra->round] = ws->next;
	ws->last_status = full;
	return full; /* sr_pool_status must give it back */
}

/* One item out of worker i's batch of sequence seq. */
static void note(struct run *x, unsigned i, uint64_t v, uint64_t seq, bool spilled)
{
	struct cstate *cs = &x->c[i];
	uint64_t idx = v & ((UINT64_C(1) << WSHIFT) - 1);

	CHECK(v >> WSHIFT == i, "worker %u's batch holds item %" PRIx64 " of another worker", i, v);
	CHECK(idx < x->max_items, "worker %u: item index %" PRIu64 " out of range", i, idx);
	/* A batch's items are never newer than its sequence says. */
	CHECK(idx < x->w[i].cum[seq], "worker %u: item %" PRIu64 " in a batch of round %" PRIu64
	      " that had pushed only %" PRIu64, i, idx, seq, x->w[i].cum[seq]);
	CHECK(!cs->seen[idx], "worker %u: item %" PRIu64 " seen twice (%s, then %s)", i, idx,
	      cs->seen[idx] == 2 ? "spilled" : "ring", spilled ? "spilled" : "ring");
	cs->seen[idx] = spilled ? 2 : 1;
	if (spilled) {
		/* Spilled items come out in push order too: a merge moves the
		 * active ring's spill area after the batch's (pool.h), and
		 * what does not fit waits for a later batch. */
		CHECK(idx + 1 > cs->last_spill, "worker %u: spilled item %" PRIu64 " after %" PRIu64, i, idx,
		      cs->last_spill - 1);
		cs->last_spill = idx + 1;
		cs->spill_got++;
	} else {
		/* Ring items come out in push order, across batches too; the
		 * spilled ones left early and are not ordered against them. */
		CHECK(idx + 1 > cs->last_ring, "worker %u: ring item %" PRIu64 " after %" PRIu64, i, idx,
		      cs->last_ring - 1);
		cs->last_ring = idx + 1;
		cs->ring_got++;
	}
}

/* Drains up to max_spill pending and max_ring ring items of batch b, in
 * chunks of random size. */
static void drain(struct run *x, unsigned i, struct sr_spill *b, uint64_t seq, uint64_t max_spill,
		  uint64_t max_ring)
{
	struct cstate *cs = &x->c[i];
	uint64_t buf[16];
	int k;

	while (max_spill) {
		k = sr_spill_take_spilled(b, buf, (unsigned)min64(max_spill, 1 + rnd(&cs->rng) % 16));
		CHECK(k >= 0, "take_spilled: %d", k);
		if (k == 0)
			break;
		for (int j = 0; j < k; j++)
			note(x, i, buf[j], seq, true);
		max_spill -= (uint64_t)k;
	}
	while (max_ring) {
		k = sr_spill_pop_burst(b, buf, (unsigned)min64(max_ring, 1 + rnd(&cs->rng) % 16));
		CHECK(k >= 0, "pop_burst: %d", k);
		if (k == 0)
			break;
		for (int j = 0; j < k; j++)
			note(x, i, buf[j], seq, false);
		max_ring -= (uint64_t)k;
	}
}

static void finish(struct run *x, unsigned i, struct sr_spill *b, uint64_t seq)
{
	unsigned nw = x->s->workers;

	drain(x, i, b, seq, UINT64_MAX, UINT64_MAX);
	CHECK(sr_spill_len(b) == 0 && sr_spill_pending(b) == 0, "drained batch not empty");
	if (nw > 1) /* an empty ring, but not that worker's */
		CHECK(sr_pool_recycle(x->p, (i + 1) % nw, b) == -EINVAL, "recycle to the wrong worker");
	CHECK(sr_pool_recycle(x->p, i, b) == 0, "recycle");
}

/* One pass over the workers; final: finish held batches, refuse nothing.
 * Returns whether it took a batch. */
static bool collect_pass(struct run *x, bool final)
{
	bool got = false;

	for (unsigned i = 0; i < x->s->workers; i++) {
		struct cstate *cs = &x->c[i];
		struct sr_spill *b;
		uint64_t seq = 0;

		if (cs->held) {
			/* H2: the worker's next batch only after this one. */
			if (!final && ++cs->held_passes < 4)
				continue;
			finish(x, i, cs->held, cs->held_seq);
			cs->held = NULL;
		}
		b = sr_pool_take(x->p, i, &seq);
		if (!b)
			continue;
		got = true;
		cs->takes++;
		/* Strictly increasing: a round publishes at most once, and a
		 * batch is taken once. */
		CHECK(seq > cs->last_seq, "worker %u: batch seq %" PRIu64 " after %" PRIu64, i, seq, cs->last_seq);
		CHECK(seq <= atomic_load(&x->dispatched), "worker %u: batch seq %" PRIu64 " > %" PRIu64
		      " rounds dispatched", i, seq, atomic_load(&x->dispatched));
		cs->last_seq = seq;
		if (x->s->mode == COLL_REFUSE && !final && cs->takes % 2) {
			/* A sink that says "not now": half of it, the rest
			 * later, and meanwhile no take from this worker. */
			drain(x, i, b, seq, sr_spill_pending(b) / 2, sr_spill_len(b) / 2);
			if (sr_spill_len(b) || sr_spill_pending(b))
				CHECK(sr_pool_recycle(x->p, i, b) == -EINVAL, "recycle of a non-empty ring");
			cs->held = b;
			cs->held_seq = seq;
			cs->held_passes = 0;
			continue;
		}
		finish(x, i, b, seq);
	}
	return got;
}

static void *collector(void *arg)
{
	struct run *x = arg;

	while (!atomic_load(&x->stop)) {
		bool got = collect_pass(x, false);

		if (x->s->mode == COLL_SLOW)
			sleep_us(300);
		else if (x->s->mode == COLL_REFUSE)
			sleep_us(50);
		else if (!got)
			sched_yield();
	}
	return NULL;
}

/* What worker i's active ring still holds (the dispatcher may look between
 * rounds): ring items, pending spilled items. */
static void active_left(struct sr_pool *p, unsigned i, uint64_t *len, uint64_t *pending)
{
	struct sr_pool_worker *w = &p->w[i];
	struct sr_spill *a = w->rings[w->active];

	*len = sr_spill_len(a);
	*pending = sr_spill_pending(a);
}

static void run(const struct scen *s, uint64_t n)
{
	struct run *x = calloc(1, sizeof(*x));
	struct sr_pool_config cfg = {
		.workers = s->workers,
		.flags = s->flags,
		.ring_capacity = s->cap,
		.elem_size = sizeof(uint64_t),
		.spill_capacity = s->spill_cap,
		.args_size = sizeof(struct rargs),
		.spin_ns = s->spin_ns,
		.work = work_main,
	};
	bool discard = s->flags & SR_POOL_DISCARD;
	uint64_t seed = 0x5eed, sum_pushed = 0, sum_spilled = 0, sum_merged = 0, sum_enobufs = 0, sum_takes = 0;
	pthread_t ct;
	double t0 = now();

	CHECK(x, "calloc");
	wd_arm(s->name);
	x->s = s;
	x->rounds = n / s->rounds_div;
	if (x->rounds < 50)
		x->rounds = 50;
	x->max_items = (x->rounds + 1) * 3 * s->cap;
	for (unsigned i = 0; i < s->workers; i++) {
		x->w[i].cum = calloc(x->rounds + 2, sizeof(uint64_t));
		x->w[i].scratch = calloc(3 * s->cap, sizeof(uint64_t));
		x->c[i].seen = calloc(x->max_items, 1);
		x->c[i].rng = rnd(&seed) | 1;
		CHECK(x->w[i].cum && x->w[i].scratch && x->c[i].seen, "calloc");
	}
	cfg.ctx = x;
	x->p = mkpool(&cfg);
	CHECK(pthread_create(&ct, NULL, collector, x) == 0, "pthread_create");

	for (uint64_t r = 1; r <= x->rounds; r++) {
		struct rargs ra = { .round = r, .seed = rnd(&seed) | 1 };

		atomic_store(&x->dispatched, r);
		round_ok(x->p, &ra);
		if (s->pace_us)
			sleep_us(s->pace_us);
		for (unsigned i = 0; i < s->workers; i++) {
			int st = sr_pool_status(x->p, i);

			CHECK(st == x->w[i].last_status, "worker %u round %" PRIu64 ": status %d, work returned %d",
			      i, r, st, x->w[i].last_status);
			CHECK(atomic_load(&x->p->w[i].done) == (uint32_t)r, "worker %u: done %u after round %" PRIu64,
			      i, atomic_load(&x->p->w[i].done), r);
		}
	}
	atomic_store(&x->stop, 1);
	CHECK(pthread_join(ct, NULL) == 0, "pthread_join");

	/* The main thread is the collector now. Everything it can take. */
	while (collect_pass(x, true))
		;
	for (unsigned i = 0; i < s->workers; i++) {
		struct sr_pool_worker *w = &x->p->w[i];
		struct cstate *cs = &x->c[i];
		uint64_t pushed = atomic_load(&w->pushed), spilled = atomic_load(&w->spilled), len, pend;

		/* pushed == taken + spilled + still in rings (pool.h): what
		 * a merge could not move, and the active ring's own spill
		 * area, wait in the active ring for its publish. */
		active_left(x->p, i, &len, &pend);
		CHECK(sr_pool_take(x->p, i, NULL) == NULL, "a batch after the final collect");
		if (discard) {
			CHECK(pend == 0 && cs->spill_got == 0, "discarding rings used their spill area");
			CHECK(pushed == cs->ring_got + spilled + len,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + dropped %" PRIu64
			      " + in ring %" PRIu64, i, pushed, cs->ring_got, spilled, len);
		} else {
			CHECK(pushed == cs->ring_got + cs->spill_got + len + pend,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + spilled %" PRIu64
			      " + in ring %" PRIu64 " + pending %" PRIu64, i, pushed, cs->ring_got,
			      cs->spill_got, len, pend);
			CHECK(spilled == cs->spill_got + pend, "worker %u: spilled %" PRIu64 " != taken %" PRIu64
			      " + pending %" PRIu64, i, spilled, cs->spill_got, pend);
		}
	}
	/* A round that pushes nothing publishes what the active rings held
	 * (H3: the collector took the last batches), and the last collect
	 * leaves nothing anywhere. */
	{
		struct rargs ra = { .round = x->rounds + 1, .seed = 0 };

		atomic_store(&x->dispatched, x->rounds + 1);
		round_ok(x->p, &ra);
		while (collect_pass(x, true))
			;
	}
	for (unsigned i = 0; i < s->workers; i++) {
		struct sr_pool_worker *w = &x->p->w[i];
		struct wstate *ws = &x->w[i];
		struct cstate *cs = &x->c[i];
		uint64_t pushed = atomic_load(&w->pushed), spilled = atomic_load(&w->spilled);
		uint64_t merged = atomic_load(&w->merged), rounds = atomic_load(&w->rounds), len, pend, seen = 0;

		active_left(x->p, i, &len, &pend);
		CHECK(len == 0 && pend == 0, "worker %u: %" PRIu64 " + %" PRIu64 " items left after the flush round",
		      i, len, pend);
		CHECK(sr_pool_take(x->p, i, NULL) == NULL, "a batch after the final collect");
		CHECK(rounds == x->rounds + 1, "worker %u ran %" PRIu64 " rounds of %" PRIu64, i, rounds,
		      x->rounds + 1);
		CHECK(pushed == ws->next, "worker %u: pushed %" PRIu64 ", the work pushed %" PRIu64, i, pushed,
		      ws->next);
		if (discard)
			CHECK(pushed == cs->ring_got + spilled && cs->spill_got == 0,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + dropped %" PRIu64, i, pushed,
			      cs->ring_got, spilled);
		else
			CHECK(pushed == cs->ring_got + cs->spill_got && spilled == cs->spill_got,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + spilled %" PRIu64
			      " (counter %" PRIu64 ")", i, pushed, cs->ring_got, cs->spill_got, spilled);
		CHECK(merged <= pushed, "worker %u: merged %" PRIu64 " > pushed %" PRIu64, i, merged, pushed);
		CHECK(cs->takes <= atomic_load(&w->published), "worker %u: %" PRIu64 " takes of %" PRIu64
		      " publishes", i, cs->takes, atomic_load(&w->published));
		/* The union is exact: every index below next seen once (no
		 * duplicates: note() refuses a second), or dropped. */
		for (uint64_t k = 0; k < ws->next; k++)
			seen += cs->seen[k] != 0;
		for (uint64_t k = ws->next; k < x->max_items; k++)
			CHECK(!cs->seen[k], "worker %u: item %" PRIu64 " seen, never pushed", i, k);
		CHECK(seen == (discard ? pushed - spilled : pushed), "worker %u: %" PRIu64 " distinct items of %"
		      PRIu64 " pushed", i, seen, pushed);
		if (s->mode == COLL_SLOW)
			CHECK(merged > 0, "worker %u: a slow collector, and no merge", i);
		if (discard)
			CHECK(ws->enobufs == 0, "discard: refused pushes");
		sum_pushed += pushed;
		sum_spilled += spilled;
		sum_merged += merged;
		sum_enobufs += ws->enobufs;
		sum_takes += cs->takes;
	}
	sr_pool_free(x->p);
	for (unsigned i = 0; i < s->workers; i++) {
		free(x->w[i].cum);
		free(x->w[i].scratch);
		free(x->c[i].seen);
	}
	printf("ok %-18s rounds %5" PRIu64 " pushed %7" PRIu64 " spilled %6" PRIu64 " merged %6" PRIu64
	       " full %4" PRIu64 " takes %5" PRIu64 " %.2fs\n",
	       s->name, x->rounds, sum_pushed, sum_spilled, sum_merged, sum_enobufs, sum_takes, now() - t0);
	free(x);
}

/* ===================================================================== */
/* Error cases, status, sequences.                                       */
/* ===================================================================== */

struct rec_args {
	uint64_t a, b;
};

struct basic_ctx {
	_Atomic uint64_t push[MAXW]; /* items worker i pushes next round */
	_Atomic int ret_plus7;       /* nonzero: the work returns worker + 7 */
};

static int work_basic(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct basic_ctx *c = ctx;
	uint64_t n = atomic_load(&c->push[worker]);

	CHECK(args == NULL, "args_size 0 and args %p", args);
	for (uint64_t j = 0; j < n; j++) {
		uint64_t v = (uint64_t)worker << WSHIFT | j;

		CHECK(sr_spill_push(out, &v) >= 0, "push");
	}
	return atomic_load(&c->ret_plus7) ? (int)worker + 7 : 0;
}

static void expect_einval(const struct sr_pool_config *cfg, const char *what)
{
	int err = 0;
	struct sr_pool *p = sr_pool_new(cfg, &err);

	CHECK(!p && err == -EINVAL, "sr_pool_new with %s: %p, %d", what, (void *)p, err);
}

static void test_errors(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config good = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .work = work_basic, .ctx = &c,
	};
	struct sr_pool_config cfg;
	int32_t cpus_bad[2] = { 0, -1 }, cpus_big[2] = { 0, CPU_SETSIZE };
	int tasks = count_tasks(), err = 0, rc;
	struct sr_pool *p;
	struct sr_spill *b, *foreign;
	struct sr_spill_config sc = { .capacity = 8, .elem_size = 8 };
	uint64_t seq = 0, v, buf[16];

	wd_arm("errors");
	CHECK(sr_pool_new(NULL, &err) == NULL && err == -EINVAL, "NULL config: %d", err);
	cfg = good, cfg.workers = 0;
	expect_einval(&cfg, "0 workers");
	cfg = good, cfg.workers = SR_POOL_MAX_WORKERS + 1;
	expect_einval(&cfg, "too many workers");
	cfg = good, cfg.ring_capacity = 6;
	expect_einval(&cfg, "capacity 6");
	cfg = good, cfg.ring_capacity = 0;
	expect_einval(&cfg, "capacity 0");
	cfg = good, cfg.elem_size = 0;
	expect_einval(&cfg, "elem_size 0");
	cfg = good, cfg.work = NULL;
	expect_einval(&cfg, "NULL work");
	cfg = good, cfg.cpus = cpus_bad;
	expect_einval(&cfg, "cpu -1");
	cfg = good, cfg.cpus = cpus_big;
	expect_einval(&cfg, "cpu CPU_SETSIZE");
	cfg = good, cfg.flags = 1u << 31;
	expect_einval(&cfg, "flags 1 << 31");
	cfg = good, cfg.flags = ~0u;
	expect_einval(&cfg, "flags ~0");
	cfg = good, cfg.spin_ns = SR_POOL_MAX_SPIN_NS + 1;
	expect_einval(&cfg, "spin_ns too long");
	cfg = good, cfg.args_size = SR_POOL_MAX_ARGS + 1;
	expect_einval(&cfg, "args_size too big");
	expect_tasks(tasks, "failed sr_pool_new");
	{
		/* A CPU that passes the check but that this process may not
		 * use: pthread_create fails for worker 1 after worker 0 has
		 * started, and sr_pool_new must stop and join that one. */
		int c0, c1, bad = -1;
		cpu_set_t set;
		int32_t cpus_off[2];

		allowed_cpus(&c0, &c1);
		CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity");
		for (int k = CPU_SETSIZE - 1; k >= 0 && bad < 0; k--)
			if (!CPU_ISSET(k, &set))
				bad = k;
		if (bad >= 0) {
			cpus_off[0] = c0;
			cpus_off[1] = bad;
			cfg = good, cfg.cpus = cpus_off;
			err = 0;
			p = sr_pool_new(&cfg, &err);
			CHECK(!p && err < 0, "worker 1 pinned to CPU %d outside the affinity mask: %p, %d", bad,
			      (void *)p, err);
			expect_tasks(tasks, "sr_pool_new failing on its second thread");
		}
	}
	sr_pool_free(NULL);

	p = mkpool(&good);
	CHECK(sr_pool_join(p) == -EPERM, "join before any dispatch");
	atomic_store(&c.push[0], 3);
	atomic_store(&c.push[1], 3);
	CHECK(sr_pool_dispatch(p, NULL) == 0, "dispatch");
	rc = sr_pool_dispatch(p, NULL);
	CHECK(rc == -EBUSY, "second dispatch before the join: %d", rc);
	CHECK(sr_pool_join(p) == 0, "join");
	CHECK(sr_pool_join(p) == -EPERM, "second join");
	CHECK(sr_pool_status(p, 2) == -EINVAL, "status of worker 2 of 2");
	CHECK(sr_pool_take(p, 2, &seq) == NULL, "take from worker 2 of 2");
	/* The refused dispatch changed nothing: this was round 1. */
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 1 && sr_spill_len(b) == 3, "take: seq %" PRIu64, seq);

	/* Recycle: only an empty ring, only to its worker. */
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle of a ring with 3 items");
	CHECK(sr_spill_pop(b, &v) == 0 && v == 0, "pop");
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle of a ring with 2 items");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 2, "pop_burst");
	CHECK(sr_pool_recycle(p, 1, b) == -EINVAL, "recycle to the other worker");
	CHECK(sr_pool_recycle(p, 2, b) == -EINVAL, "recycle to worker 2 of 2");
	CHECK(sr_pool_recycle(p, 0, NULL) == -EINVAL, "recycle of NULL");
	foreign = sr_spill_new(&sc, &err);
	CHECK(foreign, "sr_spill_new");
	CHECK(sr_pool_recycle(p, 0, foreign) == -EINVAL, "recycle of a ring not the pool's");
	sr_spill_release(foreign);
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");

	/* A batch whose spill area is not empty is not empty either. */
	atomic_store(&c.push[0], 12); /* capacity 8: 4 spill */
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 2 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 4, "take: seq %" PRIu64, seq);
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8, "pop_burst");
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle with 4 spilled items pending");
	CHECK(sr_spill_take_spilled(b, buf, 16) == 4 && buf[0] == 0 && buf[3] == 3, "take_spilled");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	sr_pool_free(p);
	expect_tasks(tasks, "sr_pool_free");
	printf("ok errors\n");
}

/* Status per worker and round; sequences stamped at publish (pool.h):
 * exactly the round that published, kept by an untaken batch through a
 * round with nothing to merge, renewed by a merge. */
static void test_status_seq(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config cfg = {
		.workers = 3, .ring_capacity = 8, .elem_size = 8, .work = work_basic, .ctx = &c,
	};
	struct sr_pool *p;
	struct sr_spill *b;
	uint64_t seq, buf[16];

	wd_arm("status-seq");
	p = mkpool(&cfg);
	for (unsigned r = 1; r <= 6; r++) {
		atomic_store(&c.ret_plus7, r % 2);
		round_ok(p, NULL);
		for (unsigned i = 0; i < 3; i++) {
			int st = sr_pool_status(p, i);

			CHECK(st == (r % 2 ? (int)i + 7 : 0), "round %u worker %u: status %d", r, i, st);
		}
	}
	atomic_store(&c.ret_plus7, 0);

	/* Rounds 1-6 pushed nothing: nothing published. */
	for (unsigned i = 0; i < 3; i++)
		CHECK(sr_pool_take(p, i, &seq) == NULL, "a batch of nothing");
	/* Round 7: 3 items each; take worker 0's only. */
	for (unsigned i = 0; i < 3; i++)
		atomic_store(&c.push[i], 3);
	round_ok(p, NULL);
	seq = 0;
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 7, "round 7's batch: seq %" PRIu64, seq);
	CHECK(drain_all(p, 0, b) == 3, "3 items");
	/* Round 8: worker 1 pushes 2 more (merged into its round-7 batch),
	 * worker 2 nothing (its batch stays as it was). */
	atomic_store(&c.push[0], 1);
	atomic_store(&c.push[1], 2);
	atomic_store(&c.push[2], 0);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[1].merged) == 2 && atomic_load(&p->w[2].merged) == 0, "merged counters");
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 8 && drain_all(p, 0, b) == 1, "worker 0, round 8: seq %" PRIu64, seq);
	b = sr_pool_take(p, 1, &seq);
	CHECK(b && seq == 8 && sr_spill_len(b) == 5, "worker 1 merged: seq %" PRIu64, seq);
	/* FIFO through the merge: round 7's items, then round 8's. */
	CHECK(sr_spill_pop_burst(b, buf, 16) == 5 && buf[0] == (UINT64_C(1) << WSHIFT | 0) &&
	      buf[2] == (UINT64_C(1) << WSHIFT | 2) && buf[3] == (UINT64_C(1) << WSHIFT | 0) &&
	      buf[4] == (UINT64_C(1) << WSHIFT | 1), "merge order");
	CHECK(sr_pool_recycle(p, 1, b) == 0, "recycle");
	b = sr_pool_take(p, 2, &seq);
	CHECK(b && seq == 7 && drain_all(p, 2, b) == 3, "worker 2 untouched: seq %" PRIu64, seq);
	/* Round 9 pushes nothing: nothing new. Round 10 pushes: seq 10. */
	atomic_store(&c.push[0], 0);
	atomic_store(&c.push[1], 0);
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(sr_pool_take(p, i, &seq) == NULL, "round 9 published");
	atomic_store(&c.push[2], 1);
	round_ok(p, NULL);
	b = sr_pool_take(p, 2, &seq);
	CHECK(b && seq == 10 && drain_all(p, 2, b) == 1, "round 10: seq %" PRIu64, seq);
	CHECK(sr_pool_take(p, 0, &seq) == NULL && sr_pool_take(p, 1, &seq) == NULL, "empty rounds published");
	sr_pool_free(p);
	printf("ok status-seq\n");
}

/* A merge moves the active ring's items into the untaken batch, then its
 * spill area into the batch's, as far as that has room (pool.h); what is
 * left waits in the active ring, and the next publish sends the ring even
 * if it holds only spilled items. */
static void test_merge_spill(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config cfg = {
		.workers = 1, .ring_capacity = 8, .elem_size = 8, .spill_capacity = 2, .work = work_basic,
		.ctx = &c,
	};
	struct sr_pool *p;
	struct sr_spill *b;
	uint64_t seq, buf[16], len, pend;

	wd_arm("merge-spill");
	p = mkpool(&cfg);
	atomic_store(&c.push[0], 1); /* round 1: item 0, left untaken */
	round_ok(p, NULL);
	/* Round 2: items 0..9 into an empty ring of 8: 0 and 1 spill and
	 * fill the active ring's area of 2; 2..9 merge into the batch, whose
	 * round-1 item spills to make room; then round 2's 0 moves into the
	 * batch's area, which is full then, and 1 stays behind. */
	atomic_store(&c.push[0], 10);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[0].merged) == 8 && atomic_load(&p->w[0].spilled) == 3, "merged %" PRIu64
	      " spilled %" PRIu64, atomic_load(&p->w[0].merged), atomic_load(&p->w[0].spilled));
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 2 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 2, "merged batch: seq %" PRIu64
	      " len %" PRIu64 " pending %" PRIu64, seq, b ? sr_spill_len(b) : 0, b ? sr_spill_pending(b) : 0);
	/* Oldest first: round 1's 0, then round 2's 0. */
	CHECK(sr_spill_take_spilled(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 0, "spilled");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8 && buf[0] == 2 && buf[7] == 9, "round 2's 2..9");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	/* Round 3 pushes nothing; the active ring holds only item 1 in its
	 * spill area, and it goes out now (H3). */
	atomic_store(&c.push[0], 0);
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 3, "a ring with only spilled items was not published");
	CHECK(sr_spill_len(b) == 0 && sr_spill_take_spilled(b, buf, 16) == 1 && buf[0] == 1, "round 2's item 1");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	CHECK(atomic_load(&p->w[0].pushed) == 11, "pushed %" PRIu64, atomic_load(&p->w[0].pushed));

	/* Round 4: 0..9 again, published (the collector took the last
	 * batch): 0 and 1 in its area, 2..9 in its ring. Round 5 pushes 0
	 * and 1, untaken: the batch's ring and area are full, nothing
	 * merges, and the two wait in the active ring; the batch still takes
	 * round 5's sequence (its items are older than it says, never newer). */
	atomic_store(&c.push[0], 10);
	round_ok(p, NULL);
	atomic_store(&c.push[0], 2);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[0].merged) == 8, "merged %" PRIu64, atomic_load(&p->w[0].merged));
	active_left(p, 0, &len, &pend);
	CHECK(len == 2 && pend == 0, "active ring: %" PRIu64 " + %" PRIu64, len, pend);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 5 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 2, "round 5: seq %" PRIu64
	      " len %" PRIu64 " pending %" PRIu64, seq, b ? sr_spill_len(b) : 0, b ? sr_spill_pending(b) : 0);
	CHECK(sr_spill_take_spilled(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 1, "round 4's spilled 0, 1");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8 && buf[0] == 2 && buf[7] == 9, "round 4's 2..9");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	/* Round 6 pushes nothing and publishes round 5's two. */
	atomic_store(&c.push[0], 0);
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 6 && sr_spill_len(b) == 2 && sr_spill_pending(b) == 0, "round 6");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 1, "round 5's 0, 1");
	CHECK(atomic_load(&p->w[0].pushed) == 23, "pushed %" PRIu64, atomic_load(&p->w[0].pushed));
	sr_pool_free(p); /* with a batch in the collector's hands */
	printf("ok merge-spill\n");
}

/* ===================================================================== */
/* args: each round's copy, not the caller's struct.                     */
/* ===================================================================== */

#define ARGS_ROUNDS 200

struct args_ctx {
	_Atomic uint64_t mutated; /* the round whose args the caller has overwritten */
	struct rec_args seen[MAXW][ARGS_ROUNDS + 2];
};

static int work_args(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct args_ctx *c = ctx;
	const struct rec_args *a = args;
	uint64_t r;

	(void)out;
	CHECK(a, "args_size 16 and args NULL");
	/* The round is in b's low bits; wait until the caller has clobbered
	 * its struct, so reading the args now tells copy from pointer. */
	r = a->b & 0xffff;
	CHECK(r >= 1 && r <= ARGS_ROUNDS + 1, "round %" PRIu64 " in args", r);
	while (atomic_load(&c->mutated) != r)
		sched_yield();
	c->seen[worker][r] = *a;
	return 0;
}

static void test_args(void)
{
	struct args_ctx *c = calloc(1, sizeof(*c));
	const struct sr_pool_config cfg = {
		.workers = 3, .ring_capacity = 4, .elem_size = 8, .args_size = sizeof(struct rec_args),
		.work = work_args, .ctx = c, .spin_ns = 10000,
	};
	struct sr_pool *p;
	struct rec_args a;

	CHECK(c, "calloc");
	wd_arm("args");
	p = mkpool(&cfg);
	for (uint64_t r = 1; r <= ARGS_ROUNDS; r++) {
		a.a = r * UINT64_C(0x9e3779b97f4a7c15);
		a.b = ~r << 16 | r;
		CHECK(sr_pool_dispatch(p, &a) == 0, "dispatch");
		a.a = a.b = UINT64_C(0xdeadbeefdeadbeef);
		atomic_store(&c->mutated, r);
		CHECK(sr_pool_join(p) == 0, "join");
		for (unsigned i = 0; i < 3; i++)
			CHECK(c->seen[i][r].a == r * UINT64_C(0x9e3779b97f4a7c15) && c->seen[i][r].b == (~r << 16 | r),
			      "worker %u round %" PRIu64 ": args %" PRIx64 " %" PRIx64, i, r, c->seen[i][r].a,
			      c->seen[i][r].b);
	}
	/* args NULL: the round sees p->args as it is, the last round's... */
	memset(c->seen, 0, sizeof(c->seen));
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(c->seen[i][ARGS_ROUNDS].a == ARGS_ROUNDS * UINT64_C(0x9e3779b97f4a7c15) &&
		      c->seen[i][ARGS_ROUNDS].b == (~(uint64_t)ARGS_ROUNDS << 16 | ARGS_ROUNDS),
		      "worker %u, args NULL: %" PRIx64 " %" PRIx64, i, c->seen[i][ARGS_ROUNDS].a,
		      c->seen[i][ARGS_ROUNDS].b);
	/* ...or what the dispatcher wrote there since the join. */
	a.a = 42;
	a.b = ARGS_ROUNDS + 1;
	memcpy(p->args, &a, sizeof(a));
	atomic_store(&c->mutated, ARGS_ROUNDS + 1);
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(c->seen[i][ARGS_ROUNDS + 1].a == 42 && c->seen[i][ARGS_ROUNDS + 1].b == ARGS_ROUNDS + 1,
		      "worker %u, p->args written: %" PRIx64 " %" PRIx64, i, c->seen[i][ARGS_ROUNDS + 1].a,
		      c->seen[i][ARGS_ROUNDS + 1].b);
	sr_pool_free(p);
	free(c);
	printf("ok args\n");
}

/* ===================================================================== */
/* Pinning: each worker runs on its CPU.                                 */
/* ===================================================================== */

#define PIN_ROUNDS 20

struct pin_ctx {
	const int32_t *cpus;
	int cpu[2][PIN_ROUNDS];
	int round; /* the dispatcher's, read by workers after G1 */
};

static int work_pin(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct pin_ctx *c = ctx;
	int *rec = &c->cpu[worker][c->round];

	(void)out, (void)args;
	/* A few times, yielding between: a migration would show up on a
	 * later call. The first CPU other than the pinned one sticks. */
	*rec = sched_getcpu();
	for (int k = 0; k < 3 && *rec == c->cpus[worker]; k++) {
		sched_yield();
		*rec = sched_getcpu();
	}
	return 0;
}

static void pin_run(const int32_t *cpus, unsigned workers)
{
	struct pin_ctx c = { .cpus = cpus };
	const struct sr_pool_config cfg = {
		.workers = workers, .ring_capacity = 4, .elem_size = 8, .cpus = cpus,
		.work = work_pin, .ctx = &c,
	};
	struct sr_pool *p = mkpool(&cfg);

	for (int r = 0; r < PIN_ROUNDS; r++) {
		c.round = r;
		round_ok(p, NULL);
		for (unsigned i = 0; i < workers; i++)
			CHECK(c.cpu[i][r] == cpus[i], "worker %u pinned to CPU %d ran on %d", i, cpus[i], c.cpu[i][r]);
	}
	sr_pool_free(p);
}

static void test_pin(void)
{
	int c0, c1;
	unsigned n = allowed_cpus(&c0, &c1);
	int32_t one[1] = { c0 }, two[2] = { c0, c1 };

	wd_arm("pin");
	CHECK(n >= 1 && c0 >= 0, "no CPU allowed");
	pin_run(one, 1);
	if (n >= 2) {
		pin_run(two, 2);
		two[0] = c1, two[1] = c0;
		pin_run(two, 2);
	}
	printf("ok pin (CPU %d%s%d)\n", c0, n >= 2 ? " and " : "", n >= 2 ? c1 : c0);
}

/* ===================================================================== */
/* sr_pool_free: parked, spinning, mid-round, never dispatched.          */
/* ===================================================================== */

struct free_ctx {
	unsigned sleep_ms;
	_Atomic unsigned started, finished;
	_Atomic unsigned exited; /* worker threads past their TLS destructors */
};

/* A thread-specific value's destructor runs as its thread exits, before a
 * pthread_join of it returns: a free that joins its workers returns only
 * after every worker that ran a round has counted itself here. */
static pthread_key_t exit_key;

static void count_exit(void *v)
{
	atomic_fetch_add((_Atomic unsigned *)v, 1);
}

static void expect_exited(struct free_ctx *c, unsigned workers, const char *what)
{
	CHECK(atomic_load(&c->exited) == workers, "%s: sr_pool_free returned, %u of %u workers exited", what,
	      atomic_load(&c->exited), workers);
	atomic_store(&c->exited, 0);
}

static int work_free(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct free_ctx *c = ctx;
	uint64_t v = worker;

	(void)args;
	if (!pthread_getspecific(exit_key))
		CHECK(pthread_setspecific(exit_key, (void *)&c->exited) == 0, "pthread_setspecific");
	atomic_fetch_add(&c->started, 1);
	if (c->sleep_ms)
		sleep_us((long)c->sleep_ms * 1000);
	CHECK(sr_spill_push(out, &v) >= 0, "push");
	atomic_fetch_add(&c->finished, 1);
	return 0;
}

static void wait_parked(struct sr_pool *p)
{
	for (int k = 0; k < 2000; k++) {
		bool all = true;

		for (unsigned i = 0; i < p->workers; i++)
			all &= atomic_load(&p->w[i].parked) == 1;
		if (all)
			return;
		sleep_us(1000);
	}
	for (unsigned i = 0; i < p->workers; i++)
		CHECK(atomic_load(&p->w[i].parked) == 1, "worker %u not parked after 2 s", i);
}

static void test_free(void)
{
	int c0, c1;
	unsigned ncpu = allowed_cpus(&c0, &c1);
	struct free_ctx c = { 0 };
	struct sr_pool_config cfg = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .work = work_free, .ctx = &c,
	};
	int tasks = count_tasks();
	struct sr_pool *p;
	uint64_t seq;
	double t0, t_spin;

	wd_arm("free");
	CHECK(pthread_key_create(&exit_key, count_exit) == 0, "pthread_key_create");
	/* Never dispatched, freed at once: the threads may not even wait yet. */
	for (unsigned k = 0; k < 20; k++) {
		cfg.workers = 1 + k % 3;
		p = mkpool(&cfg);
		CHECK(count_tasks() >= tasks + (int)cfg.workers, "threads of a new pool");
		sr_pool_free(p);
		expect_tasks(tasks, "free of a new pool");
	}

	/* Parked: a short spin, a long pause; free wakes the sleepers (S1).
	 * Worker 0's batch is still in the collector's hands: the pool frees
	 * that ring too (ASan's leak check). */
	cfg.workers = 3;
	cfg.spin_ns = 1000;
	p = mkpool(&cfg);
	for (int r = 1; r <= 2; r++) {
		wait_parked(p);
		round_ok(p, NULL);
	}
	/* Round 2's wait was a sleep, counted before the work ran. */
	for (unsigned i = 0; i < cfg.workers; i++)
		CHECK(atomic_load(&p->w[i].park_ns) > 0, "worker %u slept 0 ns", i);
	CHECK(sr_pool_take(p, 0, &seq) != NULL && seq == 2, "take");
	wait_parked(p);
	sr_pool_free(p);
	expect_exited(&c, cfg.workers, "parked");
	expect_tasks(tasks, "free of a parked pool");

	/* Spinning: 50 ms spins (oversubscribed or not), freed right after
	 * a join, while the workers spin for the next round. */
	cfg.workers = 2;
	cfg.spin_ns = 50000000;
	cfg.flags = SR_POOL_SPIN_OVERSUBSCRIBED;
	p = mkpool(&cfg);
	CHECK(p->spin_ns == 50000000 && !(p->flags & SR_POOL_YIELDS), "spin_ns %u with SR_POOL_SPIN_OVERSUBSCRIBED", p->spin_ns);
	round_ok(p, NULL);
	round_ok(p, NULL);
	t0 = now();
	sr_pool_free(p);
	t_spin = now() - t0;
	expect_exited(&c, cfg.workers, "spinning");
	expect_tasks(tasks, "free of a spinning pool");
	/* Without the flag, spin only if a CPU is left for the dispatcher;
	 * otherwise the waits yield at each poll (SR_POOL_YIELDS). */
	cfg.flags = 0;
	cfg.workers = ncpu;
	p = mkpool(&cfg);
	CHECK(p->flags & SR_POOL_YIELDS, "%u workers on %u CPUs: waits do not yield", cfg.workers, ncpu);
	round_ok(p, NULL);
	sr_pool_free(p);
	expect_exited(&c, cfg.workers, "yield rule");
	if (ncpu >= 2) {
		cfg.workers = ncpu - 1;
		p = mkpool(&cfg);
		CHECK(p->spin_ns == 50000000 && !(p->flags & SR_POOL_YIELDS), "%u workers on %u CPUs: spin_ns %u, flags %#x",
		      cfg.workers, ncpu, p->spin_ns, p->flags);
		round_ok(p, NULL);
		sr_pool_free(p);
		expect_exited(&c, cfg.workers, "spin rule");
	}
	expect_tasks(tasks, "free after the spin rule");

	/* Mid-round: the work sleeps 20 ms; free right after the dispatch,
	 * and once more after every worker has started. The round finishes
	 * first (S1), every work function returns. */
	cfg.workers = 3;
	cfg.spin_ns = 0;
	c.sleep_ms = 20;
	for (int k = 0; k < 2; k++) {
		atomic_store(&c.started, 0);
		atomic_store(&c.finished, 0);
		p = mkpool(&cfg);
		CHECK(sr_pool_dispatch(p, NULL) == 0, "dispatch");
		while (k == 1 && atomic_load(&c.started) < cfg.workers)
			sched_yield();
		sr_pool_free(p);
		CHECK(atomic_load(&c.finished) == cfg.workers, "free returned with %u of %u work functions done",
		      atomic_load(&c.finished), cfg.workers);
		expect_exited(&c, cfg.workers, "mid-round");
		expect_tasks(tasks, "free mid-round");
	}
	CHECK(pthread_key_delete(exit_key) == 0, "pthread_key_delete");
	printf("ok free (spinning pool freed in %.1f ms)\n", t_spin * 1e3);
}

/* ===================================================================== */

/* ===================================================================== */
/* C all the way: two pools chained by a C collector, no Go anywhere.    */
/* ===================================================================== */

#define PIPE_ITEMS 40 /* per stage-1 worker per round */
#define PIPE_MAX (2 * PIPE_ITEMS * 2)

/* Stage 1: worker w of round r makes the records r << 32 | w << 16 | i. */
static int pipe_parse(struct sr_spill *out, unsigned w, const void *args, void *ctx)
{
	uint64_t r = *(const uint64_t *)args;

	(void)ctx;
	for (uint64_t i = 0; i < PIPE_ITEMS; i++)
		if (sr_spill_push(out, &(uint64_t){ r << 32 | (uint64_t)w << 16 | i }) < 0)
			return 1;
	return 0;
}

/* Stage 2's input: what the collector took from stage 1, written before the
 * dispatch that hands it over (G1 orders it). */
struct pipe_in {
	uint64_t n;
	uint64_t v[PIPE_MAX];
};

/* Stage 2: worker w transforms the records at w, w + 3, ... */
static int pipe_transform(struct sr_spill *out, unsigned w, const void *args, void *ctx)
{
	const struct pipe_in *in = ctx;

	(void)args;
	for (uint64_t j = w; j < in->n; j += 3)
		if (sr_spill_push(out, &(uint64_t){ in->v[j] * 2 + 1 }) < 0)
			return 1;
	return 0;
}

/* Takes every batch of p into v (at most max items); returns the count. */
static uint64_t pipe_collect(struct sr_pool *p, unsigned workers, uint64_t *v, uint64_t max)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < workers; i++) {
		struct sr_spill *b = sr_pool_take(p, i, NULL);
		int k;

		if (!b)
			continue;
		CHECK(sr_spill_pending(b) == 0, "pipeline: stage rings never spill here");
		while ((k = sr_spill_pop_burst(b, v + n, (unsigned)(max - n))) > 0)
			n += (uint64_t)k;
		CHECK(sr_spill_len(b) == 0, "pipeline: more than %" PRIu64 " items", max);
		CHECK(sr_pool_recycle(p, i, b) == 0, "pipeline: recycle");
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_pipeline(uint64_t rounds)
{
	static struct pipe_in in;
	uint64_t out[PIPE_MAX], want[PIPE_MAX];
	struct sr_pool_config c1 = { .workers = 2, .ring_capacity = 64, .elem_size = 8,
				     .args_size = sizeof(uint64_t), .spin_ns = 20000, .work = pipe_parse };
	struct sr_pool_config c2 = { .workers = 3, .ring_capacity = 64, .elem_size = 8,
				     .spin_ns = 20000, .work = pipe_transform, .ctx = &in };
	struct sr_pool *p1, *p2;

	wd_arm("pipeline");
	p1 = mkpool(&c1);
	p2 = mkpool(&c2);
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t n;

		round_ok(p1, &r);
		in.n = pipe_collect(p1, c1.workers, in.v, PIPE_MAX);
		CHECK(in.n == 2 * PIPE_ITEMS, "pipeline round %" PRIu64 ": stage 1 gave %" PRIu64, r, in.n);
		round_ok(p2, NULL);
		n = pipe_collect(p2, c2.workers, out, PIPE_MAX);
		CHECK(n == in.n, "pipeline round %" PRIu64 ": stage 2 gave %" PRIu64 " of %" PRIu64, r, n, in.n);
		/* Every record of the round, transformed, exactly once. */
		for (uint64_t j = 0; j < n; j++)
			want[j] = (r << 32 | (j / PIPE_ITEMS) << 16 | (j % PIPE_ITEMS)) * 2 + 1;
		qsort(out, n, sizeof(out[0]), cmp_u64);
		for (uint64_t j = 0; j < n; j++)
			CHECK(out[j] == want[j], "pipeline round %" PRIu64 ": item %" PRIu64 " is %#" PRIx64 ", want %#" PRIx64,
			      r, j, out[j], want[j]);
	}
	for (unsigned i = 0; i < c1.workers; i++)
		CHECK(sr_pool_status(p1, i) == 0, "stage 1 worker %u failed", i);
	for (unsigned i = 0; i < c2.workers; i++)
		CHECK(sr_pool_status(p2, i) == 0, "stage 2 worker %u failed", i);
	sr_pool_free(p2);
	sr_pool_free(p1);
	printf("ok pipeline (%" PRIu64 " rounds, 2 + 3 workers, C only)\n", rounds);
}

/* ===================================================================== */
/* Ordered pools (order_window): each round's items, of every worker,    */
/* handed on before the next round's, whatever order the workers finish */
/* in (pool.h, Ordering, O1-O3).                                         */
/* ===================================================================== */

/* An ordered test's item: the round that pushed it, its worker, and the
 * worker's own count of pushes before it (or, where a test says so, its
 * place in the round), so the collector can tell a late, early, foreign,
 * lost or duplicated item from the rest. */
#define ORD_ITEM(r, w, i) ((uint64_t)(r) << 40 | (uint64_t)(w) << 32 | (uint64_t)(i))
#define ORD_ROUND(v) ((v) >> 40)
#define ORD_WORKER(v) ((unsigned)((v) >> 32 & 0xff))
#define ORD_INDEX(v) ((v) & UINT64_C(0xffffffff))

static uint64_t mix64(uint64_t h) /* splitmix64's finalizer */
{
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	return h ^ (h >> 31);
}

/* Item k of what sr_pool_round described, across its two spans. */
static uint64_t ord_at(const struct sr_pool_round *r, uint64_t k)
{
	if (k < r->len[0])
		return ((const uint64_t *)r->items[0])[k];
	return ((const uint64_t *)r->items[1])[k - r->len[0]];
}

struct ord_scen {
	const char *name;
	unsigned workers;
	uint32_t window;
	uint64_t cap, spill_cap;
	uint32_t flags, spin_ns;
	unsigned maxn;       /* items a worker pushes in a round, at most */
	bool exact;          /* rings hold window * maxn: nothing spills, every item comes out */
	bool slow;           /* a collector thread that lags: workers merge, rings spill */
	unsigned rounds_div; /* rounds = SR_POOL_N / rounds_div */
};

/* A worker's side: written by work_ord on its thread; the collector reads
 * cum only for items it got (written before the publish that moved them,
 * H1), the main thread everything after the last join (D1). */
struct ord_w {
	uint64_t next;    /* items pushed (taken by the ring) so far */
	uint64_t last;    /* the last round run */
	uint64_t *cum;    /* cum[r]: next at the end of round r */
	uint64_t *front;  /* front[r]: next less what the active ring still held
			   * after round r's publish: every item below it had
			   * left the active ring, moved into the slot or spilled */
	uint64_t carried; /* rounds that began with items a merge could not move */
	uint64_t enobufs; /* rounds that ended on a refused push */
	char pad[64];
};

/* The collector's side, per worker: the collector thread's, then (after
 * pthread_join) the main thread's. */
struct ord_c {
	uint64_t last;       /* index of the last ring item + 1 */
	uint64_t last_spill; /* index of the last spilled item + 1 */
	uint64_t rgot;       /* items of the round being handed on, so far */
	uint64_t got, spill_got, partial;
	uint8_t *seen;       /* per index: 0, 1 handed on with a round, 2 spilled */
	uint32_t *emitted;   /* per index: the round it was handed on with */
	char pad[64];
};

struct ord {
	const struct ord_scen *s;
	struct sr_pool *p;
	uint64_t seed, rounds, max_items, max_rounds;
	_Atomic int stop;
	_Atomic uint32_t *fin;  /* fin[r]: workers that finished round r (tickets) */
	_Atomic uint64_t first; /* rounds worker 0 finished first */
	/* The collector's cursor, one thread at a time: round e, worker j. */
	uint64_t e;
	unsigned j;
	uint64_t rng, refused;
	struct ord_w w[MAXW];
	struct ord_c c[MAXW];
};

/* Items worker w pushes in round r: none in a quarter of the rounds (and
 * in the flush rounds after the last), else 1 .. maxn. */
static uint64_t ord_count(const struct ord *x, uint64_t r, unsigned w)
{
	uint64_t h = mix64(x->seed ^ r * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)(w + 1) << 56);

	if (r > x->rounds || h % 4 == 0)
		return 0;
	return 1 + (h >> 8) % x->s->maxn;
}

static int work_ord(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct ord *x = ctx;
	struct ord_w *ws = &x->w[worker];
	uint64_t r = *(const uint64_t *)args, n = ord_count(x, r, worker), left = sr_spill_len(out);
	uint64_t h = mix64(x->seed + r * 31 + worker);

	CHECK(r == ws->last + 1 && r < x->max_rounds, "%s: worker %u ran round %" PRIu64 " after %" PRIu64,
	      x->s->name, worker, r, ws->last);
	ws->last = r;
	ws->front[r - 1] = ws->next - left;
	if (left) {
		/* Only a merge that found the batch's spill area full leaves
		 * items behind; a discarding ring always takes them. */
		CHECK(!x->s->exact && !(x->s->flags & SR_POOL_DISCARD), "%s: worker %u: round %" PRIu64
		      " began with %" PRIu64 " items in the active ring", x->s->name, worker, r, left);
		ws->carried++;
	}
	/* Now and then a worker is late, so that the workers finish in a
	 * different order from round to round. */
	if (h % 16 == 0) {
		sleep_us(20 + (long)(h >> 8) % 60);
	} else if (h % 16 < 3) {
		double until = now() + (double)((h >> 8) % 20) * 1e-6;

		while (now() < until)
			;
	}
	for (uint64_t i = 0; i < n; i++) {
		int rc = sr_spill_push(out, &(uint64_t){ ORD_ITEM(r, worker, ws->next) });

		if (rc == -ENOBUFS) {
			CHECK(!x->s->exact, "%s: refused push", x->s->name);
			ws->enobufs++;
			break;
		}
		CHECK(rc == 0 || (rc == 1 && !x->s->exact), "%s: push: %d", x->s->name, rc);
		ws->next++;
	}
	ws->cum[r] = ws->next;
	if (atomic_fetch_add(&x->fin[r], 1) == 0 && worker == 0)
		atomic_fetch_add(&x->first, 1);
	return 0;
}

/* Item v out of worker j's ring, handed on with round e. */
static void ord_note(struct ord *x, unsigned j, uint64_t e, uint64_t v)
{
	struct ord_c *cs = &x->c[j];
	uint64_t idx = ORD_INDEX(v), r = ORD_ROUND(v);

	if (x->s->exact) {
		/* Round e's items of worker j, all of them, in push order. */
		CHECK(v == ORD_ITEM(e, j, cs->last), "%s: round %" PRIu64 " worker %u: item (%" PRIu64 ", %u, %" PRIu64
		      "), want (%" PRIu64 ", %u, %" PRIu64 ")", x->s->name, e, j, r, ORD_WORKER(v), idx, e, j, cs->last);
	} else {
		/* Never an item of a later round, and a worker's items in
		 * push order, some missing (spilled or dropped). */
		CHECK(ORD_WORKER(v) == j && r >= 1 && r <= e, "%s: round %" PRIu64 " worker %u: item (%" PRIu64 ", %u, %"
		      PRIu64 ")", x->s->name, e, j, r, ORD_WORKER(v), idx);
		CHECK(idx < x->max_items && idx >= cs->last, "%s: worker %u: item %" PRIu64 " after %" PRIu64, x->s->name,
		      j, idx, cs->last - 1);
		CHECK(idx >= x->w[j].cum[r - 1] && idx < x->w[j].cum[r], "%s: worker %u: item %" PRIu64
		      " says round %" PRIu64 ", which pushed %" PRIu64 " .. %" PRIu64, x->s->name, j, idx, r,
		      x->w[j].cum[r - 1], x->w[j].cum[r]);
	}
	CHECK(!cs->seen[idx], "%s: worker %u: item %" PRIu64 " twice", x->s->name, j, idx);
	cs->seen[idx] = 1;
	cs->emitted[idx] = (uint32_t)e;
	cs->last = idx + 1;
	cs->rgot++;
	cs->got++;
}

/* Empties the spill area sr_pool_round asked for (-EAGAIN). */
static void ord_spilled(struct ord *x, unsigned j, struct sr_spill *ring)
{
	struct ord_c *cs = &x->c[j];
	uint64_t buf[16];
	int k;

	CHECK(ring && sr_spill_pending(ring) > 0, "%s: worker %u: -EAGAIN with nothing pending", x->s->name, j);
	CHECK(!x->s->exact && !(x->s->flags & SR_POOL_DISCARD), "%s: worker %u: spilled items", x->s->name, j);
	while ((k = sr_spill_take_spilled(ring, buf, 1 + (unsigned)(rnd(&x->rng) % 16))) > 0) {
		for (int i = 0; i < k; i++) {
			uint64_t idx = ORD_INDEX(buf[i]);

			CHECK(ORD_WORKER(buf[i]) == j && idx < x->max_items, "%s: worker %u: spilled %#" PRIx64,
			      x->s->name, j, buf[i]);
			/* Spill areas too give a worker's items oldest first. */
			CHECK(idx >= cs->last_spill, "%s: worker %u: spilled %" PRIu64 " after %" PRIu64, x->s->name, j,
			      idx, cs->last_spill - 1);
			CHECK(!cs->seen[idx], "%s: worker %u: spilled item %" PRIu64 " seen before", x->s->name, j, idx);
			cs->seen[idx] = 2;
			cs->last_spill = idx + 1;
			cs->spill_got++;
		}
	}
	CHECK(k == 0 && sr_spill_pending(ring) == 0, "take_spilled: %d", k);
}

/* The collector: hands on rounds in order, for round e every worker in
 * order, at most `budget` whole rounds; stops at a round a worker has not
 * ended, and now and then after part of a round, as a sink that takes
 * only some would. Returns the rounds it finished. */
static uint64_t ord_collect(struct ord *x, uint64_t budget)
{
	uint64_t finished = 0;

	while (finished < budget) {
		unsigned j = x->j;
		struct ord_c *cs = &x->c[j];
		struct sr_pool_round r, again;
		uint64_t left, n;
		int rc = sr_pool_round(x->p, j, &r);

		if (rc == -EAGAIN) {
			ord_spilled(x, j, r.ring);
			continue;
		}
		CHECK(rc == 0 || rc == 1, "%s: sr_pool_round: %d", x->s->name, rc);
		CHECK(r.seq == x->e, "%s: worker %u: round %" PRIu64 ", want %" PRIu64, x->s->name, j, r.seq, x->e);
		if (rc == 0)
			break;
		left = r.len[0] + r.len[1];
		CHECK((r.len[1] == 0 || r.len[0] > 0) && (left == 0 || r.ring) && !r.len[0] == !r.items[0] &&
		      !r.len[1] == !r.items[1], "%s: spans %" PRIu64 " + %" PRIu64, x->s->name, r.len[0], r.len[1]);
		/* Describing a round changes nothing. (An empty round's ring
		 * may differ: found ended with the batch out of the slot, then
		 * in the batch a later merge put back.) */
		CHECK(sr_pool_round(x->p, j, &again) == 1 && again.seq == r.seq && again.len[0] == r.len[0] &&
		      again.len[1] == r.len[1] && again.items[0] == r.items[0] && again.items[1] == r.items[1] &&
		      (left == 0 || again.ring == r.ring), "%s: worker %u: round %" PRIu64 " described twice, differently",
		      x->s->name, j, x->e);
		n = left;
		if (left > 1 && rnd(&x->rng) % 4 == 0)
			n = 1 + rnd(&x->rng) % (left - 1);
		for (uint64_t k = 0; k < n; k++)
			ord_note(x, j, x->e, ord_at(&r, k));
		rc = sr_pool_round_release(x->p, j, n);
		CHECK(rc == 0, "%s: release %" PRIu64 " of %" PRIu64 ": %d", x->s->name, n, left, rc);
		if (n < left) {
			/* The rest comes back first, where the release left it. */
			cs->partial++;
			rc = sr_pool_round(x->p, j, &again);
			CHECK(rc == 1 && again.seq == x->e && again.len[0] + again.len[1] == left - n &&
			      ord_at(&again, 0) == ord_at(&r, n), "%s: worker %u: after a partial release: %d, round %"
			      PRIu64 ", %" PRIu64 " left of %" PRIu64, x->s->name, j, rc, again.seq,
			      again.len[0] + again.len[1], left - n);
			if (rnd(&x->rng) % 2)
				break;
			continue;
		}
		if (x->s->exact)
			CHECK(cs->rgot == ord_count(x, x->e, j), "%s: round %" PRIu64 " worker %u: %" PRIu64 " items of %"
			      PRIu64, x->s->name, x->e, j, cs->rgot, ord_count(x, x->e, j));
		cs->rgot = 0;
		if (++x->j == x->s->workers) {
			x->j = 0;
			x->e++;
			finished++;
		}
	}
	return finished;
}

static void *ord_collector(void *arg)
{
	struct ord *x = arg;

	while (!atomic_load(&x->stop)) {
		if (x->s->slow) {
			/* Mostly behind; now and then it catches up, and the
			 * rings empty before they fill again. */
			ord_collect(x, rnd(&x->rng) % 8 ? 1 + rnd(&x->rng) % 3 : UINT64_MAX);
			sleep_us(200);
		} else if (rnd(&x->rng) % 32 == 0) {
			sleep_us(100); /* a lag: rounds merge, the window fills */
		} else if (!ord_collect(x, 1 + rnd(&x->rng) % 8)) {
			sched_yield();
		}
	}
	return NULL;
}

/* Dispatches and joins round r, waiting out a full window: for the
 * collector thread, or, with collect, collecting a round itself. */
static void ord_round(struct ord *x, uint64_t r, bool collect)
{
	struct sr_pool *p = x->p;
	int rc;

	while ((rc = sr_pool_dispatch(p, &r)) == -ENOSPC) {
		x->refused++;
		CHECK(sr_pool_join(p) == -EPERM && p->round == r - 1, "%s: a refused dispatch started round %" PRIu64,
		      x->s->name, p->round);
		if (collect)
			ord_collect(x, 1);
		else
			sleep_us(20);
	}
	CHECK(rc == 0, "%s: dispatch of round %" PRIu64 ": %d", x->s->name, r, rc);
	/* O3: the round is less than a window ahead of every worker's next
	 * round to hand on (emit only grows: it was so at the check too). */
	for (unsigned j = 0; j < x->s->workers; j++)
		CHECK(r < atomic_load(&p->w[j].emit) + x->s->window, "%s: round %" PRIu64 " dispatched, worker %u at %"
		      PRIu64 ", window %u", x->s->name, r, j, atomic_load(&p->w[j].emit), x->s->window);
	CHECK(sr_pool_join(p) == 0, "%s: join", x->s->name);
	for (unsigned j = 0; j < x->s->workers; j++)
		CHECK(sr_pool_status(p, j) == 0, "%s: worker %u: status", x->s->name, j);
}

/* After the last round: everything dispatched is handed on, and rounds
 * that push nothing publish what merges left behind, until no item is
 * anywhere in the pool. Returns the last round. */
static uint64_t ord_flush(struct ord *x)
{
	struct sr_pool *p = x->p;
	uint64_t last = p->round;

	for (int k = 0;; k++) {
		bool empty = true;

		while (x->e <= last)
			ord_collect(x, UINT64_MAX);
		CHECK(x->e == last + 1 && x->j == 0, "%s: collector at round %" PRIu64 " worker %u", x->s->name, x->e,
		      x->j);
		for (unsigned j = 0; j < x->s->workers; j++) {
			struct sr_pool_round r;
			uint64_t len, pend;
			int rc;

			/* Round last + 1 was not dispatched; asking for it
			 * hands back the last ring, after its spill area. */
			while ((rc = sr_pool_round(p, j, &r)) == -EAGAIN)
				ord_spilled(x, j, r.ring);
			CHECK(rc == 0 && r.seq == last + 1, "%s: worker %u: round %" PRIu64 " not dispatched: %d",
			      x->s->name, j, r.seq, rc);
			CHECK(p->w[j].held == 0 && atomic_load(&p->w[j].batch) == 0, "%s: worker %u: a batch left",
			      x->s->name, j);
			active_left(p, j, &len, &pend);
			empty &= len == 0 && pend == 0;
		}
		if (empty)
			break;
		CHECK(k < 8, "%s: items in the active rings after %d flush rounds", x->s->name, k);
		ord_round(x, ++last, true);
	}
	return last;
}

static void run_ord(const struct ord_scen *s, uint64_t n)
{
	struct ord *x = calloc(1, sizeof(*x));
	struct sr_pool_config cfg = {
		.workers = s->workers,
		.flags = s->flags,
		.ring_capacity = s->cap,
		.elem_size = sizeof(uint64_t),
		.spill_capacity = s->spill_cap,
		.args_size = sizeof(uint64_t),
		.spin_ns = s->spin_ns,
		.order_window = s->window,
		.work = work_ord,
	};
	bool discard = s->flags & SR_POOL_DISCARD;
	uint64_t seed = 0x0bde5eed, half, last, sum_pushed = 0, sum_got = 0, sum_spilled = 0, sum_merged = 0;
	uint64_t sum_carried = 0, sum_enobufs = 0, sum_partial = 0;
	pthread_t ct;
	double t0 = now();

	CHECK(x, "calloc");
	wd_arm(s->name);
	x->s = s;
	x->seed = rnd(&seed);
	x->rng = rnd(&seed) | 1;
	x->e = 1;
	x->rounds = n / s->rounds_div;
	if (x->rounds < 50)
		x->rounds = 50;
	x->max_rounds = x->rounds + 16;
	x->max_items = x->rounds * s->maxn + 1;
	x->fin = calloc(x->max_rounds, sizeof(*x->fin));
	CHECK(x->fin, "calloc");
	for (unsigned j = 0; j < s->workers; j++) {
		x->w[j].cum = calloc(x->max_rounds, sizeof(uint64_t));
		x->w[j].front = calloc(x->max_rounds, sizeof(uint64_t));
		x->c[j].seen = calloc(x->max_items, 1);
		x->c[j].emitted = calloc(x->max_items, sizeof(uint32_t));
		CHECK(x->w[j].cum && x->w[j].front && x->c[j].seen && x->c[j].emitted, "calloc");
	}
	cfg.ctx = x;
	x->p = mkpool(&cfg);

	/* A collector thread collects while rounds run; for the exact
	 * scenarios, the second half of the rounds is collected by the
	 * dispatcher between rounds: nothing, some, or all of them. */
	half = s->exact ? x->rounds / 2 : x->rounds;
	CHECK(pthread_create(&ct, NULL, ord_collector, x) == 0, "pthread_create");
	for (uint64_t r = 1; r <= half; r++)
		ord_round(x, r, false);
	atomic_store(&x->stop, 1);
	CHECK(pthread_join(ct, NULL) == 0, "pthread_join");
	for (uint64_t r = half + 1; r <= x->rounds; r++) {
		ord_round(x, r, true);
		switch (rnd(&x->rng) % 4) {
		case 0:
			break;
		case 1:
			ord_collect(x, 1);
			break;
		case 2:
			ord_collect(x, 1 + rnd(&x->rng) % s->window);
			break;
		default:
			ord_collect(x, UINT64_MAX);
		}
	}
	last = ord_flush(x);

	for (unsigned j = 0; j < s->workers; j++) {
		struct sr_pool_worker *w = &x->p->w[j];
		struct ord_w *ws = &x->w[j];
		struct ord_c *cs = &x->c[j];
		uint64_t pushed = atomic_load(&w->pushed), spilled = atomic_load(&w->spilled), seen1 = 0, seen2 = 0;
		uint64_t e = 1;

		CHECK(atomic_load(&w->rounds) == last && ws->last == last, "%s: worker %u ran %" PRIu64 " rounds of %"
		      PRIu64, s->name, j, atomic_load(&w->rounds), last);
		CHECK(pushed == ws->next, "%s: worker %u: pushed %" PRIu64 ", the work pushed %" PRIu64, s->name, j,
		      pushed, ws->next);
		if (s->exact)
			CHECK(spilled == 0 && cs->got == pushed && ws->enobufs == 0, "%s: worker %u: pushed %" PRIu64
			      ", handed on %" PRIu64 ", spilled %" PRIu64, s->name, j, pushed, cs->got, spilled);
		else if (discard)
			CHECK(pushed == cs->got + spilled && cs->spill_got == 0, "%s: worker %u: pushed %" PRIu64
			      " != handed on %" PRIu64 " + dropped %" PRIu64, s->name, j, pushed, cs->got, spilled);
		else
			CHECK(pushed == cs->got + cs->spill_got && spilled == cs->spill_got, "%s: worker %u: pushed %"
			      PRIu64 " != handed on %" PRIu64 " + spilled %" PRIu64 " (counter %" PRIu64 ")", s->name,
			      j, pushed, cs->got, cs->spill_got, spilled);
		/* Every item that came out with a round came out with the
		 * round whose publish moved it out of the active ring: the
		 * first round r with front[r] above its index (its own round,
		 * unless a merge left it behind). */
		ws->front[last] = ws->next; /* the flush emptied the active ring */
		for (uint64_t k = 0; k < ws->next; k++) {
			while (ws->front[e] <= k)
				e++;
			CHECK(e <= last, "%s: worker %u: front", s->name, j);
			seen1 += cs->seen[k] == 1;
			seen2 += cs->seen[k] == 2;
			if (cs->seen[k] == 1)
				CHECK(cs->emitted[k] == e, "%s: worker %u: item %" PRIu64 " handed on with round %" PRIu32
				      ", its items left the active ring in round %" PRIu64, s->name, j, k,
				      cs->emitted[k], e);
		}
		for (uint64_t k = ws->next; k < x->max_items; k++)
			CHECK(!cs->seen[k], "%s: worker %u: item %" PRIu64 " seen, never pushed", s->name, j, k);
		CHECK(seen1 == cs->got && seen2 == cs->spill_got, "%s: worker %u: distinct items", s->name, j);
		if (s->slow)
			CHECK(atomic_load(&w->merged) > 0, "%s: worker %u: a slow collector, and no merge", s->name, j);
		sum_pushed += pushed;
		sum_got += cs->got;
		sum_spilled += spilled;
		sum_merged += atomic_load(&w->merged);
		sum_carried += ws->carried;
		sum_enobufs += ws->enobufs;
		sum_partial += cs->partial;
	}
	printf("ok %-24s rounds %5" PRIu64 " pushed %6" PRIu64 " out %6" PRIu64 " spilled %5" PRIu64 " merged %5"
	       PRIu64 " carried %4" PRIu64 " full %4" PRIu64 " partial %4" PRIu64 " refused %4" PRIu64
	       " w0 first %2.0f%% %.2fs\n", s->name, x->rounds, sum_pushed, sum_got, sum_spilled, sum_merged,
	       sum_carried, sum_enobufs, sum_partial, x->refused, 100.0 * (double)atomic_load(&x->first) / (double)last,
	       now() - t0);
	sr_pool_free(x->p);
	for (unsigned j = 0; j < s->workers; j++) {
		free(x->w[j].cum);
		free(x->w[j].front);
		free(x->c[j].seen);
		free(x->c[j].emitted);
	}
	free((void *)x->fin);
	free(x);
}

/* A work function for the small ordered tests: worker w pushes push[w]
 * items (r, w, k), k = 0, 1, ... in round r (the round in args); a
 * refused push ends the round. */
struct man_ctx {
	_Atomic uint64_t push[MAXW];
};

static int work_man(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct man_ctx *c = ctx;
	uint64_t r = *(const uint64_t *)args, n = atomic_load(&c->push[worker]);

	for (uint64_t k = 0; k < n; k++) {
		int rc = sr_spill_push(out, &(uint64_t){ ORD_ITEM(r, worker, k) });

		if (rc == -ENOBUFS)
			return 1;
		CHECK(rc == 0 || rc == 1, "push: %d", rc);
	}
	return 0;
}

static void man_round(struct sr_pool *p, uint64_t r)
{
	round_ok(p, &r);
	CHECK(p->round == r, "round %" PRIu64 " ran as %" PRIu64, r, p->round);
}

/* Worker j's next round: must be round seq, ended, with exactly the items
 * (ir, j, k0), (ir, j, k0 + 1), ... (n of them, ir the round that pushed
 * them) left; releases them all. */
static void man_take(struct sr_pool *p, unsigned j, uint64_t seq, uint64_t ir, uint64_t k0, uint64_t n)
{
	struct sr_pool_round r;
	int rc = sr_pool_round(p, j, &r);

	CHECK(rc == 1 && r.seq == seq && r.len[0] + r.len[1] == n, "worker %u: round %" PRIu64 ": %d, round %" PRIu64
	      " with %" PRIu64 " + %" PRIu64 " items, want %" PRIu64, j, seq, rc, r.seq, r.len[0], r.len[1], n);
	CHECK(!r.len[0] == !r.items[0] && !r.len[1] == !r.items[1], "worker %u round %" PRIu64 ": spans %p + %p",
	      j, seq, r.items[0], r.items[1]);
	for (uint64_t k = 0; k < n; k++)
		CHECK(ord_at(&r, k) == ORD_ITEM(ir, j, k0 + k), "worker %u round %" PRIu64 ": item %" PRIu64 " is %#"
		      PRIx64 ", want (%" PRIu64 ", %u, %" PRIu64 ")", j, seq, k, ord_at(&r, k), ir, j, k0 + k);
	CHECK(sr_pool_round_release(p, j, n) == 0, "worker %u: release of round %" PRIu64, j, seq);
}

/* Worker j's spill area, which sr_pool_round wants emptied first: exactly
 * the items (ir[k], j, ik[k]). */
static void man_spilled(struct sr_pool *p, unsigned j, unsigned n, const uint64_t *ir, const uint64_t *ik)
{
	struct sr_pool_round r;
	uint64_t buf[16];
	int rc = sr_pool_round(p, j, &r);

	CHECK(rc == -EAGAIN && r.ring && sr_spill_pending(r.ring) == n, "worker %u: %d, %" PRIu64 " pending, want "
	      "-EAGAIN with %u", j, rc, r.ring ? sr_spill_pending(r.ring) : 0, n);
	CHECK(sr_spill_take_spilled(r.ring, buf, 16) == (int)n, "take_spilled");
	for (unsigned k = 0; k < n; k++)
		CHECK(buf[k] == ORD_ITEM(ir[k], j, ik[k]), "worker %u: spilled item %u is %#" PRIx64, j, k, buf[k]);
}

/* Worker j has no round to hand on: the next, seq, has not ended. */
static void man_none(struct sr_pool *p, unsigned j, uint64_t seq)
{
	struct sr_pool_round r;
	int rc = sr_pool_round(p, j, &r);

	CHECK(rc == 0 && r.seq == seq, "worker %u: round %" PRIu64 " not ended: %d, round %" PRIu64, j, seq, rc, r.seq);
	CHECK(sr_pool_round_release(p, j, 0) == -EINVAL, "worker %u: release of round %" PRIu64 ", not ended", j, seq);
}

/* sr_pool_round and sr_pool_round_release: bad calls, partial releases. */
static void test_ordered_errors(void)
{
	struct basic_ctx bc = { 0 };
	struct man_ctx c = { 0 };
	struct sr_pool_config cfg = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .work = work_basic, .ctx = &bc,
	};
	struct sr_pool_round r, r2;
	struct sr_pool *p;
	uint64_t seq;

	wd_arm("ordered-errors");
	/* Unordered: no rounds to hand on, before and after a round. */
	p = mkpool(&cfg);
	CHECK(sr_pool_round(p, 0, &r) == -EINVAL && sr_pool_round_release(p, 0, 0) == -EINVAL, "unordered pool");
	atomic_store(&bc.push[0], 2);
	round_ok(p, NULL);
	CHECK(sr_pool_round(p, 0, &r) == -EINVAL && sr_pool_round_release(p, 0, 0) == -EINVAL, "unordered pool");
	CHECK(sr_pool_take(p, 0, &seq) != NULL && seq == 1, "the unordered batch is still there");
	sr_pool_free(p);

	cfg.order_window = SR_POOL_MAX_WINDOW + 1;
	expect_einval(&cfg, "order_window too big");
	cfg.order_window = UINT32_MAX;
	expect_einval(&cfg, "order_window UINT32_MAX");
	cfg.workers = 1, cfg.order_window = SR_POOL_MAX_WINDOW;
	p = mkpool(&cfg);
	CHECK(p->order_window == SR_POOL_MAX_WINDOW && p->order_mask == SR_POOL_MAX_WINDOW - 1, "largest window");
	sr_pool_free(p);

	cfg.workers = 2, cfg.order_window = 4, cfg.args_size = 8, cfg.work = work_man, cfg.ctx = &c;
	p = mkpool(&cfg);
	CHECK(sr_pool_round(p, 2, &r) == -EINVAL && sr_pool_round_release(p, 2, 0) == -EINVAL, "worker 2 of 2");
	CHECK(sr_pool_round(p, UINT32_MAX, &r) == -EINVAL, "worker UINT32_MAX");
	CHECK(sr_pool_round(p, 0, NULL) == -EINVAL, "NULL round");
	man_none(p, 0, 1); /* nothing dispatched yet */
	atomic_store(&c.push[0], 5);
	man_round(p, 1);
	/* Worker 1's round 1 pushed nothing: an ended round with no items. */
	CHECK(sr_pool_round(p, 1, &r) == 1 && r.seq == 1 && !r.ring && !r.items[0] && !r.items[1] && !r.len[0] &&
	      !r.len[1], "worker 1: round 1, empty");
	CHECK(sr_pool_round_release(p, 1, 1) == -EINVAL, "release of 1 of none");
	CHECK(sr_pool_round_release(p, 1, 0) == 0, "release of none");
	man_none(p, 1, 2);
	/* Worker 0's: too much refused, changing nothing; then by parts. */
	CHECK(sr_pool_round(p, 0, &r) == 1 && r.seq == 1 && r.len[0] + r.len[1] == 5, "worker 0: round 1");
	CHECK(sr_pool_round_release(p, 0, 6) == -EINVAL, "release of 6 of 5");
	CHECK(sr_pool_round_release(p, 0, UINT64_MAX) == -EINVAL, "release of UINT64_MAX of 5");
	CHECK(sr_pool_round(p, 0, &r2) == 1 && memcmp(&r, &r2, sizeof(r)) == 0, "a refused release changed the round");
	CHECK(sr_pool_round_release(p, 0, 0) == 0, "release of none of 5");
	CHECK(sr_pool_round_release(p, 0, 2) == 0, "release of 2 of 5");
	CHECK(atomic_load(&p->w[0].emit) == 1, "a partial release ended the round");
	man_take(p, 0, 1, 1, 2, 3); /* the rest: items 2, 3, 4 */
	CHECK(atomic_load(&p->w[0].emit) == 2, "emit %" PRIu64 " after round 1", atomic_load(&p->w[0].emit));
	man_none(p, 0, 2);
	CHECK(sr_pool_round_release(p, 0, 1) == -EINVAL, "release of round 2, not ended");
	man_round(p, 2);
	man_take(p, 0, 2, 2, 0, 5);
	CHECK(sr_pool_round(p, 1, &r) == 1 && r.seq == 2 && r.len[0] + r.len[1] == 0, "worker 1: round 2");
	CHECK(sr_pool_round_release(p, 1, 0) == 0, "release");
	man_none(p, 0, 3);
	man_none(p, 1, 3);
	sr_pool_free(p);
	printf("ok ordered-errors\n");
}

/* Merged rounds, by hand: what a merge spilled from a batch's front comes
 * out of no round (only its spill area), a round's items may wrap around
 * the ring, an item a merge could not move comes out with the round that
 * moved it, and a worker holding its batch out of the slot mid-publish
 * (H3) does not make an ended round look empty. */
static void test_ordered_merge(void)
{
	struct man_ctx c = { 0 };
	struct sr_pool_config cfg = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .args_size = 8, .order_window = 8,
		.work = work_man, .ctx = &c,
	};
	struct sr_pool *p;
	struct sr_pool_worker *w;
	struct sr_pool_round r;
	uint64_t b;

	wd_arm("ordered-merge");
	p = mkpool(&cfg);
	w = &p->w[0];
	/* Round 1: 6 items, untaken. Round 2: 5 more merge in, and the
	 * batch's first 3 spill: the ring holds round 1's 3..5 and round
	 * 2's 0..4, from slot 3 on, across the end. */
	atomic_store(&c.push[0], 6);
	man_round(p, 1);
	atomic_store(&c.push[0], 5);
	man_round(p, 2);
	CHECK(atomic_load(&w->merged) == 5 && atomic_load(&w->spilled) == 3, "merged %" PRIu64 " spilled %" PRIu64,
	      atomic_load(&w->merged), atomic_load(&w->spilled));
	man_take(p, 0, 1, 1, 3, 3);
	CHECK(sr_pool_round(p, 0, &r) == 1 && r.seq == 2 && r.len[0] == 2 && r.len[1] == 3, "round 2 wraps: %" PRIu64
	      " + %" PRIu64, r.len[0], r.len[1]);
	CHECK(sr_pool_round_release(p, 0, 1) == 0, "release of 1");
	CHECK(sr_pool_round(p, 0, &r) == 1 && r.len[0] == 1 && r.len[1] == 3, "round 2 after 1: %" PRIu64 " + %" PRIu64,
	      r.len[0], r.len[1]);
	CHECK(sr_pool_round_release(p, 0, 5) == -EINVAL, "release of 5 of 4");
	man_take(p, 0, 2, 2, 1, 4);
	man_spilled(p, 0, 3, (const uint64_t[]){ 1, 1, 1 }, (const uint64_t[]){ 0, 1, 2 });
	man_none(p, 0, 3);
	for (uint64_t e = 1; e <= 2; e++)
		man_take(p, 1, e, e, 0, 0);
	man_none(p, 1, 3);
	sr_pool_free(p);

	/* A spill area of 2, one worker (the rounds of test_merge_spill).
	 * Round 1: item 0, untaken. Round 2: 0..9; 0 and 1 spill in the
	 * active ring, 2..9 merge, round 1's 0 spills from the batch, round
	 * 2's 0 follows it, and round 2's 1 stays in the active ring's area. */
	cfg.workers = 1, cfg.spill_capacity = 2;
	p = mkpool(&cfg);
	w = &p->w[0];
	atomic_store(&c.push[0], 1);
	man_round(p, 1);
	atomic_store(&c.push[0], 10);
	man_round(p, 2);
	man_take(p, 0, 1, 1, 0, 0);
	man_take(p, 0, 2, 2, 2, 8);
	man_spilled(p, 0, 2, (const uint64_t[]){ 1, 2 }, (const uint64_t[]){ 0, 0 });
	man_none(p, 0, 3);
	/* Round 3 pushes nothing and publishes a ring with only that item,
	 * spilled: a round with no items, then the spill area. */
	atomic_store(&c.push[0], 0);
	man_round(p, 3);
	man_take(p, 0, 3, 0, 0, 0);
	man_spilled(p, 0, 1, (const uint64_t[]){ 2 }, (const uint64_t[]){ 1 });
	man_none(p, 0, 4);
	/* Round 4: 0..9, published (0 and 1 in its area). Round 5: 0 and 1,
	 * untaken batch full, area full: nothing merges, and they come out
	 * with round 6, which moves them (pool.h: counts with the publish
	 * that moves it). */
	atomic_store(&c.push[0], 10);
	man_round(p, 4);
	atomic_store(&c.push[0], 2);
	man_round(p, 5);
	CHECK(atomic_load(&w->merged) == 8, "merged %" PRIu64, atomic_load(&w->merged));
	man_take(p, 0, 4, 4, 2, 8);
	man_take(p, 0, 5, 0, 0, 0);
	man_spilled(p, 0, 2, (const uint64_t[]){ 4, 4 }, (const uint64_t[]){ 0, 1 });
	man_none(p, 0, 6);
	atomic_store(&c.push[0], 0);
	man_round(p, 6);
	man_take(p, 0, 6, 5, 0, 2);
	man_none(p, 0, 7);
	CHECK(atomic_load(&w->pushed) == 23 && atomic_load(&w->spilled) == 5, "pushed %" PRIu64 " spilled %" PRIu64,
	      atomic_load(&w->pushed), atomic_load(&w->spilled));

	/* Round 7 publishes 3 items and ends (done). A worker in a later
	 * round's publish takes the batch out of the slot to merge into it
	 * (H3's exchange) before it stores it back; a collector that looks
	 * then finds done past round 7 and no batch, but the round's count
	 * says its items are in that batch: not ended yet, not empty. */
	atomic_store(&c.push[0], 3);
	man_round(p, 7);
	b = atomic_exchange(&w->batch, 0);
	CHECK(b != 0 && atomic_load(&w->done) == 7, "round 7's batch");
	man_none(p, 0, 7);
	atomic_store(&w->batch, b);
	man_take(p, 0, 7, 7, 0, 3);
	/* Round 8 pushes nothing (no batch): ended and empty, slot or not. */
	atomic_store(&c.push[0], 0);
	man_round(p, 8);
	man_take(p, 0, 8, 0, 0, 0);
	man_none(p, 0, 9);
	sr_pool_free(p);
	printf("ok ordered-merge\n");
}

/* Worker 0 pushes two items a round, the others one: (r, w, k). */
static int work_win(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	uint64_t r = *(const uint64_t *)args;

	(void)ctx;
	for (uint64_t k = 0; k < 1 + (worker == 0); k++)
		CHECK(sr_spill_push(out, &(uint64_t){ ORD_ITEM(r, worker, k) }) == 0, "push");
	return 0;
}

static void win_take(struct sr_pool *p, unsigned j, uint64_t e)
{
	man_take(p, j, e, e, 0, 1 + (j == 0));
}

static void win_refused(struct sr_pool *p, uint64_t r, const char *what)
{
	uint64_t before = p->round;
	int rc = sr_pool_dispatch(p, &r);

	CHECK(rc == -ENOSPC, "window %u, round %" PRIu64 " %s: %d", p->order_window, r, what, rc);
	CHECK(sr_pool_join(p) == -EPERM && p->round == before, "window %u: the refused dispatch started a round",
	      p->order_window);
	for (unsigned j = 0; j < p->workers; j++)
		CHECK(atomic_load(&p->w[j].done) == (uint32_t)before, "window %u: worker %u ran a refused round",
		      p->order_window, j);
}

/* O3: with nothing collected, rounds 1 .. window run and round window + 1
 * is refused (-ENOSPC), changing nothing, until every worker has handed
 * on round 1, wholly. */
static void win_run(uint32_t window)
{
	struct sr_pool_config cfg = {
		.workers = 2, .ring_capacity = 64, .elem_size = 8, .args_size = 8, .order_window = window,
		.work = work_win,
	};
	struct sr_pool *p = mkpool(&cfg);
	struct sr_pool_round r;
	uint64_t e;

	for (uint64_t k = 1; k <= window; k++)
		man_round(p, k);
	win_refused(p, window + 1, "with nothing collected");
	win_refused(p, window + 1, "again");
	win_take(p, 0, 1);
	win_refused(p, window + 1, "with worker 1's round 1 left");
	win_take(p, 1, 1);
	man_round(p, window + 1);
	/* A round's partial release does not hand it on. */
	CHECK(sr_pool_round(p, 0, &r) == 1 && r.seq == 2 && sr_pool_round_release(p, 0, 1) == 0, "partial");
	win_refused(p, window + 2, "with part of worker 0's round 2 left");
	man_take(p, 0, 2, 2, 1, 1);
	win_refused(p, window + 2, "with worker 1's round 2 left");
	win_take(p, 1, 2);
	man_round(p, window + 2);
	/* Worker 1 ahead: worker 0 holds the window. */
	for (e = 3; e <= window + 2; e++)
		win_take(p, 1, e);
	win_refused(p, window + 3, "with worker 0 at round 3");
	/* A window of rounds, each handed on just after it ran. */
	for (e = 3; e <= window + 2; e++)
		win_take(p, 0, e);
	for (e = window + 3; e <= 3 * window + 3; e++) {
		man_round(p, e);
		win_take(p, 0, e);
		win_take(p, 1, e);
	}
	man_none(p, 0, e);
	man_none(p, 1, e);
	sr_pool_free(p);
}

static void test_ordered_window(void)
{
	wd_arm("ordered-window");
	win_run(1);
	win_run(4);
	win_run(5); /* counts of 8 */
	printf("ok ordered-window (1, 4, 5)\n");
}

/* ===================================================================== */
/* Two ordered C pools chained by a C collector: stage 2's output comes  */
/* out in stage 1's order.                                               */
/* ===================================================================== */

#define OPIPE_MAX (2 * PIPE_ITEMS) /* stage-1 records of a round, at most */

/* Stage-1 records worker w makes in round r: none now and then. */
static uint64_t opipe_count(uint64_t r, unsigned w)
{
	uint64_t h = mix64(r << 8 | w);

	return h % 5 == 0 ? 0 : (h >> 8) % (PIPE_ITEMS + 1);
}

/* Now and then a late worker, so that they finish in any order. */
static void opipe_late(uint64_t r, unsigned w)
{
	if (mix64(r * 3 + w + 77) % 6 == 0)
		sleep_us(30);
}

static int opipe_parse(struct sr_spill *out, unsigned w, const void *args, void *ctx)
{
	uint64_t r = *(const uint64_t *)args;

	(void)ctx;
	opipe_late(r, w);
	for (uint64_t i = 0; i < opipe_count(r, w); i++)
		CHECK(sr_spill_push(out, &(uint64_t){ r << 32 | (uint64_t)w << 16 | i }) == 0, "pipeline: push");
	return 0;
}

/* Stage 2's input, two rounds of it: round q reads in[q % 2], written by
 * the collector before the dispatch of q (G1), and not again before q is
 * joined (D1). */
struct opipe_in {
	uint64_t round, n;
	uint64_t v[OPIPE_MAX];
};

/* Stage 2: worker k transforms the k-th third of the round's records. */
static int opipe_transform(struct sr_spill *out, unsigned k, const void *args, void *ctx)
{
	uint64_t q = *(const uint64_t *)args;
	const struct opipe_in *in = (const struct opipe_in *)ctx + q % 2;

	CHECK(in->round == q, "pipeline: stage 2 round %" PRIu64 " reads round %" PRIu64 "'s records", q, in->round);
	opipe_late(q, k + 2);
	for (uint64_t j = in->n * k / 3; j < in->n * (k + 1) / 3; j++)
		CHECK(sr_spill_push(out, &(uint64_t){ in->v[j] * 2 + 1 }) == 0, "pipeline: push");
	return 0;
}

/* Hands on round q of ordered pool p, every worker in order, into v. */
static uint64_t opipe_collect(struct sr_pool *p, uint64_t q, uint64_t *v, uint64_t max)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < p->workers; i++) {
		struct sr_pool_round r;
		int rc;

		/* Round q was joined, but its worker, in a later round's
		 * publish, may have its batch out of the slot for a moment. */
		while ((rc = sr_pool_round(p, i, &r)) == 0)
			sched_yield();
		CHECK(rc == 1 && r.seq == q, "pipeline: worker %u: %d, round %" PRIu64 " of %" PRIu64, i, rc, r.seq, q);
		for (unsigned s = 0; s < 2; s++) {
			CHECK(n + r.len[s] <= max, "pipeline: more than %" PRIu64 " items", max);
			if (r.len[s])
				memcpy(v + n, r.items[s], r.len[s] * sizeof(*v));
			n += r.len[s];
		}
		CHECK(sr_pool_round_release(p, i, r.len[0] + r.len[1]) == 0, "pipeline: release");
	}
	return n;
}

/* Stage 2's round s: the records of stage 1's round s, transformed, in
 * stage 1's order: worker 0's, then worker 1's, each in push order. */
static uint64_t opipe_check(struct sr_pool *p2, uint64_t s)
{
	uint64_t out[OPIPE_MAX], n = opipe_collect(p2, s, out, OPIPE_MAX), m = 0;

	for (unsigned w = 0; w < 2; w++) {
		for (uint64_t i = 0; i < opipe_count(s, w); i++, m++) {
			uint64_t want = (s << 32 | (uint64_t)w << 16 | i) * 2 + 1;

			CHECK(m < n && out[m] == want, "pipeline round %" PRIu64 ": item %" PRIu64 " is %#" PRIx64
			      ", want %#" PRIx64 " (%" PRIu64 " items)", s, m, m < n ? out[m] : 0, want, n);
		}
	}
	CHECK(n == m, "pipeline round %" PRIu64 ": stage 2 gave %" PRIu64 " of %" PRIu64, s, n, m);
	return n;
}

/* Iteration q: stage 1 runs round q while the collector hands on stage
 * 1's round q - 1 into stage 2's input; stage 2 runs round q - 1 while the
 * collector checks its output of round q - 3. Stage 1 has two rounds in
 * flight (window 2), stage 2 three (window 4): merges happen, and the
 * collector works while the workers do. */
static void test_ordered_pipeline(uint64_t rounds)
{
	static struct opipe_in in[2];
	uint64_t total = 0;
	struct sr_pool_config c1 = { .workers = 2, .ring_capacity = 128, .elem_size = 8, .args_size = 8,
				     .spin_ns = 20000, .order_window = 2, .work = opipe_parse };
	struct sr_pool_config c2 = { .workers = 3, .ring_capacity = 128, .elem_size = 8, .args_size = 8,
				     .spin_ns = 20000, .order_window = 4, .work = opipe_transform, .ctx = in };
	struct sr_pool *p1, *p2;
	double t0 = now();

	wd_arm("ordered-pipeline");
	p1 = mkpool(&c1);
	p2 = mkpool(&c2);
	for (uint64_t q = 1; q <= rounds + 1; q++) {
		if (q <= rounds)
			CHECK(sr_pool_dispatch(p1, &q) == 0, "pipeline: stage 1 round %" PRIu64, q);
		if (q >= 2) {
			struct opipe_in *i = &in[(q - 1) % 2];

			/* in[(q - 1) % 2] was stage 2's round q - 3's, joined
			 * in the last iteration. */
			i->n = opipe_collect(p1, q - 1, i->v, OPIPE_MAX);
			i->round = q - 1;
			if (q >= 3)
				CHECK(sr_pool_join(p2) == 0, "pipeline: stage 2 join");
			CHECK(sr_pool_dispatch(p2, &(uint64_t){ q - 1 }) == 0, "pipeline: stage 2 round %" PRIu64, q - 1);
		}
		if (q >= 4)
			total += opipe_check(p2, q - 3);
		if (q <= rounds)
			CHECK(sr_pool_join(p1) == 0, "pipeline: stage 1 join");
	}
	CHECK(sr_pool_join(p2) == 0, "pipeline: stage 2 join");
	for (uint64_t s = rounds >= 2 ? rounds - 1 : 1; s <= rounds; s++)
		total += opipe_check(p2, s);
	for (unsigned i = 0; i < c1.workers; i++)
		CHECK(sr_pool_status(p1, i) == 0 && atomic_load(&p1->w[i].spilled) == 0, "stage 1 worker %u", i);
	for (unsigned i = 0; i < c2.workers; i++)
		CHECK(sr_pool_status(p2, i) == 0 && atomic_load(&p2->w[i].spilled) == 0, "stage 2 worker %u", i);
	sr_pool_free(p2);
	sr_pool_free(p1);
	printf("ok ordered-pipeline (%" PRIu64 " rounds, 2 + 3 workers, %" PRIu64 " items in order) %.2fs\n", rounds,
	       total, now() - t0);
}

int main(void)
{
	uint64_t n = 4000;
	const char *e, *only;
	pthread_t wd;
	double t0 = now();
	const struct scen scens[] = {
		/* Conservation and order, a collector as fast as it goes.
		 * One worker spinning and a spinning joiner fill two CPUs:
		 * a pause per round lets the collector in. */
		{ "order w1", 1, 16, 0, 0, 20000, COLL_FAST, 1, 10 },
		{ "order w2 spill/4", 2, 64, 16, 0, 20000, COLL_FAST, 1, 0 },
		{ "order w3 spill*2", 3, 16, 32, 0, 0, COLL_FAST, 1, 0 },
		{ "order w3 spin", 3, 8, 0, SR_POOL_SPIN_OVERSUBSCRIBED, 20000, COLL_FAST, 2, 0 },
		/* Rings of 16 KiB and more: mapped (block.h), except under
		 * ASan (SR_MAP_MIN_PAGES). */
		{ "order w2 big", 2, 2048, 1024, 0, 0, COLL_FAST, 16, 0 },
		/* Merge-back: a collector slower than the rounds (a pass
		 * every 300 us, a round every 100 us and more), but not so
		 * slow that every ring and spill area stays full. */
		{ "slow w1", 1, 16, 0, 0, 20000, COLL_SLOW, 4, 100 },
		{ "slow w2 spill/2", 2, 32, 16, 0, 0, COLL_SLOW, 4, 100 },
		{ "slow w3", 3, 8, 0, 0, 0, COLL_SLOW, 4, 100 },
		/* Rings that drop instead of spilling. */
		{ "discard w1", 1, 16, 0, SR_POOL_DISCARD, 20000, COLL_FAST, 2, 10 },
		{ "discard w3", 3, 16, 0, SR_POOL_DISCARD, 0, COLL_FAST, 2, 0 },
		{ "discard slow w2", 2, 8, 0, SR_POOL_DISCARD, 0, COLL_SLOW, 4, 100 },
		/* A collector that keeps batches half drained for a few
		 * passes (50 us apart). */
		{ "refuse w1", 1, 16, 0, 0, 20000, COLL_REFUSE, 4, 20 },
		{ "refuse w3", 3, 16, 8, 0, 0, COLL_REFUSE, 4, 20 },
		{ "refuse discard w2", 2, 16, 0, SR_POOL_DISCARD, 0, COLL_REFUSE, 4, 20 },
	};
	const struct ord_scen ords[] = {
		/* Rings that hold a window of rounds: nothing spills, and the
		 * collector must give every item, in (round, worker, index)
		 * order. */
		{ "ordered w2 window 8", 2, 8, 128, 0, 0, 20000, 12, true, false, 2 },
		{ "ordered w3 window 64", 3, 64, 1024, 0, 0, 0, 12, true, false, 2 },
		/* Rings of 8 and a collector that lags: rounds merge, rings
		 * drop or spill (and merges leave items behind), and what
		 * comes out is still in order. */
		{ "ordered slow discard w3", 3, 16, 8, 0, SR_POOL_DISCARD, 0, 8, false, true, 4 },
		{ "ordered slow spill w2", 2, 16, 8, 8, 0, 0, 6, false, true, 4 },
		{ "ordered slow spill/4 w3", 3, 8, 8, 2, 0, 0, 6, false, true, 4 },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((e = getenv("SR_POOL_N")) && *e)
		n = strtoull(e, NULL, 10);
	if ((e = getenv("SR_POOL_TIMEOUT")) && *e)
		wd_timeout = atoi(e);
	CHECK(n >= 50, "SR_POOL_N too small");
	wd_arm("start");
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0, "pthread_create");

	only = getenv("SR_POOL_ONLY");
	if (!only || strstr("errors", only))
		test_errors();
	if (!only || strstr("status-seq", only))
		test_status_seq();
	if (!only || strstr("merge-spill", only))
		test_merge_spill();
	if (!only || strstr("args", only))
		test_args();
	if (!only || strstr("pin", only))
		test_pin();
	if (!only || strstr("free", only))
		test_free();
	if (!only || strstr("pipeline", only))
		test_pipeline(n / 10);
	if (!only || strstr("ordered-errors", only))
		test_ordered_errors();
	if (!only || strstr("ordered-merge", only))
		test_ordered_merge();
	if (!only || strstr("ordered-window", only))
		test_ordered_window();
	if (!only || strstr("ordered-pipeline", only))
		test_ordered_pipeline(n / 10);
	for (size_t i = 0; i < sizeof(ords) / sizeof(ords[0]); i++)
		if (!only || strstr(ords[i].name, only))
			run_ord(&ords[i], n);
	for (size_t i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
		if (!only || strstr(scens[i].name, only))
			run(&scens[i], n);
	printf("all ok (N=%" PRIu64 ") in %.2fs\n", n, now() - t0);
	return 0;
}
