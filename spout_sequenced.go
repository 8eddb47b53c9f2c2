package spillring

import (
	"fmt"
	"sync"
)

// DefaultSequencedMaxItems and DefaultSequencedMaxBatches bound what a
// SequencedSpout holds when its SequencedConfig leaves them 0.
const (
	DefaultSequencedMaxItems   = 1 << 16
	DefaultSequencedMaxBatches = 1 << 10
)

// SequencedConfig configures a SequencedSpout. The zero value is valid.
type SequencedConfig struct {
	// First is the first sequence number to emit.
	First uint64
	// Parts is how many batches make up each sequence number: a sequence
	// number is complete once that many batches carried it. 0 means 1.
	// With k workers each submitting one batch per round, Parts is k.
	Parts int
	// MaxItems bounds the items the spout holds: batches of later sequence
	// numbers, and what the inner spout did not take. 0 means
	// DefaultSequencedMaxItems.
	MaxItems int
	// MaxBatches bounds the batches the spout holds, empty ones included.
	// 0 means DefaultSequencedMaxBatches.
	MaxBatches int
}

// SequencedSpout restores the order of batches that complete out of order,
// say by parallel workers: Submit takes a batch tagged with a sequence
// number, and the spout emits the batches to its inner spout in sequence
// order, each with one SendBatch call.
//
// Completion rule: each sequence number has Parts batches (an empty batch
// counts). Sequence numbers wrap at 2^64 (the one after MaxUint64 is 0) and
// are ordered relative to the current one: up to 2^63-1 numbers after it
// are ahead, the rest before it, hence complete. The spout emits the batches of the lowest incomplete number, the
// current one, as they arrive, in arrival order; batches of later numbers
// wait, copied, until every earlier number is complete. The items of one
// number therefore come out grouped by batch but not in any order among
// its batches.
//
// Bounded buffering: a batch that would make the spout hold more than
// MaxItems items or MaxBatches batches is refused with
// ErrSequenceBufferFull and stays the caller's; submit it again later. A
// batch of the current number is never refused for room while nothing
// waits ahead of it, since it goes straight to the inner spout: the worker
// that the others wait for can always proceed. What the inner spout does
// not take of that batch is kept, which may exceed the bounds by that one
// batch.
//
// When the inner spout fails, the spout keeps what it did not take and
// offers it again, in order, on the next Submit and Flush; meanwhile it
// goes on taking batches up to its bounds, and ErrSequenceBufferFull then
// also wraps the inner error.
//
// A SequencedSpout is safe for concurrent use: any number of goroutines
// may Submit at once. The inner spout is called under the spout's lock, by
// one goroutine at a time, so it needs no locking of its own.
type SequencedSpout[T any] struct {
	mu         sync.Mutex
	inner      Spout[T]
	parts      int
	maxItems   int
	maxBatches int

	next  uint64           // the current sequence number: every lower one is complete
	got   int              // batches of next taken so far, < parts
	later map[uint64][][]T // batches of later sequence numbers, held

	out     [][]T // batches due to the inner spout that it has not taken yet, in order
	items   int   // items held, in out and later
	batches int   // batches held, in out and later
	lastErr error // the inner spout's last error while out is not empty
}

// Sequenced returns a spout that emits submitted batches to inner in
// sequence order. inner must not be nil and cfg's fields not negative.
func Sequenced[T any](inner Spout[T], cfg SequencedConfig) (*SequencedSpout[T], error) {
	if inner == nil {
		return nil, invalidSpout("Sequenced", "nil inner spout")
	}
	if cfg.Parts < 0 || cfg.MaxItems < 0 || cfg.MaxBatches < 0 {
		return nil, invalidSpout("Sequenced", "negative Parts (%d), MaxItems (%d) or MaxBatches (%d)", cfg.Parts, cfg.MaxItems, cfg.MaxBatches)
	}
	s := &SequencedSpout[T]{
		inner:      inner,
		parts:      max(cfg.Parts, 1),
		maxItems:   cfg.MaxItems,
		maxBatches: cfg.MaxBatches,
		next:       cfg.First,
		later:      make(map[uint64][][]T),
	}
	if s.maxItems == 0 {
		s.maxItems = DefaultSequencedMaxItems
	}
	if s.maxBatches == 0 {
		s.maxBatches = DefaultSequencedMaxBatches
	}
	return s, nil
}

