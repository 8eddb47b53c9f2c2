/*
 * claim_test.c - claim and commit (spillring.h, K1-K6): items written and
 * read in place. It includes ring.c as a private copy (SR_API static), as
 * stress.c does.
 *
 * Environment:
 *	SR_CLAIM_N		items per producer and concurrent scenario
 *				(default 200000)
 *	SR_CLAIM_TIMEOUT	seconds one test may take before the watchdog
 *				aborts (default 60)
 *	SR_CLAIM_ONLY		run only the tests whose name contains it
 *
 * Every check aborts with a message; every test prints one "ok" line.
 */
#define SR_API static
#include "../ring.c"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

/* --- Items: a u64, or 24 bytes with a checksum (torn reads show) --- */

struct item24 {
	uint64_t v, mix, sum;
};

#define MIX_K UINT64_C(0x9e3779b97f4a7c15)

static void put(void *p, uint64_t esz, uint64_t v)
{
	struct item24 it = { v, v * MIX_K, ~(v ^ v * MIX_K) };

	memcpy(p, esz == 8 ? (void *)&v : (void *)&it, esz);
}

static uint64_t get(const void *p, uint64_t esz)
{
	struct item24 it;

	if (esz == 8) {
		memcpy(&it.v, p, 8);
		return it.v;
	}
	memcpy(&it, p, sizeof(it));
	CHECK(it.mix == it.v * MIX_K && it.sum == ~(it.v ^ it.mix),
	      "torn item: v %" PRIx64 " mix %" PRIx64 " sum %" PRIx64, it.v, it.mix, it.sum);
	return it.v;
}

/* Item j of a claim, in its span. */
static void *cslot(const struct sr_claim *c, uint64_t j, uint64_t esz)
{
	return j < c->len[0] ? (char *)c->span[0] + j * esz : (char *)c->span[1] + (j - c->len[0]) * esz;
}

/* The spans of a claim of c->n at c->seq: the first from the slot of seq to
 * the end of the array at most, the second (if it wraps) from slot 0. */
static void check_spans(const struct sr_ring *r, const struct sr_claim *c)
{
	uint64_t first = r->capacity - (c->seq & r->mask);

	if (first > c->n)
		first = c->n;
	CHECK(c->n >= 1 && c->span[0] == sr_ring_slot(r, c->seq) && c->len[0] == first &&
	      c->len[1] == c->n - first && c->span[1] == (c->len[1] ? sr_ring_slot(r, 0) : NULL),
	      "spans of %u at %" PRIu64 ": %p/%u %p/%u", c->n, c->seq, c->span[0], c->len[0], c->span[1],
	      c->len[1]);
}

static struct sr_ring *mk(uint64_t cap, uint64_t esz, uint32_t bp, uint32_t wait, uint32_t spins)
{
	struct sr_config cfg = { .capacity = cap, .elem_size = esz, .backpressure = bp, .wait = wait, .spins = spins };
	int err;
	struct sr_ring *r = sr_ring_new(&cfg, &err);

	CHECK(r && err == 0, "sr_ring_new: %d", err);
	return r;
}

/* Every producer reference closes: the side is closed. */
static void close_producers(struct sr_ring *r)
{
	while (!(sr_ring_closed(r) & SR_CLOSED_PRODUCER))
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close producer");
}

static uint64_t ld(_Atomic uint64_t *p)
{
	return atomic_load(p);
}

static const char *const bp_name[] = { "block", "drop", "reject" };
static const char *const wait_name[] = { "spin", "yield", "park", "adapt" };

/* --- Single thread: a model of the ring's contents --- */

#define ESZ 24

struct model {
	struct sr_ring *r;
	uint64_t q[1024];
	uint64_t head, tail; /* of q */
	uint64_t next;	     /* the next item value */
};

static void m_add(struct model *m, uint64_t v)
{
	m->q[m->tail++ % 1024] = v;
}

static uint64_t m_len(const struct model *m)
{
	return m->tail - m->head;
}

/* Claim (CHECKed to get exactly `want`), fill with fresh values. */
static void m_claim(struct model *m, struct sr_claim *c, unsigned n, int want)
{
	int rc = sr_ring_claim(m->r, c, n);

	CHECK(rc == want && c->n == (unsigned)want, "claim(%u): %d, want %d", n, rc, want);
	check_spans(m->r, c);
	for (uint64_t j = 0; j < c->n; j++)
		put(cslot(c, j, ESZ), ESZ, m->next + j);
}

/* Commit k of c, expecting all k taken, and model them. */
static void m_commit(struct model *m, struct sr_claim *c, unsigned k)
{
	uint64_t v0 = get(cslot(c, 0, ESZ), ESZ), n = c->n;
	int rc = sr_ring_commit(m->r, c, k);

	CHECK(rc == (int)k && c->n == 0, "commit(%u of %" PRIu64 "): %d", k, n, rc);
	for (uint64_t j = 0; j < k; j++)
		m_add(m, v0 + j);
	if (m->next < v0 + n)
		m->next = v0 + n;
}

static void m_push(struct model *m)
{
	unsigned char b[ESZ];

	put(b, ESZ, m->next);
	CHECK(sr_ring_try_push(m->r, b) == 0, "try_push");
	m_add(m, m->next++);
}

static void m_pop(struct model *m)
{
	unsigned char b[ESZ];
	int rc = sr_ring_try_pop(m->r, b);
	uint64_t v;

	CHECK(rc == 0, "try_pop: %d (model holds %" PRIu64 ")", rc, m_len(m));
	v = get(b, ESZ);
	CHECK(m_len(m) && v == m->q[m->head % 1024], "popped %" PRIu64 ", want %" PRIu64, v, m->q[m->head % 1024]);
	m->head++;
}

/* Pop everything the model holds, then find the ring empty. */
static void m_drain(struct model *m)
{
	unsigned char b[ESZ];

	while (m_len(m))
		m_pop(m);
	CHECK(sr_ring_try_pop(m->r, b) == -EAGAIN, "not empty");
	CHECK(sr_ring_len(m->r) == 0, "len %" PRIu64 " of an empty ring", sr_ring_len(m->r));
}

/* A read claim of `want` items (CHECKed), compared with the model. */
static void m_read(struct model *m, struct sr_claim *c, unsigned n, int want)
{
	int rc = sr_ring_try_read_claim(m->r, c, n);

	CHECK(rc == want && c->n == (unsigned)want, "read_claim(%u): %d, want %d", n, rc, want);
	check_spans(m->r, c);
	for (uint64_t j = 0; j < c->n; j++) {
		uint64_t v = get(cslot(c, j, ESZ), ESZ);
		CHECK(j < m_len(m) && v == m->q[(m->head + j) % 1024], "read %" PRIu64 " at %" PRIu64, v, j);
	}
}

/* Block/Reject: the consumer's tail_cache never lies below head (what M3
 * and the Go side's readers assume of it). Consumer thread only. */
static void check_tail_cache(struct sr_ring *r)
{
	if (r->backpressure != SR_DROP_OLDEST)
		CHECK(sr_dist(ld(&r->head), r->tail_cache) >= 0, "tail_cache %" PRIu64 " below head %" PRIu64,
		      r->tail_cache, ld(&r->head));
}

static void m_release(struct model *m, struct sr_claim *c, unsigned k)
{
	CHECK(sr_ring_read_release(m->r, c, k) == 0 && c->n == 0, "read_release(%u)", k);
	m->head += k;
	check_tail_cache(m->r);
}

