/*
 * spill_test.c - single-threaded tests of the spill ring's C API (spill.h):
 * overflow into the spill area, -ENOBUFS when the area is full, order,
 * bursts, wrap-around, the settle of a Go owner's drops, and the lifecycle.
 * It includes spill.c as a private copy (SR_API static), which also checks
 * that that mode builds. Every check aborts with a message; the program
 * prints one "ok" line per test.
 *
 *	gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
 *	    -fno-sanitize-recover=all -Wall -Wextra -Werror \
 *	    csrc/test/spill_test.c -o /tmp/spill_test && /tmp/spill_test
 */
#define SR_API static
#include "../spill.c"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

static struct sr_spill *new_u64(uint64_t capacity, uint64_t spill_capacity)
{
	struct sr_spill_config cfg = {
		.capacity = capacity,
		.elem_size = sizeof(uint64_t),
		.spill_capacity = spill_capacity,
	};
	int err = 1;
	struct sr_spill *s = sr_spill_new(&cfg, &err);

	CHECK(s && err == 0, "sr_spill_new(%" PRIu64 ", %" PRIu64 "): %d", capacity, spill_capacity, err);
	return s;
}

/* pushed == popped + spilled + len, from the public words. */
static void check_counts(const struct sr_spill *s, uint64_t popped)
{
	CHECK(s->tail == popped + s->spilled + sr_spill_len(s),
	      "pushed %" PRIu64 " popped %" PRIu64 " spilled %" PRIu64 " len %" PRIu64, s->tail,
	      popped, s->spilled, sr_spill_len(s));
	CHECK(s->head - s->spilled == popped || s->tail - s->head > s->capacity,
	      "popped is head - spilled");
}

static void test_config(void)
{
	struct sr_spill_config bad[] = {
		{.capacity = 0, .elem_size = 8},
		{.capacity = 12, .elem_size = 8},
		{.capacity = SR_MAX_CAPACITY * 2, .elem_size = 8},
		{.capacity = 8, .elem_size = 0},
		{.capacity = 8, .elem_size = SR_MAX_ELEM_SIZE + 1},
		{.capacity = 8, .elem_size = 8, .spill_capacity = SR_MAX_CAPACITY + 1},
		{.capacity = SR_MAX_CAPACITY, .elem_size = SR_MAX_ELEM_SIZE}, /* too many bytes */
	};
	struct sr_spill_config good = {.capacity = 8, .elem_size = 8, .spill_capacity = 3};
	_Alignas(SR_LINE) static char mem[4096];
	struct sr_spill *s;
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sr_spill_size(&bad[i]) == 0, "bad config %zu has a size", i);
		err = 0;
		CHECK(sr_spill_new(&bad[i], &err) == NULL && err == -EINVAL, "bad config %zu: %d", i, err);
	}
	CHECK(sr_spill_size(NULL) == 0, "NULL config");
	CHECK(sr_spill_size(&good) == 2 * SR_LINE + SR_LINE + SR_LINE, "size %zu", sr_spill_size(&good));
	CHECK(sr_spill_init(mem + 8, sizeof(mem) - 8, &good) == -EINVAL, "misaligned memory");
	CHECK(sr_spill_init(mem, 64, &good) == -EINVAL, "too little memory");
	CHECK(sr_spill_init(mem, sizeof(mem), &good) == 0, "init in place");
	s = (struct sr_spill *)mem;
	CHECK(s->magic == SR_SPILL_MAGIC && s->version == SR_SPILL_VERSION, "magic");
	CHECK(s->spill_capacity == 3 && s->mask == 7, "layout");
	CHECK(s->slots_offset % SR_LINE == 0 && s->spill_offset % SR_LINE == 0, "line-aligned arrays");

	good.spill_capacity = 0;
	s = sr_spill_new(&good, NULL); /* err is optional */
	CHECK(s && s->spill_capacity == 8, "spill_capacity 0 means capacity");
	sr_spill_retain(s);
	CHECK(atomic_load(&s->refs) == 2, "retain");
	sr_spill_release(s);
	CHECK(atomic_load(&s->refs) == 1, "release");
	sr_spill_release(s); /* frees: ASan reports a leak or a double free */
	sr_spill_release(NULL);
	printf("ok config\n");
}

