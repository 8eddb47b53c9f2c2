package spillring

import (
	"errors"
	"fmt"
)

// The spouts stay in this package rather than a spout subpackage: a
// SpillRing is itself a Spout and takes one (so the interface must live
// here), ToProducer wraps a Producer, and the pool's collection will hand
// batches to spouts straight from C memory. A subpackage would have to
// import this one for those while this one imports it for the interface:
// a cycle, or an interface defined twice. The combinators share the
// spout_*.go file prefix instead.

// Spout is a sink for items: where a SpillRing puts what it evicts, where a
// channel under DropOldest can route what it drops, and the building block
// of pipelines. Spouts compose: most implementations wrap an inner spout.
//
// Sinks: Drop, Collect, Func, Chan and TryChan (a Go channel), ToProducer (a
// spillring channel), Framed (an io.Writer). Combinators: Batch, Reduce,
// Counting, Locked. Sequenced reorders batches into an inner spout.
//
// Ownership of items on error: a spout never drops an item silently.
//   - Send returns nil when it took v, and an error when it did not: the
//     item is still the caller's.
//   - SendBatch returns how many items, from the front of vs, it took. When
//     n < len(vs) it returns an error, and vs[n:] are still the caller's.
//     When it took them all it returns nil.
//   - A spout that buffers (Batch, Reduce, Sequenced, and Framed after a
//     short write) keeps what it already took when its inner spout fails,
//     and offers it again on the next Send or Flush. Taking an item into
//     the buffer succeeds even when passing the buffer on failed, so the
//     failure shows on the next call: a Send or SendBatch that finds the
//     retry still failing takes nothing and returns the error, and Flush
//     reports it.
//
// SendBatch is the cheap path: every combinator forwards batches as batches.
// A spout must not keep vs, or any part of it, after SendBatch returns; the
// caller reuses the slice.
//
// Unless its documentation says otherwise, a spout is not safe for
// concurrent use; wrap it with Locked to share it between goroutines.
type Spout[T any] interface {
	// Send takes one item.
	Send(v T) error
	// SendBatch takes items from the front of vs, in order, and returns how
	// many it took.
	SendBatch(vs []T) (int, error)
	// Flush pushes out whatever the spout buffers, down to the innermost
	// spout, and reports the first failure.
	Flush() error
}

// invalidSpout is the error of a spout constructor for a bad argument.
func invalidSpout(spout, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, spout, fmt.Sprintf(format, args...))
}

// errShortSend stands in for the error of an inner spout that took fewer
// items than offered yet returned nil, so the caller still learns that it
// keeps the rest.
var errShortSend = errors.New("spillring: inner spout took part of a batch without an error")