/* Push and pop single items until the next claim starts at slot `slot`. */
static void m_move_to(struct model *m, uint64_t slot)
{
	while ((ld(&m->r->tail) & m->r->mask) != slot) {
		m_push(m);
		m_pop(m);
	}
}

/* Argument checks and -EBUSY / -ENOENT / -EINVAL. */
static void t_errors(struct model *m, bool mp)
{
	struct sr_ring *r = m->r;
	struct sr_claim c = SR_CLAIM_INIT, c2 = SR_CLAIM_INIT;
	unsigned char b[4 * ESZ];

	CHECK(sr_ring_claim(r, &c, 0) == -EINVAL && sr_ring_try_claim(r, &c, 0) == -EINVAL, "claim 0");
	CHECK(sr_ring_claim(r, NULL, 1) == -EINVAL && sr_ring_try_claim(r, NULL, 1) == -EINVAL, "claim NULL");
	CHECK(sr_ring_read_claim(r, &c, 0) == -EINVAL && sr_ring_try_read_claim(r, &c, 0) == -EINVAL, "read 0");
	CHECK(sr_ring_read_claim(r, NULL, 1) == -EINVAL && sr_ring_try_read_claim(r, NULL, 1) == -EINVAL,
	      "read NULL");
	CHECK(sr_ring_commit(r, &c, 0) == -ENOENT && sr_ring_commit(r, NULL, 0) == -EINVAL, "commit, none");
	CHECK(sr_ring_read_release(r, &c, 0) == -ENOENT && sr_ring_read_release(r, NULL, 0) == -EINVAL,
	      "release, none");
	CHECK(sr_ring_try_read_claim(r, &c, 1) == -EAGAIN, "read claim of an empty ring");

	m_claim(m, &c, 3, 3);
	CHECK(sr_ring_claim(r, &c, 1) == -EBUSY && sr_ring_try_claim(r, &c, 1) == -EBUSY, "second claim on c");
	CHECK(sr_ring_try_read_claim(r, &c, 1) == -EBUSY, "read claim on a producer's handle");
	CHECK(sr_ring_read_release(r, &c, 0) == -ENOENT, "read release of a producer's claim");
	if (!mp) {
		/* K1: the SPSC producer has one claim or push at a time. */
		put(b, ESZ, 7);
		CHECK(sr_ring_claim(r, &c2, 1) == -EBUSY && sr_ring_try_claim(r, &c2, 1) == -EBUSY,
		      "second claim of the producer");
		CHECK(sr_ring_try_push(r, b) == -EBUSY && sr_ring_push(r, b) == -EBUSY &&
		      sr_ring_push_evict(r, b, b + ESZ) == -EBUSY && sr_ring_push_bulk(r, b, 2) == -EBUSY &&
		      sr_ring_push_burst(r, b, 2) == -EBUSY,
		      "push during a claim");
		CHECK(sr_ring_add_producer(r) == -EBUSY && !sr_ring_is_multi(r), "upgrade during a claim");
	}
	/* MPSC mode: tail counts the claim (in the ring, as a push in flight). */
	CHECK(sr_ring_len(r) == (mp ? 3u : 0u), "len %" PRIu64 " with a claim pending", sr_ring_len(r));
	CHECK(sr_ring_commit(r, &c, 4) == -EINVAL && c.n == 3, "commit past the claim");
	m_commit(m, &c, 3);
	CHECK(sr_ring_commit(r, &c, 3) == -ENOENT && sr_ring_commit(r, &c, 0) == -ENOENT, "second commit");
	CHECK(sr_ring_len(r) == 3, "len %" PRIu64, sr_ring_len(r));
	m_drain(m);
}

/* Full, partial and 0 commits; what the next claim reuses. */
static void t_commit(struct model *m, bool mp)
{
	struct sr_ring *r = m->r;
	struct sr_claim c = SR_CLAIM_INIT;
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint64_t p0 = ld(&r->padded), s0 = ld(&r->skipped), seq, ev0 = sr_ring_evicted(r);

	m_claim(m, &c, 4, 4);
	seq = c.seq;
	m_commit(m, &c, 2);
	/* MPSC DropOldest: the rest becomes padding; else it is given back. */
	CHECK(ld(&r->padded) == p0 + (mp && drop ? 2 : 0), "padded %" PRIu64, ld(&r->padded) - p0);
	CHECK(sr_ring_len(r) == 2, "len %" PRIu64 " after a partial commit", sr_ring_len(r));
	m_claim(m, &c, 2, 2);
	CHECK(c.seq == seq + (mp && drop ? 4 : 2), "next claim at %" PRIu64 ", first at %" PRIu64, c.seq, seq);
	seq = c.seq;
	m_commit(m, &c, 0); /* abort */
	CHECK(sr_ring_len(r) == 2, "len %" PRIu64 " after an abort", sr_ring_len(r));
	m_claim(m, &c, 1, 1);
	CHECK(c.seq == seq + (mp && drop ? 2 : 0), "claim after abort at %" PRIu64 ", %" PRIu64, c.seq, seq);
	m_commit(m, &c, 1);
	CHECK(sr_ring_len(r) == 3, "len %" PRIu64, sr_ring_len(r));
	m_drain(m);
	/* The consumer stepped over all of it (K4). */
	CHECK(ld(&r->padded) - p0 == (mp && drop ? 4 : 0) && ld(&r->skipped) - s0 == ld(&r->padded) - p0,
	      "padded %" PRIu64 " skipped %" PRIu64, ld(&r->padded) - p0, ld(&r->skipped) - s0);
	CHECK(sr_ring_evicted(r) == ev0, "evicted");
}

/* A claim across the end of the slot array: two spans. */
static void t_wrap(struct model *m)
{
	struct sr_ring *r = m->r;
	struct sr_claim c = SR_CLAIM_INIT;
	unsigned char b[8 * ESZ];

	m_move_to(m, r->capacity - 2);
	m_claim(m, &c, 5, 5);
	CHECK(c.len[0] == 2 && c.len[1] == 3 && c.span[0] == sr_ring_slot(r, r->capacity - 2) &&
	      c.span[1] == (char *)r + r->slots_offset,
	      "wrapped spans");
	m_commit(m, &c, 5);
	/* Read back across the wrap too, then all of it at once by a pop. */
	m_read(m, &c, 8, 5);
	CHECK(c.len[0] == 2 && c.len[1] == 3, "wrapped read spans");
	CHECK(sr_ring_read_release(r, &c, 0) == 0, "release 0");
	CHECK(sr_ring_pop_bulk(r, b, 5) == 5, "pop_bulk");
	for (int j = 0; j < 5; j++)
		CHECK(get(b + j * ESZ, ESZ) == m->q[m->head++ % 1024], "bulk item %d", j);
	m_drain(m);
}

