// Package spillring provides lock-free channels over a ring buffer, with a
// C11 core that C code can share: single-producer single-consumer, upgraded
// to multi-producer when the Producer is cloned.
//
// New returns the two handles of a channel, a Producer and a Consumer:
//
//	p, c, err := spillring.New[uint64](spillring.Config{Capacity: 1024})
//	go func() {
//		for i := range 100 {
//			p.Push(uint64(i))
//		}
//		p.Close()
//	}()
//	for v := range c.All() { // ends when closed and drained
//		...
//	}
//
// # Semantics
//
// Items arrive in push order, each exactly once, unless Backpressure is
// DropOldest, in which case an item is either popped or evicted, exactly
// once, and evictions are counted (Producer.Evicted). A Push of x
// synchronizes before the Pop that returns x (the Go memory model's
// "synchronized before"), so memory written before a Push is visible after
// the Pop.
//
// Each handle has one owner: one goroutine at a time pushes, one pops. Close,
// Len, Cap, Evicted and Stats may be called from anywhere. Closing either side wakes
// every blocked call under every wait strategy. After the producer closes,
// the consumer drains what is left and then gets ErrClosed; after the
// consumer closes, pushes get ErrClosed instead of blocking for ever.
// Closed (ErrClosed) and full (ErrFull) are never confused.
//
// # Waiting
//
// A Push on a full channel (under Block) and a Pop on an empty one wait as
// Config.Wait says. The default, Adaptive(DefaultSpinTime), polls for up to
// 20µs, letting other goroutines run as it does, then sleeps until the
// other side publishes: an idle side uses no CPU, and a sleeping goroutine
// holds no OS thread. Park sleeps after 100 polls, SpinYield after its
// yields; Spin never sleeps. Once C code shares a ring (Producer.CRing), a
// Go side sleeps on a futex in the ring instead, so that C threads can wake
// it, and holds its OS thread while it sleeps.
//
// # Many producers
//
// Producer.Clone gives another goroutine its own handle and upgrades the
// channel, for good, to multi-producer mode: producers claim slots with an
// atomic operation on a shared counter and publish each push (or batch)
// with a per-slot stamp, and the consumer reads slots in claim order once
// their stamps say they are written. No lock is taken. Items of one handle
// keep their order; the channel closes for sending when its last handle
// closes. C threads join through sr_ring_add_producer (csrc/spillring.h).
//
// # Claim and commit
//
// Producer.Claim hands out up to n of the ring's own free slots as at most
// two spans (the second when the run wraps around), for the producer to
// build items in place; Commit publishes the first k of them with one
// store, and Abort gives them back. Consumer.ReadClaim hands out ready
// items in place, and Release gives their slots back. Nothing is copied or
// allocated. A handle has at most one claim pending (ErrClaimPending,
// ErrNoClaim); in multi-producer mode what a commit leaves unused becomes
// padding the consumer steps over unless no later claim exists, and a
// pending claim holds back the items claimed after it, which Stats reports.
// C producers and consumers have the same API (sr_ring_claim and the rest
// in csrc/spillring.h).
//
// # Spouts and SpillRing
//
// A Spout is a sink for items that composes: Batch, Reduce, Counting,
// Locked, Sequenced and the others wrap an inner spout, and batches travel
// as batches. A spout never drops an item silently: what it cannot take is
// returned to the caller or kept. SpillRing is a single-owner ring that,
// when full, hands its oldest item to its spout instead of losing it; it is
// a spout itself, so rings chain. A channel under DropOldest can route its
// evictions into a spout too (Config.Evicted).
//
// # WorkerPool
//
// NewPool starts a thread-per-core pool: each worker is a thread pinned to
// one CPU that owns three rings in rotation. Dispatch starts a round (the
// work function runs once on every worker, pushing into its active ring),
// Join waits for it, Run does both, and Collect, which may run at any time,
// takes the batches the workers published and hands them to a sink. On the
// C backend the workers are C pthreads that wait in C: a C work function
// (CWork) runs with no Go involvement, a Go work function through one cgo
// callback per round. A slow collector makes workers merge their new items
// into the batch still waiting, and full rings spill into the pool's
// Overflow spout: nothing is lost, and Stats accounts for every item. See
// WorkerPool for the threads, GOMAXPROCS and the memory-ordering edges, and
// csrc/pool.h for the C API.
//
// WorkerPool.FanIn makes the collection a Spout: its Flush collects into an
// inner spout, so a pool's output composes with the other spouts.
//
// The backpressure chain, as it behaves: a slow sink makes each Collect
// (or FanIn.Flush) take longer, so published batches wait in their handoff
// slots. A worker that ends a round while its last batch still waits takes
// that batch back and appends the round's items to it (PoolStats.Merged):
// it never waits for the collector, and its items stay in order. The
// waiting batch fills to its ring's capacity, and from then on each merge
// pushes the batch's oldest items into the pool's Overflow spout
// (PoolStats.Spilled; nil Overflow drops and counts them). A sink that
// refuses items keeps nothing from the pool: the refused batch stays with
// the collector and goes first next time. At every point
// PoolStats.Pushed == Collected + Spilled + InRings.
//
// Ordered completion: a pool made with PoolConfig.OrderWindow hands its
// items on in dispatch order, round by round (every worker's items of
// round r, worker after worker, before any of round r+1), whatever order
// the workers end their rounds in. Every worker of a round shares the
// round's number, and each publish records how many items it added for its
// round in a per-worker window of counts, so that a batch into which a
// worker merged several rounds is split back into them; the items stay in
// the rings meanwhile (no copy, no allocation per round). Dispatch refuses
// with ErrOrderWindow a round that would be OrderWindow rounds ahead of
// the oldest one not yet collected. Items that spill are out of the
// ordered stream (they go to Overflow, oldest first); what is collected
// stays in order.
//
// Composition, with no pipeline type: Mergers(m) partitions the workers
// among m collectors that run at once, each into its own sink; on an
// ordered pool, Merger.CollectSequenced submits each round to a
// SequencedSpout shared by the mergers, the root of a merge tree in
// dispatch order. A multi-stage pipeline is pools in a row: one pool's
// ordered Collect fills the next one's round args, and the last one's
// FanIn writes into a FramedSpout (Example_pipeline; examples/pipeline is
// a program that runs the stages at once).
//
// # Backends
//
// The C backend keeps the ring, slots and control words alike, in C memory
// laid out by csrc/spillring.h, so C threads can push or pop through the
// same protocol (see Producer.CRing). Element types must then be
// pointer-free: the garbage collector does not scan C memory. The Go backend
// keeps everything in Go memory with sync/atomic only and takes any type.
// Auto, the default, picks C when it is in the build and the type allows it.
// Builds with CGO_ENABLED=0 or the purego tag have only the Go backend.
//
// Single-item Push and Pop make no cgo call and no allocation: Go reads and
// writes the C memory directly, following the header's acquire/release
// protocol. Batches (PushBatch, PopBatch) publish once per batch.
//
// # Race detector
//
// The race detector does not see atomics on C memory. Race builds mirror each
// publish and each acquire of the C backend on Go-memory atomics (race.go),
// so the Push-before-Pop edge holds for the detector as well.
package spillring
