/*
 * mem_test.c - single-threaded tests of how the C core gets and returns
 * memory (block.h): which rings sr_ring_new and sr_spill_new map, that
 * sr_ring_reclaim returns exactly the pages of a closed ring's slots and
 * stamps (and refuses everything else), that the ring still answers after
 * it, and that the last release unmaps. Residency is read with mincore(2).
 * It includes ring.c and spill.c as private copies (SR_API static). Every
 * check aborts with a message; the program prints one "ok" line per test.
 *
 *	gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
 *	    -fno-sanitize-recover=all -Wall -Wextra -Werror \
 *	    csrc/test/mem_test.c -o /tmp/mem_test && /tmp/mem_test
 */
#define SR_API static
#include "../ring.c"
#include "../spill.c"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static size_t page;

/* Pages of [p, p+len) (p page-aligned) that are resident; -1 if any of them
 * is not mapped at all (mincore fails with ENOMEM). */
static long resident(const void *p, size_t len)
{
	size_t n = (len + page - 1) / page;
	unsigned char *vec = malloc(n);
	long count = 0;

	CHECK(vec, "malloc");
	if (mincore((void *)p, len, vec) != 0) {
		CHECK(errno == ENOMEM, "mincore: %d", errno);
		free(vec);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

static struct sr_ring *new_ring(uint64_t capacity, uint32_t bp)
{
	struct sr_config cfg = { .capacity = capacity, .elem_size = 8, .backpressure = bp };
	int err = 1;
	struct sr_ring *r = sr_ring_new(&cfg, &err);

	CHECK(r && err == 0, "sr_ring_new(%" PRIu64 "): %d", capacity, err);
	return r;
}

/* Which rings are mapped, and a mapped Block ring's stamps are untouched. */
static void test_alloc(void)
{
	struct sr_ring *small = new_ring(64, SR_BLOCK); /* 768 + 512 + 512 bytes */
	struct sr_ring *big = new_ring(1 << 16, SR_BLOCK);
	struct sr_ring *drop = new_ring(1 << 16, SR_DROP_OLDEST);
	size_t len = sr_blk_round(big->total_size, page);

	CHECK(!(small->flags & SR_FLAG_MAPPED), "a ring of %" PRIu64 " bytes is not mapped", small->total_size);
	CHECK(big->flags & SR_FLAG_MAPPED, "a ring of %" PRIu64 " bytes is mapped", big->total_size);
	CHECK((uintptr_t)big % page == 0, "a mapped ring is page-aligned");
	CHECK(sr_ring_validate(big, big->total_size) == 0, "validate ignores SR_FLAG_MAPPED");
	/* A fresh mapping is zero: a Block ring keeps its zero stamps (even:
	 * never full), so only the header's page is resident. */
	CHECK(resident(big, len) == 1, "fresh Block ring: %ld pages resident", resident(big, len));
	for (uint64_t i = 0; i < big->capacity; i += 4096)
		CHECK(atomic_load(sr_ring_stamp(big, i)) == 0, "Block stamp %" PRIu64, i);
	/* DropOldest needs free-for-the-first-sequence stamps. */
	for (uint64_t i = 0; i < drop->capacity; i++)
		CHECK(atomic_load(sr_ring_stamp(drop, i)) == SR_STAMP_FREE(i), "DropOldest stamp %" PRIu64, i);

	/* Fill and empty the Block ring: every page is resident. */
	for (int lap = 0; lap < 2; lap++) {
		uint64_t v;

		for (uint64_t i = 0; i < big->capacity; i++)
			CHECK(sr_ring_try_push(big, &i) == 0, "push %" PRIu64, i);
		for (uint64_t i = 0; i < big->capacity; i++)
			CHECK(sr_ring_try_pop(big, &v) == 0 && v == i, "pop %" PRIu64, i);
	}
	sr_ring_release(small);
	sr_ring_release(drop);
	CHECK(resident(big, len) >= (long)(sizeof(struct sr_ring) + big->capacity * 8) / (long)page,
	      "used ring: %ld pages resident", resident(big, len));
	sr_ring_release(big);
	CHECK(resident(big, len) == -1, "the last release unmaps");
	printf("ok alloc\n");
}

static void test_reclaim(void)
{
	struct sr_ring *r = new_ring(1 << 16, SR_DROP_OLDEST);
	size_t len = sr_blk_round(r->total_size, page);
	size_t first = sr_blk_round(r->slots_offset, page); /* first page wholly in the slots */
	uint64_t v;

	for (uint64_t i = 0; i < 3 * r->capacity / 2; i++)
		CHECK(sr_ring_push(r, &i) == 0, "push %" PRIu64, i);
	CHECK(resident(r, len) == (long)(len / page), "all pages resident");

	CHECK(sr_ring_reclaim(NULL) == -EINVAL, "NULL");
	CHECK(sr_ring_reclaim(r) == -EBUSY, "both sides open");
	CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close producer");
	CHECK(sr_ring_reclaim(r) == -EBUSY, "consumer open");
	CHECK(resident(r, len) == (long)(len / page), "nothing returned while a side is open");
	/* The consumer drains a few items after the producer closed. */
	CHECK(sr_ring_try_pop(r, &v) == 0 && v == r->capacity / 2, "pop after producer close: %" PRIu64, v);
	CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close consumer");

	CHECK(sr_ring_reclaim(r) == 0, "reclaim");
	CHECK(atomic_load(&r->reclaimed) == 1, "reclaimed word");
	CHECK(resident((char *)r + first, len - first) == 0, "%ld slot/stamp pages still resident",
	      resident((char *)r + first, len - first));
	CHECK(resident(r, first) == (long)(first / page), "the header's page stays");
	CHECK(sr_ring_reclaim(r) == -EALREADY, "second reclaim");

	/* The header answers as before; returned pages read as zeros. */
	CHECK(sr_ring_validate(r, r->total_size) == 0, "validate after reclaim");
	CHECK(sr_ring_closed(r) == SR_CLOSED_MASK, "closed bits: %u", sr_ring_closed(r));
	CHECK(sr_ring_evicted(r) == r->capacity / 2, "evicted: %" PRIu64, sr_ring_evicted(r));
	CHECK(sr_ring_push(r, &v) == -EPIPE && sr_ring_try_push(r, &v) == -EPIPE, "push after close");
	CHECK(sr_ring_try_pop(r, &v) == -EPIPE && sr_ring_pop(r, &v) == -EPIPE, "pop after consumer close");
	CHECK(atomic_load(sr_ring_stamp(r, r->capacity - 1)) == 0, "a returned stamp reads zero");
	CHECK(*(uint64_t *)sr_ring_slot(r, r->capacity - 1) == 0, "a returned slot reads zero");
	/* A late write faults in a fresh page (the reads above may have
	 * mapped the shared zero page: mincore counts it). */
	*(uint64_t *)sr_ring_slot(r, r->capacity - 1) = 7;
	CHECK(*(uint64_t *)sr_ring_slot(r, r->capacity - 1) == 7, "a late write lands");
	CHECK(resident((char *)r + first, len - first) <= 2, "late accesses: %ld pages",
	      resident((char *)r + first, len - first));
	sr_ring_release(r);
	CHECK(resident(r, len) == -1, "release unmaps");
	printf("ok reclaim\n");
}

/* Rings sr_ring_new did not map are never advised. */
static void test_reclaim_refuses(void)
{
	struct sr_config cfg = { .capacity = 1 << 12, .elem_size = 8 };
	size_t size = sr_ring_size(&cfg), len = sr_blk_round(size, page);
	struct sr_ring *small = new_ring(64, SR_BLOCK);
	void *mem;
	struct sr_ring *r;

	sr_ring_close(small, SR_CLOSED_PRODUCER);
	sr_ring_close(small, SR_CLOSED_CONSUMER);
	CHECK(sr_ring_reclaim(small) == -EINVAL, "an aligned_alloc ring");
	CHECK(atomic_load(&small->reclaimed) == 0, "not marked");
	sr_ring_release(small);

	/* Caller memory, mapped and page-aligned: still never advised. */
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED, "mmap");
	memset(mem, 0x5a, len); /* every page resident */
	CHECK(sr_ring_init(mem, size, &cfg) == 0, "init");
	r = mem;
	CHECK(!(r->flags & SR_FLAG_MAPPED), "init never sets SR_FLAG_MAPPED");
	sr_ring_close(r, SR_CLOSED_PRODUCER);
	sr_ring_close(r, SR_CLOSED_CONSUMER);
	CHECK(resident(mem, len) == (long)(len / page), "all resident");
	CHECK(sr_ring_reclaim(r) == -EINVAL, "caller memory");
	CHECK(resident(mem, len) == (long)(len / page), "caller memory untouched");
	munmap(mem, len);

	/* A config cannot ask for SR_FLAG_MAPPED. */
	cfg.flags = SR_FLAG_MAPPED;
	CHECK(sr_ring_size(&cfg) == 0, "SR_FLAG_MAPPED is not a config flag");
	printf("ok reclaim refuses\n");
}

static void test_spill(void)
{
	struct sr_spill_config big = { .capacity = 1 << 16, .elem_size = 8 };
	struct sr_spill_config small = { .capacity = 64, .elem_size = 8 };
	int err = 1;
	struct sr_spill *s = sr_spill_new(&big, &err), *t;
	size_t len;
	uint64_t v = 1;

	CHECK(s && err == 0, "sr_spill_new: %d", err);
	len = sr_blk_round(s->total_size, page);
	CHECK(s->flags == SR_SPILL_MAPPED && (uintptr_t)s % page == 0, "a large spill ring is mapped");
	CHECK(resident(s, len) == 1, "fresh: only the header's page");
	CHECK(sr_spill_push(s, &v) == 0 && sr_spill_len(s) == 1, "push");
	sr_spill_retain(s);
	sr_spill_release(s);
	CHECK(resident(s, len) == 1, "a retained reference keeps the block");
	sr_spill_release(s);
	CHECK(resident(s, len) == -1, "the last release unmaps");

	t = sr_spill_new(&small, &err);
	CHECK(t && err == 0 && t->flags == 0, "a small spill ring comes from aligned_alloc");
	sr_spill_release(t); /* ASan: free, not munmap */
	printf("ok spill\n");
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	test_alloc();
	test_reclaim();
	test_reclaim_refuses();
	test_spill();
	return 0;
}