/* A full ring: Block/Reject turn the claim away, DropOldest evicts. */
static void t_full(struct model *m, bool mp)
{
	struct sr_ring *r = m->r;
	struct sr_claim c = SR_CLAIM_INIT;
	uint64_t ev0 = sr_ring_evicted(r), p0 = ld(&r->padded), s0 = ld(&r->skipped);

	while (m_len(m) < r->capacity)
		m_push(m);
	if (r->backpressure != SR_DROP_OLDEST) {
		CHECK(sr_ring_try_claim(r, &c, 1) == -EAGAIN && c.n == 0, "try_claim on a full ring");
		if (r->backpressure == SR_REJECT)
			CHECK(sr_ring_claim(r, &c, 2) == -ENOBUFS && c.n == 0, "Reject: claim on a full ring");
		m_pop(m);
		m_claim(m, &c, 3, 1); /* what is free, at least 1 */
		m_commit(m, &c, 1);
		m_drain(m);
		return;
	}
	/* DropOldest: the claim evicts the 3 oldest, and that stands. */
	CHECK(sr_ring_try_claim(r, &c, 3) == 3 && sr_ring_evicted(r) == ev0 + 3, "evicting claim: evicted %" PRIu64,
	      sr_ring_evicted(r) - ev0);
	m->head += 3;
	CHECK(sr_ring_commit(r, &c, 0) == 0, "abort");
	/* SPSC: the slots are free again; MPSC: they are padding. */
	CHECK(ld(&r->padded) - p0 == (mp ? 3u : 0u), "padded %" PRIu64, ld(&r->padded) - p0);
	CHECK(sr_ring_len(r) == r->capacity - 3, "len %" PRIu64 " after an aborted evicting claim", sr_ring_len(r));
	m_drain(m);
	CHECK(ld(&r->skipped) - s0 == (mp ? 3u : 0u), "skipped %" PRIu64, ld(&r->skipped) - s0);
	/* Usable: a full ring again, no eviction on the way. */
	while (m_len(m) < r->capacity)
		m_push(m);
	CHECK(sr_ring_evicted(r) == ev0 + 3, "evicted %" PRIu64 " after the abort", sr_ring_evicted(r) - ev0);
	CHECK(sr_ring_len(r) == r->capacity, "len %" PRIu64, sr_ring_len(r));
	/* A claim over the full ring again, committed: the 2 oldest are
	 * evicted, the 2 new ones follow the rest. */
	m_claim(m, &c, 2, 2);
	m->head += 2;
	m_commit(m, &c, 2);
	CHECK(sr_ring_evicted(r) == ev0 + 5, "evicted");
	m_drain(m);
}

/* Read claims with partial release; DropOldest's held rest goes first. */
static void t_read(struct model *m)
{
	struct sr_ring *r = m->r;
	struct sr_claim c = SR_CLAIM_INIT, c2 = SR_CLAIM_INIT;
	bool drop = r->backpressure == SR_DROP_OLDEST;
	unsigned char b[8 * ESZ];

	for (int i = 0; i < 6; i++)
		m_push(m);
	m_read(m, &c, 4, 4);
	CHECK(sr_ring_try_read_claim(r, &c2, 1) == -EBUSY && sr_ring_read_claim(r, &c2, 1) == -EBUSY,
	      "second read claim");
	CHECK(sr_ring_try_pop(r, b) == -EBUSY && sr_ring_pop(r, b) == -EBUSY && sr_ring_pop_burst(r, b, 2) == -EBUSY &&
	      sr_ring_pop_bulk(r, b, 1) == -EBUSY,
	      "pop during a read claim");
	CHECK(sr_ring_try_claim(r, &c, 1) == -EBUSY, "producer claim on a reading handle");
	CHECK(sr_ring_commit(r, &c, 0) == -ENOENT, "commit of a read claim");
	CHECK(sr_ring_read_release(r, &c, 5) == -EINVAL && c.n == 4, "release past the claim");
	/* Block/Reject: still in the ring; DropOldest: won, not yet held. */
	CHECK(sr_ring_len(r) == (drop ? 2u : 6u), "len %" PRIu64 " during a read claim", sr_ring_len(r));
	m_release(m, &c, 1);
	CHECK(sr_ring_read_release(r, &c, 0) == -ENOENT, "second release");
	CHECK(sr_ring_len(r) == 5, "len %" PRIu64 " after a partial release", sr_ring_len(r));
	if (drop)
		CHECK(r->read_end - r->read_start == 3, "held %" PRIu64, r->read_end - r->read_start);
	m_pop(m); /* the rest of the claim first */
	CHECK(sr_ring_len(r) == 4, "len %" PRIu64, sr_ring_len(r));
	/* DropOldest: a read claim hands out only held items while any are. */
	m_read(m, &c, 8, drop ? 2 : 4);
	m_release(m, &c, 1);
	if (drop) {
		/* held 1, in the ring 2: a bulk pop takes from both, in order. */
		CHECK(sr_ring_pop_bulk(r, b, 4) == -EAGAIN, "bulk past what is there");
		CHECK(sr_ring_pop_bulk(r, b, 3) == 3, "bulk across held and ring");
		for (int j = 0; j < 3; j++)
			CHECK(get(b + j * ESZ, ESZ) == m->q[m->head++ % 1024], "bulk item %d", j);
		for (int i = 0; i < 3; i++)
			m_push(m);
		m_read(m, &c, 3, 3);
		m_release(m, &c, 1);
		/* A burst takes the held ones only. */
		CHECK(sr_ring_pop_burst(r, b, 8) == 2, "burst of the held");
		for (int j = 0; j < 2; j++)
			CHECK(get(b + j * ESZ, ESZ) == m->q[m->head++ % 1024], "burst item %d", j);
	}
	/* Released in full, the claim's items are gone. */
	if (m_len(m)) {
		m_read(m, &c, 8, (int)m_len(m));
		m_release(m, &c, c.n);
	}
	m_drain(m);
	CHECK(r->read_len == 0 && r->read_start == r->read_end, "consumer words");
}

