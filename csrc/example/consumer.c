/* A C consumer thread on a ring created in Go: compiled by `make test`
 * (target cwarn) so the README snippet stays true. */
#include "../spillring.h"

#include <errno.h>
#include <stdint.h>

/* Pops u64 items until the producer closes and the ring is drained, and
 * returns their sum. The ring comes from Go: Producer.CRing() or
 * Consumer.CRing(). */
uint64_t sum_items(struct sr_ring *r)
{
	uint64_t v, sum = 0;
	int rc;

	sr_ring_retain(r); /* our own reference: the Go handles may go away */
	while ((rc = sr_ring_pop(r, &v)) == 0) /* waits per the ring's strategy */
		sum += v;
	/* rc == -EPIPE: closed and drained */
	sr_ring_close(r, SR_CLOSED_CONSUMER);
	sr_ring_release(r);
	return rc == -EPIPE ? sum : 0;
}