/* Overflow: items spill oldest first; a full area refuses, changing nothing;
 * taking pending items makes room again (and compacts the run). */
static void test_overflow(void)
{
	struct sr_spill *s = new_u64(4, 6);
	uint64_t v, out[16];
	int rc;

	for (v = 0; v < 10; v++) {
		rc = sr_spill_push(s, &v);
		CHECK(rc == (v < 4 ? 0 : 1), "push %" PRIu64 ": %d", v, rc);
		check_counts(s, 0);
	}
	CHECK(sr_spill_len(s) == 4 && sr_spill_pending(s) == 6, "len %" PRIu64 " pending %" PRIu64,
	      sr_spill_len(s), sr_spill_pending(s));
	v = 10;
	CHECK(sr_spill_push(s, &v) == -ENOBUFS, "full area refuses");
	CHECK(s->tail == 10 && s->head == 6 && s->spilled == 6 && s->spill_len == 6, "refusal changes nothing");

	CHECK(sr_spill_take_spilled(s, out, 3) == 3, "take 3");
	for (int i = 0; i < 3; i++)
		CHECK(out[i] == (uint64_t)i, "spilled[%d] = %" PRIu64, i, out[i]);
	CHECK(s->spill_head == 3 && s->spill_len == 3, "pending run moved up");
	for (v = 10; v < 13; v++)
		CHECK(sr_spill_push(s, &v) == 1, "push %" PRIu64 " after taking", v);
	CHECK(s->spill_head == 0, "the run was compacted to the start");
	CHECK(sr_spill_push(s, &v) == -ENOBUFS, "full again");

	CHECK(sr_spill_take_spilled(s, out, 16) == 6, "take the rest");
	for (int i = 0; i < 6; i++)
		CHECK(out[i] == (uint64_t)(3 + i), "spilled[%d] = %" PRIu64, i, out[i]);
	CHECK(s->spill_head == 0 && sr_spill_pending(s) == 0, "empty area starts at 0");
	CHECK(sr_spill_take_spilled(s, out, 16) == 0, "nothing pending");
	for (uint64_t want = 9; want < 13; want++) {
		CHECK(sr_spill_pop(s, &v) == 0 && v == want, "pop %" PRIu64 ": %" PRIu64, want, v);
		check_counts(s, want - 8);
	}
	CHECK(sr_spill_pop(s, &v) == -EAGAIN, "empty");
	check_counts(s, 4);
	sr_spill_release(s);
	printf("ok overflow\n");
}

/* Bursts: within room, across the wrap, longer than the ring (its own first
 * items go straight to the area), and cut short by the area. */