/* MPSC: padding past head and at head; give-back by CAS (K3, K4). */
static void t_padding(struct model *m)
{
	struct sr_ring *r = m->r;
	struct sr_claim c1 = SR_CLAIM_INIT, c2 = SR_CLAIM_INIT, c3 = SR_CLAIM_INIT;
	bool drop = r->backpressure == SR_DROP_OLDEST;
	uint64_t p0 = ld(&r->padded), s0 = ld(&r->skipped), t0, v2, v3;
	unsigned char b[8 * ESZ];

	/* c1 committed in part while c2 was claimed after it: padding. */
	m_claim(m, &c1, 3, 3);
	t0 = c1.seq;
	m->next += 3;
	m_claim(m, &c2, 2, 2);
	CHECK(c2.seq == t0 + 3, "c2 at %" PRIu64, c2.seq);
	m_commit(m, &c1, 1);
	CHECK(ld(&r->padded) == p0 + 2 && ld(&r->tail) == t0 + 5, "padded %" PRIu64 " tail %" PRIu64,
	      ld(&r->padded) - p0, ld(&r->tail) - t0);
	/* 1 item, 2 pads, c2 pending: the pending claim counts, pads do not. */
	CHECK(sr_ring_len(r) == 3, "len %" PRIu64 " with padding", sr_ring_len(r));
	m_commit(m, &c2, 2);
	/* A burst stops at the padding past head... */
	CHECK(sr_ring_pop_burst(r, b, 8) == 1, "burst up to the padding");
	CHECK(get(b, ESZ) == m->q[m->head++ % 1024], "item before the padding");
	CHECK(ld(&r->skipped) == s0, "skipped before it reached the padding");
	/* ...and the next steps over it. */
	CHECK(sr_ring_pop_burst(r, b, 8) == 2, "burst after the padding");
	for (int j = 0; j < 2; j++)
		CHECK(get(b + j * ESZ, ESZ) == m->q[m->head++ % 1024], "item %d after the padding", j);
	CHECK(ld(&r->skipped) == s0 + 2, "skipped %" PRIu64, ld(&r->skipped) - s0);
	m_drain(m);

	/* The last claim gives its rest back (Block/Reject): no padding. */
	p0 = ld(&r->padded);
	m_claim(m, &c1, 4, 4);
	t0 = c1.seq;
	m_commit(m, &c1, 1);
	CHECK(ld(&r->padded) == p0 + (drop ? 3 : 0) && ld(&r->tail) == t0 + (drop ? 4 : 1),
	      "give-back: padded %" PRIu64 " tail %" PRIu64, ld(&r->padded) - p0, ld(&r->tail) - t0);
	/* An aborted later claim gave its slots back first, so the earlier
	 * one can too. */
	m_claim(m, &c1, 2, 2);
	t0 = c1.seq;
	m->next += 2;
	m_claim(m, &c2, 2, 2);
	m_commit(m, &c2, 0);
	m_commit(m, &c1, 1);
	CHECK(ld(&r->tail) == t0 + (drop ? 4 : 1), "tail %" PRIu64 " after two give-backs", ld(&r->tail) - t0);
	m_drain(m);
	/* An abort with later claims pending: padding at head, which the
	 * consumer steps over; then it waits for c2, which holds back c3. */
	s0 = ld(&r->skipped);
	m_claim(m, &c1, 2, 2);
	m->next += 2;
	m_claim(m, &c2, 1, 1);
	v2 = m->next++;
	m_claim(m, &c3, 2, 2);
	v3 = m->next;
	m->next += 2;
	CHECK(sr_ring_commit(r, &c1, 0) == 0 && sr_ring_commit(r, &c3, 2) == 2, "abort c1, commit c3");
	CHECK(sr_ring_try_pop(r, b) == -EAGAIN && ld(&r->skipped) == s0 + 2, "c3 held back by c2; skipped %" PRIu64,
	      ld(&r->skipped) - s0);
	CHECK(sr_ring_len(r) == 3, "len %" PRIu64, sr_ring_len(r)); /* c2 pending, c3 */
	CHECK(sr_ring_commit(r, &c2, 1) == 1, "commit c2");
	m_add(m, v2);
	m_add(m, v3);
	m_add(m, v3 + 1);
	m_drain(m);

	if (drop) {
		/* Producers win padding they need (K4), without evicting. */
		uint64_t ev0 = sr_ring_evicted(r);

		p0 = ld(&r->padded);
		s0 = ld(&r->skipped);
		m_claim(m, &c1, (unsigned)r->capacity, (int)r->capacity);
		m_commit(m, &c1, 0);
		CHECK(ld(&r->padded) == p0 + r->capacity, "padded %" PRIu64, ld(&r->padded) - p0);
		CHECK(sr_ring_len(r) == 0, "len %" PRIu64 " of padding only", sr_ring_len(r));
		for (uint64_t i = 0; i < r->capacity; i++)
			m_push(m);
		CHECK(sr_ring_evicted(r) == ev0 && ld(&r->skipped) == s0 + r->capacity,
		      "evicted %" PRIu64 " skipped %" PRIu64, sr_ring_evicted(r) - ev0, ld(&r->skipped) - s0);
		CHECK(sr_ring_len(r) == r->capacity, "len %" PRIu64, sr_ring_len(r));
		m_drain(m);
	}
	CHECK(ld(&r->padded) == ld(&r->skipped), "padded %" PRIu64 " != skipped %" PRIu64 " once drained",
	      ld(&r->padded), ld(&r->skipped));
}

/* mem: lay the ring out there (sr_ring_init: every stamp written, as in
 * shared memory) instead of sr_ring_new. */
static void t_single(uint32_t bp, bool mp, void *mem)
{
	struct sr_config cfg = { .capacity = 8, .elem_size = ESZ, .backpressure = bp, .wait = SR_WAIT_SPIN };
	struct model m = { .r = mem, .next = 1000 };

	if (mem) {
		memset(mem, 0xa5, sr_ring_size(&cfg)); /* not zeroed */
		CHECK(sr_ring_init(mem, sr_ring_size(&cfg), &cfg) == 0, "sr_ring_init");
	} else {
		m.r = mk(8, ESZ, bp, SR_WAIT_SPIN, 0);
	}

	if (mp) {
		CHECK(sr_ring_add_producer(m.r) == 0 && sr_ring_is_multi(m.r), "upgrade");
		CHECK(sr_ring_close(m.r, SR_CLOSED_PRODUCER) == 0 && sr_ring_closed(m.r) == 0, "one producer again");
	}
	t_errors(&m, mp);
	t_commit(&m, mp);
	t_wrap(&m);
	t_full(&m, mp);
	t_read(&m);
	if (mp)
		t_padding(&m);
	t_wrap(&m);
	t_read(&m);
	if (!mem)
		sr_ring_release(m.r);
}

/* --- Close with claims pending (K6, F1-F3) --- */

