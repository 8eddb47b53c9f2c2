/*
 * park.h - private to the C core (ring.c, and the pool to come): how a
 * thread waits without a lock. sr_relax is one polite spin; sr_futex_wait
 * and sr_futex_wake sleep on and wake a 32-bit word (W1 in spillring.h says
 * who may sleep and who wakes). `shared` selects the futex flavour for
 * memory mapped by several processes. Include it after the public header;
 * the including file defines _GNU_SOURCE before any system header.
 */
#ifndef SPILLRING_PARK_H
#define SPILLRING_PARK_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* One spin: tells the core we are polling (and saves power doing it). */
static inline void sr_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Sleeps while *w is 1. EAGAIN (the word is no longer 1), EINTR and
 * spurious wake-ups all just send the waiter back to re-check. */
static inline void sr_futex_wait(_Atomic uint32_t *w, bool shared)
{
#ifdef __linux__
	syscall(SYS_futex, (uint32_t *)w, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
#else
	(void)w, (void)shared;
	sched_yield(); /* no futex: the waiter re-checks after a yield */
#endif
}

/* Wakes every sleeper on w: one flag may stand for several sleepers (the
 * producers of an MPSC ring). */
static inline void sr_futex_wake(_Atomic uint32_t *w, bool shared)
{
#ifdef __linux__
	syscall(SYS_futex, (uint32_t *)w, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
	(void)w, (void)shared;
#endif
}

#endif /* SPILLRING_PARK_H */