static void test_burst(void)
{
	struct sr_spill *s = new_u64(8, 12);
	uint64_t in[32], out[32], next = 0, popped = 0;
	int n;

	for (int i = 0; i < 32; i++)
		in[i] = i;
	CHECK(sr_spill_push_burst(s, in, 0) == 0, "empty burst");
	CHECK(sr_spill_push_burst(s, in, 5) == 5, "fits");
	CHECK(sr_spill_pop_burst(s, out, 3) == 3 && out[2] == 2, "pop 3");
	popped = 3;
	CHECK(sr_spill_push_burst(s, in + 5, 6) == 6, "wraps");
	CHECK(sr_spill_pop_burst(s, out, 32) == 8, "pop across the wrap");
	for (int i = 0; i < 8; i++)
		CHECK(out[i] == (uint64_t)(3 + i), "out[%d] = %" PRIu64, i, out[i]);
	popped += 8;
	next = 11;

	/* A full ring (11..18), then a burst of 14 (19..32). The area has
	 * room for 12, so 12 are taken: the ring's 8 spill, then the burst's
	 * first 4 go straight to the area, and the ring takes the next 8
	 * (23..30). The last 2 are refused. */
	for (int i = 0; i < 8; i++)
		in[i] = next + i;
	CHECK(sr_spill_push_burst(s, in, 8) == 8, "refill");
	next += 8;
	for (int i = 0; i < 14; i++)
		in[i] = next + i;
	n = sr_spill_push_burst(s, in, 14);
	CHECK(n == 12, "burst capped by the area: %d", n);
	CHECK(sr_spill_pending(s) == 12 && sr_spill_len(s) == 8, "pending %" PRIu64,
	      sr_spill_pending(s));
	CHECK(sr_spill_take_spilled(s, out, 32) == 12, "take");
	for (int i = 0; i < 12; i++)
		CHECK(out[i] == 11 + (uint64_t)i, "spilled[%d] = %" PRIu64, i, out[i]);
	CHECK(sr_spill_pop_burst(s, out, 32) == 8, "pop");
	for (int i = 0; i < 8; i++)
		CHECK(out[i] == 23 + (uint64_t)i, "ring[%d] = %" PRIu64, i, out[i]);
	popped += 8;
	check_counts(s, popped);

	/* Longer than the ring into an empty ring: the first 12 go straight
	 * to the area, the last 8 are the ring. */
	next = 100;
	for (int i = 0; i < 20; i++)
		in[i] = next + i;
	n = sr_spill_push_burst(s, in, 20);
	CHECK(n == 20, "long burst: %d", n);
	CHECK(sr_spill_take_spilled(s, out, 32) == 12 && out[0] == 100 && out[11] == 111, "direct spills");
	CHECK(sr_spill_pop_burst(s, out, 32) == 8 && out[0] == 112 && out[7] == 119, "the rest");
	popped += 8;
	check_counts(s, popped);

	CHECK(sr_spill_push_burst(s, in, (unsigned)INT_MAX + 1) == -EINVAL, "n > INT_MAX");
	CHECK(sr_spill_pop_burst(s, out, (unsigned)INT_MAX + 1) == -EINVAL, "n > INT_MAX");
	CHECK(sr_spill_take_spilled(s, out, (unsigned)INT_MAX + 1) == -EINVAL, "n > INT_MAX");
	sr_spill_release(s);
	printf("ok burst\n");
}

/* A Go owner with a discarding spout leaves tail - head > capacity; C
 * settles it: the oldest items are gone and counted as spilled. */
static void test_settle(void)
{
	struct sr_spill *s = new_u64(4, 4);
	uint64_t v;

	for (v = 0; v < 11; v++) /* what Go's Push does: overwrite, tail++ */
		memcpy(sr_spill_slot(s, v), &v, sizeof(v)), s->tail = v + 1;
	CHECK(sr_spill_len(s) == 4, "len reads settled: %" PRIu64, sr_spill_len(s));
	CHECK(s->head == 0, "len does not write");
	CHECK(sr_spill_pop(s, &v) == 0 && v == 7, "pop settles first: %" PRIu64, v);
	CHECK(s->spilled == 7 && s->head == 8, "drops counted");
	check_counts(s, 1);
	/* Go pushes 11..13 past the full ring (8..10): 8 and 9 are gone. */
	for (uint64_t w = 11; w < 14; w++)
		memcpy(sr_spill_slot(s, w), &w, sizeof(w));
	s->tail = 14;
	v = 14;
	CHECK(sr_spill_push(s, &v) == 1, "a full ring spills after settling");
	CHECK(s->spilled == 7 + 2 + 1 && sr_spill_pending(s) == 1, "spilled %" PRIu64, s->spilled);
	CHECK(sr_spill_take_spilled(s, &v, 1) == 1 && v == 10, "the oldest left: %" PRIu64, v);
	check_counts(s, 1);
	sr_spill_release(s);
	printf("ok settle\n");
}

/* Items of other sizes go through memcpy of elem_size bytes. */
struct item24 {
	uint64_t seq;
	uint32_t a;
	uint16_t b;
	uint8_t c[10];
};

