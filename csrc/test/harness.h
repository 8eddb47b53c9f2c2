/*
 * harness.h - what the threaded C tests (stress.c, pool_test.c) share: the
 * monotonic clock, sleeps, a small PRNG, and a watchdog that turns a hang (a
 * lost wake-up, a livelock, a stuck worker) into a failure with the name of
 * the test that hung. Include it after check.h; start the watchdog thread
 * once and wd_arm before each test.
 */
#ifndef SR_TEST_HARNESS_H
#define SR_TEST_HARNESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	while (nanosleep(&ts, &ts))
		;
}

static inline uint64_t rnd(uint64_t *s) /* xorshift64*: *s must not be 0 */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

static int wd_timeout = 60;
static _Atomic(const char *) wd_name;
static _Atomic double wd_deadline;

static inline void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep_us(200000);
		if (now() > atomic_load(&wd_deadline)) {
			fprintf(stderr, "FAIL watchdog: \"%s\" still running after %d s "
					"(a lost wake-up, a livelock or a stuck thread)\n",
				atomic_load(&wd_name), wd_timeout);
			abort();
		}
	}
	return NULL;
}

static inline void wd_arm(const char *name)
{
	atomic_store(&wd_name, name);
	atomic_store(&wd_deadline, now() + wd_timeout);
}

#endif