static void t_close(uint32_t bp, bool mp)
{
	bool drop = bp == SR_DROP_OLDEST;
	struct sr_claim c = SR_CLAIM_INIT, c2 = SR_CLAIM_INIT, c3 = SR_CLAIM_INIT;
	unsigned char b[8 * ESZ];
	struct model m;

#define FRESH()                                                                                     \
	do {                                                                                        \
		m = (struct model){ .r = mk(8, ESZ, bp, SR_WAIT_PARK, 16), .next = 1 };            \
		if (mp)                                                                             \
			CHECK(sr_ring_add_producer(m.r) == 0 &&                                     \
				      sr_ring_close(m.r, SR_CLOSED_PRODUCER) == 0,                  \
			      "upgrade");                                                           \
	} while (0)
#define CLOSED_AND_DRAINED()                                                                                 \
	do {                                                                                                 \
		CHECK(sr_ring_try_pop(m.r, b) == -EPIPE && sr_ring_pop(m.r, b) == -EPIPE &&                  \
			      sr_ring_try_read_claim(m.r, &c, 1) == -EPIPE &&                                \
			      sr_ring_read_claim(m.r, &c, 1) == -EPIPE && c.n == 0,                          \
		      "not closed and drained");                                                             \
		CHECK(sr_ring_try_claim(m.r, &c2, 1) == -EPIPE && sr_ring_claim(m.r, &c2, 1) == -EPIPE,      \
		      "claim after close");                                                                  \
		CHECK(sr_ring_len(m.r) == 0, "len %" PRIu64, sr_ring_len(m.r));                              \
		sr_ring_release(m.r);                                                                        \
	} while (0)

	/* A commit that finds the close, before the consumer sealed: a push
	 * after a close, it takes nothing (K6). */
	FRESH();
	m_push(&m);
	m_claim(&m, &c, 3, 3);
	close_producers(m.r);
	CHECK(sr_ring_commit(m.r, &c, 3) == -EPIPE && c.n == 0, "commit after the close");
	while (m_len(&m))
		m_pop(&m);
	CLOSED_AND_DRAINED();

	/* The consumer sealed first: the commit takes nothing. */
	FRESH();
	m_push(&m);
	m_claim(&m, &c, 3, 3);
	close_producers(m.r);
	m_pop(&m);
	CHECK(sr_ring_try_pop(m.r, b) == -EPIPE, "sealed before the commit");
	CHECK(sr_ring_commit(m.r, &c, 2) == -EPIPE && c.n == 0, "commit after the seal");
	CLOSED_AND_DRAINED();

	/* An abort after the close: -EPIPE, and the claim ends. */
	FRESH();
	m_claim(&m, &c, 2, 2);
	close_producers(m.r);
	CHECK(sr_ring_commit(m.r, &c, 0) == -EPIPE && c.n == 0, "abort after close");
	CLOSED_AND_DRAINED();

	if (mp) {
		/* A published later claim waits for the pending one (F2 does
		 * not seal past it); the pending one's commit after the close
		 * takes nothing and pads, and the later claim's items come. */
		FRESH();
		m_claim(&m, &c, 3, 3);
		m.next += 3;
		m_claim(&m, &c2, 2, 2);
		m_commit(&m, &c2, 2);
		close_producers(m.r);
		CHECK(sr_ring_try_pop(m.r, b) == -EAGAIN, "sealed past a published claim");
		CHECK(sr_ring_try_read_claim(m.r, &c2, 1) == -EAGAIN && c2.n == 0, "read claim held back");
		CHECK(sr_ring_commit(m.r, &c, 1) == -EPIPE && c.n == 0, "commit after close");
		CHECK(ld(&m.r->padded) == 3, "padded %" PRIu64, ld(&m.r->padded));
		while (m_len(&m))
			m_pop(&m);
		CHECK(ld(&m.r->skipped) == 3, "skipped %" PRIu64, ld(&m.r->skipped));
		CLOSED_AND_DRAINED();

		/* A pad at head after the close: stepped over, then sealed
		 * at the pending claim past it (nothing of it was published
		 * or promised), whose commit then takes nothing. */
		FRESH();
		m_claim(&m, &c, 2, 2);
		m_claim(&m, &c2, 1, 1);
		close_producers(m.r);
		CHECK(sr_ring_commit(m.r, &c, 0) == -EPIPE, "abort after the close");
		/* F2 as a consumer that looked before the padding landed:
		 * padding at head counts as ready, so it does not seal. */
		CHECK(!sr_drained(m.r) && !sr_sealed(m.r), "sealed at padding");
		CHECK(sr_ring_try_pop(m.r, b) == -EPIPE && ld(&m.r->skipped) == 2, "seal past the padding");
		CHECK(sr_ring_commit(m.r, &c2, 1) == -EPIPE, "commit past the seal");
		CLOSED_AND_DRAINED();
	}

	if (mp) {
		/* Padding past head is nothing published (F2): the consumer
		 * seals at the pending claim before it. */
		FRESH();
		m_claim(&m, &c, 1, 1);
		m.next += 1;
		m_claim(&m, &c2, 2, 2);
		m.next += 2;
		m_claim(&m, &c3, 1, 1);
		CHECK(sr_ring_commit(m.r, &c2, 0) == 0 && ld(&m.r->padded) == 2, "padding between claims");
		close_producers(m.r);
		CHECK(sr_drained(m.r), "padding past head counted as published");
		CHECK(sr_ring_commit(m.r, &c, 1) == -EPIPE && sr_ring_commit(m.r, &c3, 1) == -EPIPE, "commits past the seal");
		CLOSED_AND_DRAINED();
	}

	/* The consumer closed: a commit takes nothing. */
	FRESH();
	m_claim(&m, &c, 2, 2);
	CHECK(sr_ring_close(m.r, SR_CLOSED_CONSUMER) == 0, "close consumer");
	CHECK(sr_ring_commit(m.r, &c, 2) == -EPIPE && c.n == 0, "commit after the consumer closed");
	CHECK(sr_ring_try_claim(m.r, &c, 1) == -EPIPE && sr_ring_try_pop(m.r, b) == -EPIPE, "after close");
	sr_ring_release(m.r);

	/* Held and unreleased items survive the producer's close. */
	FRESH();
	for (int i = 0; i < 5; i++)
		m_push(&m);
	m_read(&m, &c, 3, 3);
	close_producers(m.r);
	m_release(&m, &c, 1);
	m_pop(&m);
	m_read(&m, &c, 8, drop ? 1 : 3);
	m_release(&m, &c, 1);
	m_read(&m, &c, 8, 2);
	m_release(&m, &c, 0);
	CHECK(sr_ring_pop_bulk(m.r, b, 2) == 2, "bulk of the last");
	m.head += 2;
	CLOSED_AND_DRAINED();

	/* A read claim pending across the close. */
	FRESH();
	m_push(&m);
	m_push(&m);
	m_read(&m, &c, 2, 2);
	close_producers(m.r);
	CHECK(sr_ring_try_pop(m.r, b) == -EBUSY, "pop during the read claim");
	m_release(&m, &c, 1);
	m_pop(&m);
	CLOSED_AND_DRAINED();
#undef FRESH
#undef CLOSED_AND_DRAINED
}

/* --- Blocked claims (W1) --- */

struct blk {
	struct sr_ring *r;
	int rc, rc2;
	unsigned n;
	uint64_t v;
	atomic_int done;
};

static void *blocked_claim(void *arg)
{
	struct blk *b = arg;
	struct sr_claim c = SR_CLAIM_INIT;

	b->rc = sr_ring_claim(b->r, &c, b->n);
	if (b->rc > 0) {
		for (int j = 0; j < b->rc; j++)
			put(cslot(&c, (uint64_t)j, ESZ), ESZ, 500 + (uint64_t)j);
		b->rc2 = sr_ring_commit(b->r, &c, (unsigned)b->rc);
	}
	atomic_store(&b->done, 1);
	return NULL;
}

static void *blocked_read(void *arg)
{
	struct blk *b = arg;
	struct sr_claim c = SR_CLAIM_INIT;

	b->rc = sr_ring_read_claim(b->r, &c, b->n);
	if (b->rc > 0) {
		b->v = get(cslot(&c, 0, ESZ), ESZ);
		b->rc2 = sr_ring_read_release(b->r, &c, c.n);
	}
	atomic_store(&b->done, 1);
	return NULL;
}

/* Until the thread sleeps on `word` (it parks at once: spins 0). */
static void until_parked(struct blk *b, _Atomic uint32_t *word)
{
	for (int i = 0; !atomic_load(word); i++) {
		CHECK(i < 5000 && !atomic_load(&b->done), "never parked (rc %d)", b->rc);
		sleep_us(1000);
	}
	sleep_us(2000);
	CHECK(!atomic_load(&b->done), "did not block (rc %d)", b->rc);
}