static void test_elem_sizes(void)
{
	struct sr_spill_config cfg = {.capacity = 4, .elem_size = sizeof(struct item24), .spill_capacity = 5};
	struct sr_spill *s = sr_spill_new(&cfg, NULL);
	struct item24 it, out[8];
	uint8_t b3[3], o3[3 * 4];

	CHECK(s, "new");
	for (uint64_t i = 0; i < 9; i++) {
		memset(&it, (int)i, sizeof(it));
		it.seq = i;
		CHECK(sr_spill_push(s, &it) >= 0, "push %" PRIu64, i);
	}
	CHECK(sr_spill_take_spilled(s, out, 8) == 5, "take");
	for (int i = 0; i < 5; i++)
		CHECK(out[i].seq == (uint64_t)i && out[i].c[9] == (uint8_t)i, "item %d", i);
	CHECK(sr_spill_pop_burst(s, out, 8) == 4 && out[3].seq == 8, "pop");
	sr_spill_release(s);

	cfg.elem_size = 3;
	s = sr_spill_new(&cfg, NULL);
	CHECK(s, "new 3");
	for (int i = 0; i < 6; i++) {
		b3[0] = b3[1] = b3[2] = (uint8_t)i;
		CHECK(sr_spill_push(s, b3) >= 0, "push 3-byte %d", i);
	}
	CHECK(sr_spill_take_spilled(s, o3, 4) == 2 && o3[0] == 0 && o3[5] == 1, "3-byte spills");
	CHECK(sr_spill_pop_burst(s, o3, 4) == 4 && o3[0] == 2 && o3[11] == 5, "3-byte pops");
	sr_spill_release(s);
	printf("ok elem sizes\n");
}

/* Random operations against a model: every item is spilled (and taken, in
 * push order), popped (in push order), or still in the ring, exactly once. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static void test_random(void)
{
	enum { N = 200000 };
	static uint8_t seen[N];
	for (int round = 0; round < 40; round++) {
		uint64_t cap = UINT64_C(1) << rnd(5), area = 1 + rnd(9);
		struct sr_spill *s = new_u64(cap, area);
		uint64_t next = 0, last_taken = 0, last_popped = 0, popped = 0, taken = 0;
		uint64_t buf[64];
		int any_taken = 0, any_popped = 0;

		memset(seen, 0, sizeof(seen));
		while (next < N - 64) {
			int n;

			switch (rnd(5)) {
			case 0:
				if (sr_spill_push(s, &next) >= 0)
					next++;
				break;
			case 1: {
				unsigned k = (unsigned)rnd(40);

				for (unsigned i = 0; i < k; i++)
					buf[i] = next + i;
				n = sr_spill_push_burst(s, buf, k);
				CHECK(n >= 0 && (unsigned)n <= k, "burst %d of %u", n, k);
				next += (unsigned)n;
				break;
			}
			case 2:
				n = sr_spill_pop_burst(s, buf, (unsigned)rnd(cap + 2));
				for (int i = 0; i < n; i++, popped++) {
					CHECK(!any_popped || buf[i] > last_popped, "pops in order");
					CHECK(!seen[buf[i]]++, "item %" PRIu64 " twice", buf[i]);
					last_popped = buf[i], any_popped = 1;
				}
				break;
			default:
				n = sr_spill_take_spilled(s, buf, (unsigned)rnd(area + 2));
				for (int i = 0; i < n; i++, taken++) {
					CHECK(!any_taken || buf[i] > last_taken, "spills in order");
					CHECK(!seen[buf[i]]++, "item %" PRIu64 " twice", buf[i]);
					last_taken = buf[i], any_taken = 1;
				}
			}
			check_counts(s, popped);
			CHECK(s->spilled == taken + sr_spill_pending(s), "spilled = taken + pending");
		}
		while ((sr_spill_pop(s, buf)) == 0)
			CHECK(!seen[buf[0]]++, "item %" PRIu64 " twice", buf[0]);
		while (sr_spill_take_spilled(s, buf, 1) == 1)
			CHECK(!seen[buf[0]]++, "item %" PRIu64 " twice", buf[0]);
		for (uint64_t i = 0; i < next; i++)
			CHECK(seen[i] == 1, "item %" PRIu64 " lost", i);
		sr_spill_release(s);
	}
	printf("ok random\n");
}

int main(void)
{
	test_config();
	test_overflow();
	test_burst();
	test_settle();
	test_elem_sizes();
	test_random();
	return 0;
}