// Submit takes batch as one part of sequence number seq. It returns nil
// when it took the batch, emitted or held; the spout copies what it holds,
// so the caller may reuse batch once Submit returns. It returns an error,
// and does not take the batch, when seq is already complete
// (ErrSequenceComplete) or there is no room to hold it
// (ErrSequenceBufferFull).
func (s *SequencedSpout[T]) Submit(seq uint64, batch []T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seqBefore(seq, s.next) {
		return fmt.Errorf("%w: %d (the spout is at %d)", ErrSequenceComplete, seq, s.next)
	}
	if len(s.out) > 0 {
		s.drain() // earlier batches go first
	}
	if seq == s.next && len(s.out) == 0 {
		// Straight through: nothing waits ahead of this batch.
		n, err := 0, error(nil)
		if len(batch) > 0 {
			n, err = s.inner.SendBatch(batch)
		}
		if n < len(batch) {
			if err == nil {
				err = errShortSend
			}
			s.hold(batch[n:], true)
			s.lastErr = err
		}
		s.completePart()
		return nil
	}
	if seq == s.next {
		if err := s.room(len(batch)); err != nil {
			return err
		}
		s.hold(batch, true)
		s.completePart()
		return nil
	}
	if len(s.later[seq]) >= s.parts {
		return fmt.Errorf("%w: all %d parts of %d were submitted", ErrSequenceComplete, s.parts, seq)
	}
	if err := s.room(len(batch)); err != nil {
		return err
	}
	s.later[seq] = append(s.later[seq], s.hold(batch, false))
	return nil
}

// Flush emits what the inner spout has not taken yet, then flushes the
// inner spout. Batches of sequence numbers after an incomplete one stay
// held: emitting them would break the order.
func (s *SequencedSpout[T]) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.out) > 0 {
		if err := s.drain(); err != nil {
			return err
		}
	}
	return s.inner.Flush()
}

// Next returns the current sequence number: every lower one is complete
// and emitted or queued for the inner spout.
func (s *SequencedSpout[T]) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Buffered returns how many items and batches the spout holds.
func (s *SequencedSpout[T]) Buffered() (items, batches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items, s.batches
}

// seqBefore reports whether sequence number a comes before b. Sequence
// numbers wrap at 2^64 (next goes from MaxUint64 to 0), so they are ordered
// by their distance modulo 2^64, never by <: a is before b when b is less
// than 2^63 numbers ahead of it. So once MaxUint64 is emitted it is
// complete, and 0 is ahead of MaxUint64 - 1 rather than complete.
func seqBefore(a, b uint64) bool { return int64(a-b) < 0 }

// room reports whether the spout may hold another batch of n items.
func (s *SequencedSpout[T]) room(n int) error {
	if s.items+n <= s.maxItems && s.batches < s.maxBatches {
		return nil
	}
	if s.lastErr != nil {
		return fmt.Errorf("%w (holding %d items in %d batches; inner spout: %w)", ErrSequenceBufferFull, s.items, s.batches, s.lastErr)
	}
	return fmt.Errorf("%w (holding %d items in %d batches)", ErrSequenceBufferFull, s.items, s.batches)
}

// hold copies batch, counts it, and either queues it for the inner spout
// (queue) or returns the copy for the caller to file.
func (s *SequencedSpout[T]) hold(batch []T, queue bool) []T {
	c := append([]T(nil), batch...)
	s.items += len(c)
	s.batches++
	if queue {
		s.out = append(s.out, c)
	}
	return c
}

// completePart counts one part of the current sequence number and, when it
// completes, moves on through the numbers whose parts all arrived, queueing
// their batches and emitting what the inner spout takes.
func (s *SequencedSpout[T]) completePart() {
	s.got++
	for s.got == s.parts {
		s.next++
		s.got = 0
		parts, ok := s.later[s.next]
		if !ok {
			break
		}
		delete(s.later, s.next)
		s.out = append(s.out, parts...)
		s.got = len(parts)
	}
	if len(s.out) > 0 {
		s.drain()
	}
}

// drain offers the queued batches to the inner spout, in order, one
// SendBatch each, until it refuses some, and keeps the rest.
func (s *SequencedSpout[T]) drain() error {
	var err error
	i := 0
	for ; i < len(s.out); i++ {
		b := s.out[i]
		if len(b) > 0 {
			n, e := s.inner.SendBatch(b)
			s.items -= n
			if n < len(b) {
				if e == nil {
					e = errShortSend
				}
				s.out[i] = b[n:]
				err = e
				break
			}
		}
		s.batches--
	}
	m := copy(s.out, s.out[i:])
	clear(s.out[m:])
	s.out = s.out[:m]
	s.lastErr = err
	return err
}
