/* The worker pool from C, no Go anywhere: two workers each push `n` numbers
 * a round, the main thread collects. `make ckit` builds it against the
 * temporary install through pkg-config and runs it; it prints the sum of
 * everything collected over 10 rounds (0 .. 2*n*10-1, each once). */
#include <spillring.h>
#include <pool.h>
#include <stdio.h>

struct args {
	uint64_t n;
};

/* Worker w pushes its own stripe of numbers; `next` is its position. */
static uint64_t next[2];

static int work(struct sr_spill *out, unsigned w, const void *a, void *ctx)
{
	const struct args *args = a;

	(void)ctx;
	for (uint64_t i = 0; i < args->n; i++, next[w]++)
		if (sr_spill_push(out, &(uint64_t){ next[w] * 2 + w }) < 0)
			return 1; /* ring and spill area full: collect more often */
	return 0;
}

/* Drains every published batch: spilled items first, then the ring. */
static uint64_t collect(struct sr_pool *p, unsigned workers)
{
	uint64_t sum = 0, v;

	for (unsigned w = 0; w < workers; w++) {
		struct sr_spill *b = sr_pool_take(p, w, NULL);

		if (!b)
			continue;
		while (sr_spill_take_spilled(b, &v, 1) == 1)
			sum += v;
		while (sr_spill_pop(b, &v) == 0)
			sum += v;
		sr_pool_recycle(p, w, b);
	}
	return sum;
}

int main(void)
{
	struct sr_pool_config cfg = { .workers = 2, .ring_capacity = 1024,
				      .elem_size = sizeof(uint64_t),
				      .args_size = sizeof(struct args),
				      .spin_ns = 20000, .work = work };
	struct args args = { .n = 1000 };
	uint64_t sum = 0;
	int err;
	struct sr_pool *p = sr_pool_new(&cfg, &err); /* starts the threads */

	if (!p)
		return 1;
	for (int round = 0; round < 10; round++) {
		if (sr_pool_dispatch(p, &args) || sr_pool_join(p))
			return 1;
		if (sr_pool_status(p, 0) || sr_pool_status(p, 1))
			return 1;
		sum += collect(p, 2);
	}
	sum += collect(p, 2);
	sr_pool_free(p); /* stops and joins the threads */
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