static void t_blocked(bool mp)
{
	unsigned char it[ESZ];
	struct sr_claim c = SR_CLAIM_INIT, c2 = SR_CLAIM_INIT;

	for (int k = 0; k < 4; k++) {
		struct sr_ring *r = mk(4, ESZ, SR_BLOCK, SR_WAIT_PARK, 0);
		struct blk b = { .r = r, .n = 3 };
		pthread_t t;

		if (mp)
			CHECK(sr_ring_add_producer(r) == 0, "upgrade");
		if (k <= 1)
			for (int i = 0; i < 4; i++) {
				put(it, ESZ, (uint64_t)i);
				CHECK(sr_ring_try_push(r, it) == 0, "fill");
			}
		CHECK(pthread_create(&t, NULL, k <= 1 ? blocked_claim : blocked_read, &b) == 0, "pthread_create");
		until_parked(&b, k <= 1 ? &r->prod_wait : &r->cons_wait);
		switch (k) {
		case 0: /* room for one: the claim gets it (claims what is free) */
			CHECK(sr_ring_try_pop(r, it) == 0 && get(it, ESZ) == 0, "pop");
			pthread_join(t, NULL);
			CHECK(b.rc == 1 && b.rc2 == 1 && sr_ring_len(r) == 4, "woken claim: %d %d", b.rc, b.rc2);
			break;
		case 1: /* the consumer closes */
			CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close");
			pthread_join(t, NULL);
			CHECK(b.rc == -EPIPE, "blocked claim: %d", b.rc);
			break;
		case 2: /* a commit wakes the read claim */
			CHECK(sr_ring_try_claim(r, &c, 2) == 2, "claim");
			put(cslot(&c, 0, ESZ), ESZ, 77);
			CHECK(sr_ring_commit(r, &c, 1) == 1, "commit");
			pthread_join(t, NULL);
			CHECK(b.rc == 1 && b.v == 77 && b.rc2 == 0, "woken read claim: %d %" PRIu64, b.rc, b.v);
			break;
		case 3: /* the producer closes */
			close_producers(r);
			pthread_join(t, NULL);
			CHECK(b.rc == -EPIPE, "blocked read claim: %d", b.rc);
			break;
		}
		sr_ring_release(r);
	}
	if (mp) {
		/* The consumer waits at a claim that is then aborted while a
		 * later one is pending: the padding wakes it (W1), it steps
		 * over and sleeps again until the later one commits. */
		struct sr_ring *r = mk(8, ESZ, SR_BLOCK, SR_WAIT_PARK, 0);
		struct blk b = { .r = r, .n = 4 };
		pthread_t t;

		CHECK(sr_ring_add_producer(r) == 0, "upgrade");
		CHECK(sr_ring_try_claim(r, &c, 2) == 2 && sr_ring_try_claim(r, &c2, 1) == 1, "claims");
		put(cslot(&c2, 0, ESZ), ESZ, 88);
		CHECK(pthread_create(&t, NULL, blocked_read, &b) == 0, "pthread_create");
		until_parked(&b, &r->cons_wait);
		CHECK(sr_ring_commit(r, &c, 0) == 0, "abort");
		for (int i = 0; ld(&r->skipped) != 2 || !atomic_load(&r->cons_wait); i++) {
			CHECK(i < 5000 && !atomic_load(&b.done), "did not step over the padding");
			sleep_us(1000);
		}
		CHECK(sr_ring_commit(r, &c2, 1) == 1, "commit");
		pthread_join(t, NULL);
		CHECK(b.rc == 1 && b.v == 88, "read claim after the padding: %d %" PRIu64, b.rc, b.v);
		sr_ring_release(r);
	}
}

/* --- Concurrent: producers mixing claims and pushes, a consumer mixing
 * read claims and pops --- */

#define MAXP 3
#define MAXK 16
#define POISON 0x80u /* in an item's producer byte: written, never committed */

struct cscen {
	const char *name;
	struct sr_config cfg;
	int np;
	bool mp;	/* MPSC mode even with one producer */
	unsigned maxk;
	bool close_mid; /* another thread closes the producer side meanwhile */
	unsigned pace;	/* cpu pauses per item pushed (DropOldest: keep the
			 * consumer in the race) */
};

struct cshared {
	const struct cscen *s;
	struct sr_ring *r;
	uint64_t n;
	atomic_int ready;
	/* consumer */
	uint8_t *seen[MAXP];
	uint64_t last[MAXP], popped;
	uint64_t rclaims, rpartial;
};

struct cprod {
	struct cshared *x;
	int g;
	uint64_t rng, acked;
	uint64_t claims, partial, aborts, pushes, cut; /* cut: commits a close cut short */
};

static uint64_t ival(int g, uint64_t i)
{
	return (uint64_t)g << 40 | i;
}

static void cbackoff(unsigned *fails)
{
	if (++*fails % 16)
		sr_relax();
	else
		sched_yield();
}

static void *cproducer(void *arg)
{
	struct cprod *p = arg;
	struct cshared *x = p->x;
	const struct cscen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, i = 0;
	unsigned char buf[MAXK * sizeof(struct item24)];
	unsigned fails = 0;
	struct sr_claim c = SR_CLAIM_INIT;
	int rc;

	atomic_fetch_add(&x->ready, 1);
	while (atomic_load(&x->ready) < s->np + 1)
		sched_yield();
	while (i < x->n) {
		unsigned op = (unsigned)(rnd(&p->rng) % 8);
		uint64_t k = 1 + rnd(&p->rng) % s->maxk;

		if (k > x->n - i)
			k = x->n - i;
		if (op < 5) {
			unsigned m = (unsigned)(rnd(&p->rng) % 10);
			uint64_t got, kc;

			rc = op & 1 ? sr_ring_claim(r, &c, (unsigned)k) : sr_ring_try_claim(r, &c, (unsigned)k);
			if (rc == -EPIPE)
				break;
			if (rc == -EAGAIN || rc == -ENOBUFS) {
				CHECK(rc == -EAGAIN ? !(op & 1) : s->cfg.backpressure == SR_REJECT, "claim: %d", rc);
				cbackoff(&fails);
				continue;
			}
			CHECK(rc >= 1 && (uint64_t)rc <= k && c.n == (unsigned)rc, "claim(%" PRIu64 "): %d", k, rc);
			check_spans(r, &c);
			got = (uint64_t)rc;
			kc = m < 6 ? got : m < 8 ? rnd(&p->rng) % (got + 1) : 0;
			for (uint64_t j = 0; j < got; j++)
				put(cslot(&c, j, esz), esz, j < kc ? ival(p->g, i + j) : ival(p->g | POISON, i + j));
			/* Now and then hold the claim open, so that others
			 * claim after it (MPSC: padding, not give-back). */
			if (rnd(&p->rng) % 4 == 0) {
				if (rnd(&p->rng) % 8)
					for (unsigned w = (unsigned)(rnd(&p->rng) % 256); w; w--)
						sr_relax();
				else
					sched_yield();
			}
			rc = sr_ring_commit(r, &c, (unsigned)kc);
			CHECK(c.n == 0, "claim still pending after commit: %d", rc);
			p->claims++;
			p->partial += kc && kc < got;
			p->aborts += kc == 0;
			if (kc == 0) {
				CHECK(rc == 0 || (s->close_mid && rc == -EPIPE), "abort: %d", rc);
				if (rc < 0)
					break; /* a close: K6 */
			} else {
				CHECK(rc == (int)kc || (s->close_mid && (rc == -EPIPE || (rc > 0 && (uint64_t)rc < kc))),
				      "commit(%" PRIu64 "): %d", kc, rc);
				if (rc > 0)
					i += (uint64_t)rc;
				if (rc < (int)kc) {
					p->cut++;
					break; /* a close kept the rest out */
				}
				for (uint64_t w = 0; w < kc * s->pace; w++)
					sr_relax();
			}
		} else {
			for (uint64_t j = 0; j < k; j++)
				put(buf + j * esz, esz, ival(p->g, i + j));
			switch (op) {
			case 5:
				rc = sr_ring_push(r, buf);
				rc = rc == 0 ? 1 : rc;
				break;
			case 6:
				rc = sr_ring_try_push(r, buf);
				rc = rc == 0 ? 1 : rc;
				break;
			default:
				rc = sr_ring_push_burst(r, buf, (unsigned)k);
			}
			if (rc == -EPIPE)
				break;
			CHECK(rc >= 0 || rc == -EAGAIN || rc == -ENOBUFS, "push: %d", rc);
			if (rc > 0) {
				i += (uint64_t)rc;
				p->pushes++;
				for (uint64_t w = 0; w < (uint64_t)rc * s->pace; w++)
					sr_relax();
			}
			if (rc <= 0) {
				cbackoff(&fails);
				continue;
			}
		}
		fails = 0;
	}
	p->acked = i;
	if (!s->close_mid)
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close");
	return NULL;
}

