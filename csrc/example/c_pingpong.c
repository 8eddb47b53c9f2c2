/*
 * c_pingpong.c - a standalone C program on the installed library: a
 * producer and a consumer pthread stream items through one ring, then bat
 * one item back and forth through two. `make ckit` builds it against a
 * temporary `make install` with
 *	cc c_pingpong.c $(pkg-config --cflags --libs spillring) -pthread
 * and runs it. Exit status 0 when every item arrived once and in order.
 */
#include <spillring.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define STREAM_N 1000000u /* items, one way */
#define BATCH 64u         /* the producer's burst size for the second half */
#define ROUNDS 10000u     /* ping-pong round trips */

static void die(const char *what, int rc)
{
	fprintf(stderr, "c_pingpong: %s: %d\n", what, rc);
	exit(1);
}

static struct sr_ring *new_ring(uint64_t capacity)
{
	struct sr_config cfg = {
		.capacity = capacity,
		.elem_size = sizeof(uint64_t),
		.backpressure = SR_BLOCK,
		.wait = SR_WAIT_ADAPTIVE,
		.spins = 20000, /* ns of spinning before a futex sleep */
	};
	int err;
	struct sr_ring *r = sr_ring_new(&cfg, &err);

	if (!r)
		die("sr_ring_new", err);
	return r;
}

/* Producer: 0 .. STREAM_N-1, the first half one by one, the rest in bursts
 * (a burst takes what fits now; push the remainder again). */
static void *producer(void *arg)
{
	struct sr_ring *r = arg;
	uint64_t v = 0, buf[BATCH];
	int rc;

	for (; v < STREAM_N / 2; v++)
		if ((rc = sr_ring_push(r, &v)) != 0)
			die("sr_ring_push", rc);
	while (v < STREAM_N) {
		unsigned n = 0, done = 0;

		for (; n < BATCH && v + n < STREAM_N; n++)
			buf[n] = v + n;
		while (done < n) {
			rc = sr_ring_push_burst(r, buf + done, n - done);
			if (rc < 0)
				die("sr_ring_push_burst", rc);
			done += (unsigned)rc;
		}
		v += n;
	}
	sr_ring_close(r, SR_CLOSED_PRODUCER);
	return NULL;
}

/* The other end of the ping-pong: pops from ping, pushes v+1 to pong. */
static void *ponger(void *arg)
{
	struct sr_ring **rings = arg;
	uint64_t v;
	int rc;

	while ((rc = sr_ring_pop(rings[0], &v)) == 0) {
		v++;
		if ((rc = sr_ring_push(rings[1], &v)) != 0)
			die("pong push", rc);
	}
	if (rc != -EPIPE)
		die("pong pop", rc);
	sr_ring_close(rings[0], SR_CLOSED_CONSUMER);
	sr_ring_close(rings[1], SR_CLOSED_PRODUCER);
	return NULL;
}

int main(void)
{
	struct sr_ring *r = new_ring(1024), *rings[2];
	pthread_t t;
	uint64_t v, want = 0;
	int rc;

	/* Stream: this thread is the consumer. */
	if ((rc = pthread_create(&t, NULL, producer, r)) != 0)
		die("pthread_create", rc);
	while ((rc = sr_ring_pop(r, &v)) == 0) {
		if (v != want)
			die("stream out of order at item", (int)want);
		want++;
	}
	if (rc != -EPIPE || want != STREAM_N)
		die("stream ended early", rc);
	sr_ring_close(r, SR_CLOSED_CONSUMER);
	pthread_join(t, NULL);
	sr_ring_release(r);

	/* Ping-pong: capacity 1 each way, one item in flight. */
	rings[0] = new_ring(1);
	rings[1] = new_ring(1);
	if ((rc = pthread_create(&t, NULL, ponger, rings)) != 0)
		die("pthread_create", rc);
	v = 0;
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t back;

		if ((rc = sr_ring_push(rings[0], &v)) != 0)
			die("ping push", rc);
		if ((rc = sr_ring_pop(rings[1], &back)) != 0)
			die("ping pop", rc);
		if (back != v + 1)
			die("pong answered wrong in round", (int)i);
		v = back;
	}
	sr_ring_close(rings[0], SR_CLOSED_PRODUCER);
	if ((rc = sr_ring_pop(rings[1], &v)) != -EPIPE)
		die("pong ring not drained", rc);
	sr_ring_close(rings[1], SR_CLOSED_CONSUMER);
	pthread_join(t, NULL);
	sr_ring_release(rings[0]);
	sr_ring_release(rings[1]);

	printf("c_pingpong: %u items streamed in order, %u round trips\n", STREAM_N, ROUNDS);
	return 0;
}
