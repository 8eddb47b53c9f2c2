/*
 * check.h - the C tests' one assertion: CHECK(cond, fmt, ...) aborts with
 * the file, line, condition and a message when cond is false. Include it
 * after the core's sources.
 */
#ifndef SR_TEST_CHECK_H
#define SR_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		if (!(cond))                                                      \
			check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
	} while (0)

static _Noreturn void check_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#endif