/* Items that must come next, in order: the unreleased rest of the last
 * read claim (K5). */
struct pend {
	uint64_t v[MAXK];
	unsigned n;
};

/* got items vals[0..got) came out; the first `keep_from` of them are
 * consumed, the rest must come out again next. */
static void consume(struct cshared *x, struct pend *pd, const uint64_t *vals, unsigned got, unsigned keep_from)
{
	const struct cscen *s = x->s;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	struct pend next = { .n = 0 };

	for (unsigned j = 0; j < got; j++) {
		uint64_t v = vals[j], g = v >> 40, i = v & ((UINT64_C(1) << 40) - 1);

		if (j < pd->n) {
			CHECK(v == pd->v[j], "the unreleased rest came back as %" PRIx64 ", want %" PRIx64, v, pd->v[j]);
			continue;
		}
		CHECK(!(g & POISON), "an uncommitted item came out: %" PRIx64, v);
		CHECK(g < (uint64_t)s->np && i < x->n, "bad item %" PRIx64, v);
		CHECK(!(x->seen[g][i / 8] & (1u << i % 8)), "item %" PRIx64 " came out twice", v);
		x->seen[g][i / 8] |= (uint8_t)(1u << i % 8);
		CHECK(drop ? x->last[g] == UINT64_MAX || i > x->last[g] : i == x->last[g] + 1,
		      "producer %" PRIu64 ": %" PRIu64 " after %" PRIu64, g, i, x->last[g]);
		x->last[g] = i;
	}
	for (unsigned j = keep_from; j < got; j++)
		next.v[next.n++] = vals[j];
	for (unsigned j = got; j < pd->n; j++)
		next.v[next.n++] = pd->v[j];
	x->popped += keep_from; /* consumed now, once each */
	*pd = next;
}

static void *cconsumer(void *arg)
{
	struct cshared *x = arg;
	const struct cscen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, rng = 0x5eed ^ (uint64_t)s->np, vals[MAXK], cap = s->cfg.capacity;
	unsigned char buf[MAXK * sizeof(struct item24)];
	struct sr_claim c = SR_CLAIM_INIT;
	struct pend pd = { .n = 0 };
	unsigned fails = 0;
	int rc;

	atomic_fetch_add(&x->ready, 1);
	while (atomic_load(&x->ready) < s->np + 1)
		sched_yield();
	for (;;) {
		unsigned op = (unsigned)(rnd(&rng) % 7);
		uint64_t k = 1 + rnd(&rng) % s->maxk;
		unsigned got = 0;

		if (k > cap)
			k = cap;
		if (op < 3) {
			unsigned m = (unsigned)(rnd(&rng) % 4), kr;

			rc = op ? sr_ring_read_claim(r, &c, (unsigned)k) : sr_ring_try_read_claim(r, &c, (unsigned)k);
			if (rc == -EPIPE)
				break;
			if (rc == -EAGAIN) {
				cbackoff(&fails);
				continue;
			}
			CHECK(rc >= 1 && (uint64_t)rc <= k && c.n == (unsigned)rc, "read_claim(%" PRIu64 "): %d", k,
			      rc);
			check_spans(r, &c);
			got = (unsigned)rc;
			for (unsigned j = 0; j < got; j++)
				vals[j] = get(cslot(&c, j, esz), esz);
			kr = m ? got : (unsigned)(rnd(&rng) % (got + 1));
			consume(x, &pd, vals, got, kr);
			x->rclaims++;
			x->rpartial += kr < got;
			CHECK(sr_ring_read_release(r, &c, kr) == 0 && c.n == 0, "read_release");
			check_tail_cache(r);
		} else {
			switch (op) {
			case 3:
				rc = sr_ring_pop(r, buf);
				rc = rc == 0 ? 1 : rc;
				break;
			case 4:
				rc = sr_ring_try_pop(r, buf);
				rc = rc == 0 ? 1 : rc;
				break;
			case 5:
				rc = sr_ring_pop_burst(r, buf, (unsigned)k);
				break;
			default:
				rc = sr_ring_pop_bulk(r, buf, (unsigned)k);
			}
			if (rc == -EPIPE)
				break;
			CHECK(rc >= 0 || rc == -EAGAIN, "pop: %d", rc);
			if (rc <= 0) {
				cbackoff(&fails);
				continue;
			}
			got = (unsigned)rc;
			for (unsigned j = 0; j < got; j++)
				vals[j] = get(buf + j * esz, esz);
			consume(x, &pd, vals, got, got);
		}
		CHECK(sr_ring_len(r) <= cap, "len %" PRIu64, sr_ring_len(r));
		fails = 0;
	}
	CHECK(pd.n == 0, "closed and drained with %u items unreleased", pd.n);
	CHECK(sr_ring_try_pop(r, buf) == -EPIPE && sr_ring_try_read_claim(r, &c, 1) == -EPIPE, "drained stays so");
	return NULL;
}

