/* The README's C quick start, word for word: `make ckit` builds it against
 * the temporary install through pkg-config and runs it, so the snippet
 * stays true. */
#include <spillring.h>
#include <pthread.h>
#include <stdio.h>

static void *producer(void *r)
{
	for (uint64_t v = 0; v < 1000000; v++)
		sr_ring_push(r, &v);            /* waits while full (SR_BLOCK) */
	sr_ring_close(r, SR_CLOSED_PRODUCER);
	return NULL;
}

int main(void)
{
	struct sr_config cfg = { .capacity = 1024, .elem_size = sizeof(uint64_t),
				 .wait = SR_WAIT_ADAPTIVE, .spins = 20000 };
	int err;
	struct sr_ring *r = sr_ring_new(&cfg, &err);
	uint64_t v, sum = 0;
	pthread_t t;

	if (!r)
		return 1;
	pthread_create(&t, NULL, producer, r);
	while (sr_ring_pop(r, &v) == 0)         /* -EPIPE: closed and drained */
		sum += v;
	sr_ring_close(r, SR_CLOSED_CONSUMER);
	pthread_join(t, NULL);
	sr_ring_release(r);
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
