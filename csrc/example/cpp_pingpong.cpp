// cpp_pingpong.cpp - a C++ program on the C API: a producer and a consumer
// std::thread stream items through one ring, then bat one item back and
// forth through two. `make ckit` builds it with g++ -std=c++11, c++17 and
// c++20 (-Wall -Wextra -Werror), links it with the library (libspillring.a
// from a temporary `make install`, ring.c and spill.c compiled as C), and
// runs it. It also uses the header's inline helpers and atomic fields from
// C++, and compares the C++ view of the layout with the C one
// (layout_c.c, built as C and linked in). Exit status 0 when all is well.
#include <spillring.h>
#include <spill.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "layout.h"

namespace {

const uint64_t kStreamN = 1000000; // items, one way
const unsigned kBatch = 64;        // the consumer's burst size
const unsigned kRounds = 10000;    // ping-pong round trips

void die(const char *what, long long v)
{
	std::fprintf(stderr, "cpp_pingpong: %s: %lld\n", what, v);
	std::exit(1);
}

// Owns one reference to a ring.
struct Ring {
	sr_ring *r;

	explicit Ring(uint64_t capacity, uint32_t backpressure = SR_BLOCK) : r(nullptr)
	{
		sr_config cfg;
		std::memset(&cfg, 0, sizeof cfg);
		cfg.capacity = capacity;
		cfg.elem_size = sizeof(uint64_t);
		cfg.backpressure = backpressure;
		cfg.wait = SR_WAIT_ADAPTIVE;
		cfg.spins = 20000; // ns of spinning before a futex sleep
		int err = 0;
		r = sr_ring_new(&cfg, &err);
		if (!r)
			die("sr_ring_new", err);
	}
	~Ring() { sr_ring_release(r); }
	Ring(const Ring &) = delete;
	Ring &operator=(const Ring &) = delete;
};

SR_C_LAYOUT_TABLE(cxx_layout)

void check_layout()
{
	size_t nc = 0, nx = 0;
	const size_t *c = sr_layout_c(&nc);
	const size_t *x = cxx_layout(&nx);
	if (nc != nx)
		die("layout tables differ in length", (long long)nx);
	for (size_t i = 0; i < nc; i++)
		if (c[i] != x[i])
			die("C and C++ layouts differ at entry", (long long)i);
}

// The header's inline helpers and atomic words, seen from C++. DropOldest
// stamps every item it holds (M2), so the stamps are worth reading.
void check_helpers()
{
	Ring ring(8, SR_DROP_OLDEST);
	sr_ring *r = ring.r;
	for (uint64_t v = 0; v < 5; v++)
		if (sr_ring_push(r, &v) != 0)
			die("push", (long long)v);
	if (r->tail.load(std::memory_order_acquire) != 5 || sr_ring_len(r) != 5)
		die("tail after 5 pushes", (long long)r->tail.load());
	uint64_t at3;
	std::memcpy(&at3, sr_ring_slot(r, 3), sizeof at3);
	if (at3 != 3)
		die("sr_ring_slot(3)", (long long)at3);
	if (sr_ring_stamp(r, 3)->load(std::memory_order_acquire) != SR_STAMP_FULL(3))
		die("sr_ring_stamp(3)", (long long)sr_ring_stamp(r, 3)->load());
	if (r->magic != SR_MAGIC || r->version != SR_VERSION || sr_ring_validate(r, r->total_size) != 0)
		die("header", (long long)r->version);
}

} // namespace

int main()
{
	check_layout();
	check_helpers();

	{ // Stream: a std::thread produces, this thread consumes in bursts.
		Ring ring(1024);
		sr_ring *r = ring.r;
		std::thread producer([r] {
			for (uint64_t v = 0; v < kStreamN; v++) {
				int rc = sr_ring_push(r, &v);
				if (rc != 0)
					die("sr_ring_push", rc);
			}
			sr_ring_close(r, SR_CLOSED_PRODUCER);
		});
		uint64_t buf[kBatch], want = 0;
		int rc;
		while ((rc = sr_ring_pop_burst(r, buf, kBatch)) >= 0) {
			if (rc == 0) { // nothing yet: wait for one item
				if ((rc = sr_ring_pop(r, buf)) != 0)
					break;
				rc = 1;
			}
			for (int i = 0; i < rc; i++, want++)
				if (buf[i] != want)
					die("stream out of order at item", (long long)want);
		}
		if (rc != -EPIPE || want != kStreamN)
			die("stream ended early", rc);
		sr_ring_close(r, SR_CLOSED_CONSUMER);
		producer.join();
	}

	{ // Ping-pong: capacity 1 each way, one item in flight.
		Ring ping(1), pong(1);
		std::thread ponger([&ping, &pong] {
			uint64_t v;
			int rc;
			while ((rc = sr_ring_pop(ping.r, &v)) == 0) {
				v++;
				if ((rc = sr_ring_push(pong.r, &v)) != 0)
					die("pong push", rc);
			}
			if (rc != -EPIPE)
				die("pong pop", rc);
			sr_ring_close(ping.r, SR_CLOSED_CONSUMER);
			sr_ring_close(pong.r, SR_CLOSED_PRODUCER);
		});
		uint64_t v = 0;
		for (unsigned i = 0; i < kRounds; i++) {
			uint64_t back;
			int rc = sr_ring_push(ping.r, &v);
			if (rc != 0)
				die("ping push", rc);
			if ((rc = sr_ring_pop(pong.r, &back)) != 0)
				die("ping pop", rc);
			if (back != v + 1)
				die("pong answered wrong in round", i);
			v = back;
		}
		sr_ring_close(ping.r, SR_CLOSED_PRODUCER);
		int rc = sr_ring_pop(pong.r, &v);
		if (rc != -EPIPE)
			die("pong ring not drained", rc);
		sr_ring_close(pong.r, SR_CLOSED_CONSUMER);
		ponger.join();
	}

	std::printf("cpp_pingpong (C++ %ld): layout matches C, %llu items streamed in order, %u round trips\n",
		    static_cast<long>(__cplusplus), static_cast<unsigned long long>(kStreamN), kRounds);
	return 0;
}