static void crun(const struct cscen *s, uint64_t n, unsigned rounds)
{
	double t0 = now();
	uint64_t tot_claims = 0, tot_partial = 0, tot_aborts = 0, tot_pushes = 0, tot_acked = 0, tot_popped = 0,
		 tot_ev = 0, tot_pad = 0, tot_rc = 0, tot_rp = 0, tot_cut = 0;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	uint64_t rng = 0xc1a1 + (uint64_t)s->np;

	wd_arm(s->name);
	for (unsigned round = 0; round < rounds; round++) {
		struct cshared x = { .s = s, .n = n };
		struct cprod ps[MAXP];
		pthread_t pt[MAXP], ct;
		uint64_t acked = 0;
		int err;

		x.r = sr_ring_new(&s->cfg, &err);
		CHECK(x.r, "sr_ring_new: %d", err);
		if (s->mp || s->np > 1) {
			for (int g = 1; g < (s->np > 1 ? s->np : 2); g++)
				CHECK(sr_ring_add_producer(x.r) == 0, "add_producer");
			if (s->np == 1)
				CHECK(sr_ring_close(x.r, SR_CLOSED_PRODUCER) == 0, "one producer");
		}
		for (int g = 0; g < MAXP; g++) {
			x.seen[g] = calloc(n / 8 + 1, 1);
			x.last[g] = UINT64_MAX;
		}
		CHECK(pthread_create(&ct, NULL, cconsumer, &x) == 0, "pthread_create");
		for (int g = 0; g < s->np; g++) {
			ps[g] = (struct cprod){ .x = &x, .g = g, .rng = rnd(&rng) | 1 };
			CHECK(pthread_create(&pt[g], NULL, cproducer, &ps[g]) == 0, "pthread_create");
		}
		if (s->close_mid) {
			while (atomic_load(&x.ready) < s->np + 1)
				sched_yield();
			sleep_us(200 + (long)(rnd(&rng) % 3000));
			close_producers(x.r);
		}
		for (int g = 0; g < s->np; g++)
			pthread_join(pt[g], NULL);
		pthread_join(ct, NULL);
		for (int g = 0; g < s->np; g++) {
			acked += ps[g].acked;
			/* Whatever came out was acknowledged; Block/Reject:
			 * all of it came out (the order check saw it whole). */
			CHECK(x.last[g] == UINT64_MAX || x.last[g] < ps[g].acked,
			      "%s: producer %d: %" PRIu64 " came out, %" PRIu64 " acknowledged", s->name, g, x.last[g],
			      ps[g].acked);
			CHECK(drop || (ps[g].acked == 0 ? x.last[g] == UINT64_MAX : x.last[g] == ps[g].acked - 1),
			      "%s: producer %d: %" PRIu64 " acknowledged, last out %" PRIu64, s->name, g, ps[g].acked,
			      x.last[g]);
			tot_claims += ps[g].claims;
			tot_partial += ps[g].partial;
			tot_aborts += ps[g].aborts;
			tot_pushes += ps[g].pushes;
			tot_cut += ps[g].cut;
		}
		CHECK(acked == x.popped + sr_ring_evicted(x.r),
		      "%s: acknowledged %" PRIu64 " != popped %" PRIu64 " + evicted %" PRIu64, s->name, acked, x.popped,
		      sr_ring_evicted(x.r));
		CHECK(drop || sr_ring_evicted(x.r) == 0, "evicted");
		CHECK(s->close_mid || ld(&x.r->padded) == ld(&x.r->skipped),
		      "%s: padded %" PRIu64 " != skipped %" PRIu64, s->name, ld(&x.r->padded), ld(&x.r->skipped));
		CHECK(sr_ring_len(x.r) == 0, "len %" PRIu64 " once drained", sr_ring_len(x.r));
		tot_acked += acked;
		tot_popped += x.popped;
		tot_ev += sr_ring_evicted(x.r);
		tot_pad += ld(&x.r->padded);
		tot_rc += x.rclaims;
		tot_rp += x.rpartial;
		for (int g = 0; g < MAXP; g++)
			free(x.seen[g]);
		sr_ring_release(x.r);
	}
	printf("ok  %-28s %-6s %-5s cap=%-3" PRIu64 " esz=%-2" PRIu64 " p=%d acked=%-7" PRIu64 " popped=%-7" PRIu64
	       " evicted=%-6" PRIu64 " claims=%" PRIu64 " (partial %" PRIu64 ", aborted %" PRIu64 ") pushes=%" PRIu64
	       " padded=%" PRIu64 " reads=%" PRIu64 " (partial %" PRIu64 ") cut-by-close=%" PRIu64 " %.2fs\n",
	       s->name, bp_name[s->cfg.backpressure], wait_name[s->cfg.wait], s->cfg.capacity, s->cfg.elem_size, s->np,
	       tot_acked, tot_popped, tot_ev, tot_claims, tot_partial, tot_aborts, tot_pushes, tot_pad, tot_rc, tot_rp,
	       tot_cut, now() - t0);
}

static bool want(const char *only, const char *name)
{
	return !only || strstr(name, only);
}

int main(void)
{
	const char *e, *only = getenv("SR_CLAIM_ONLY");
	uint64_t n = 200000;
	pthread_t wd;
	double t0 = now();

	if ((e = getenv("SR_CLAIM_N")) && *e)
		n = strtoull(e, NULL, 0);
	if ((e = getenv("SR_CLAIM_TIMEOUT")) && *e)
		wd_timeout = atoi(e);
	CHECK(n >= 1000, "SR_CLAIM_N too small");
	wd_arm("start");
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0, "pthread_create");
	pthread_detach(wd);

	if (want(only, "single")) {
		struct sr_config cfg = { .capacity = 8, .elem_size = ESZ };
		void *mem = aligned_alloc(SR_LINE, sr_round_line(sr_ring_size(&cfg)));

		wd_arm("single");
		CHECK(mem, "aligned_alloc");
		for (uint32_t bp = SR_BLOCK; bp <= SR_REJECT; bp++)
			for (int mp = 0; mp < 2; mp++) {
				t_single(bp, mp, NULL);
				t_single(bp, mp, mem);
			}
		free(mem);
		printf("ok  single: spsc/mpsc x block/drop/reject, new and init rings: commit, abort, wrap, errors, "
		       "padding, read claims  %.2fs\n",
		       now() - t0);
	}
	if (want(only, "close")) {
		double t1 = now();

		wd_arm("close");
		for (uint32_t bp = SR_BLOCK; bp <= SR_REJECT; bp++)
			for (int mp = 0; mp < 2; mp++)
				t_close(bp, mp);
		printf("ok  close: commits after close (K6), seal, consumer close, held items  %.2fs\n", now() - t1);
	}
	if (want(only, "blocked")) {
		double t1 = now();

		wd_arm("blocked");
		t_blocked(false);
		t_blocked(true);
		printf("ok  blocked: claims and read claims woken by room, data, padding and close  %.2fs\n",
		       now() - t1);
	}

#define CFG(cap, esz, bp, w, sp) \
	{ .capacity = cap, .elem_size = esz, .backpressure = bp, .wait = w, .spins = sp }
	const struct cscen cs[] = {
		{ "spsc block/8", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 64), 1, false, 8, false, 0 },
		{ "spsc block/64", CFG(64, 8, SR_BLOCK, SR_WAIT_SPIN_YIELD, 64), 1, false, 16, false, 0 },
		{ "spsc reject/8", CFG(8, 24, SR_REJECT, SR_WAIT_ADAPTIVE, 2000), 1, false, 8, false, 0 },
		{ "spsc drop/8", CFG(8, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 64), 1, false, 8, false, 32 },
		{ "spsc drop/64", CFG(64, 24, SR_DROP_OLDEST, SR_WAIT_SPIN_YIELD, 64), 1, false, 16, false, 32 },
		{ "mpsc1 block/8", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 64), 1, true, 8, false, 0 },
		{ "mpsc2 block/8", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 64), 2, true, 8, false, 0 },
		{ "mpsc3 block/64", CFG(64, 24, SR_BLOCK, SR_WAIT_ADAPTIVE, 5000), 3, true, 16, false, 0 },
		{ "mpsc2 reject/8", CFG(8, 24, SR_REJECT, SR_WAIT_SPIN_YIELD, 64), 2, true, 8, false, 0 },
		{ "mpsc1 drop/8", CFG(8, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 64), 1, true, 8, false, 32 },
		{ "mpsc3 drop/8", CFG(8, 24, SR_DROP_OLDEST, SR_WAIT_SPIN_YIELD, 64), 3, true, 8, false, 32 },
		{ "mpsc2 drop/64", CFG(64, 8, SR_DROP_OLDEST, SR_WAIT_PARK, 64), 2, true, 16, false, 32 },
	};
	const struct cscen cc[] = {
		{ "close spsc block/8", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 64), 1, false, 8, true, 0 },
		{ "close spsc drop/8", CFG(8, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 64), 1, false, 8, true, 32 },
		{ "close mpsc3 block/8", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 64), 3, true, 8, true, 0 },
		{ "close mpsc2 reject/8", CFG(8, 24, SR_REJECT, SR_WAIT_SPIN_YIELD, 64), 2, true, 8, true, 0 },
		{ "close mpsc3 drop/8", CFG(8, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 64), 3, true, 8, true, 32 },
	};
#undef CFG
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if (want(only, cs[i].name))
			crun(&cs[i], n / (uint64_t)cs[i].np, 1);
	for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++)
		if (want(only, cc[i].name))
			crun(&cc[i], n / 16, 32); /* the close lands within ~3 ms */
	printf("all ok (N=%" PRIu64 ") in %.2fs\n", n, now() - t0);
	return 0;
}
