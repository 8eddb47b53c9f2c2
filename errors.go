package spillring

import (
	"errors"
	"fmt"
	"os"
)

// Sentinel errors. Test for them with errors.Is; the errors returned may wrap
// them with detail.
var (
	// ErrClosed is returned by a push after either side closed, by a pop
	// once the producer closed and every item was drained (or after the
	// consumer closed), and by a second Close. A spout returns it when what
	// it sends into is closed (a Go channel, a Producer). errors.Is(ErrClosed,
	// os.ErrClosed) is true.
	ErrClosed error = &osError{"spillring: channel closed", os.ErrClosed}

	// ErrFull is returned when an item cannot be taken without waiting:
	// by TryPush on a full channel, by Push and PushBatch under Reject, and
	// by a TryChan spout whose Go channel has no room. It never means closed.
	ErrFull = errors.New("spillring: channel full")

	// ErrConcurrentUse is the panic value (wrapped, with the handle's
	// type) when a race-enabled build (go test -race) catches two
	// goroutines in owner-only methods of one Producer or Consumer at
	// once. A handle has one owner at a time; Clone a Producer for another
	// goroutine. Other builds do not check.
	ErrConcurrentUse = errors.New("spillring: concurrent use of one handle")

	// ErrEmpty is returned by TryPop when no item is ready and the channel
	// is still open.
	ErrEmpty = errors.New("spillring: channel empty")

	// ErrTimeout is returned by PopTimeout and PushTimeout when the time
	// ran out.
	// errors.Is(ErrTimeout, os.ErrDeadlineExceeded) is true.
	ErrTimeout error = &osError{"spillring: timeout", os.ErrDeadlineExceeded}

	// ErrInvalidConfig is wrapped by every error New returns for a bad
	// Config or element type, and by every error a spout or codec
	// constructor returns for a bad argument.
	ErrInvalidConfig = errors.New("spillring: invalid config")

	// ErrPointerType is returned (wrapping ErrInvalidConfig) when the C
	// backend is asked for an element type that holds Go pointers: the
	// garbage collector does not scan C memory, so such items would be
	// freed while still in the ring. FixedCodec returns it too: the bytes
	// of a pointer mean nothing to the reader of a frame.
	ErrPointerType = fmt.Errorf("%w: element type holds Go pointers", ErrInvalidConfig)

	// ErrBackendUnavailable is returned (wrapping ErrInvalidConfig) when the
	// C backend is asked for in a build without it (CGO_ENABLED=0, the
	// purego tag, or a non-Linux system).
	ErrBackendUnavailable = fmt.Errorf("%w: C backend not in this build (needs cgo on Linux, without the purego tag)", ErrInvalidConfig)

	// ErrNotC is returned by CRing on a channel of the Go backend.
	ErrNotC = errors.New("spillring: channel is not on the C backend")

	// ErrNilContext is returned by the Context methods when ctx is nil, and
	// by Chan (wrapping ErrInvalidConfig as well).
	ErrNilContext = errors.New("spillring: nil context")

	// ErrMalformedFrame is returned by FrameReader.Read for bytes that are
	// not a frame: a header or payload cut short (the error also wraps
	// io.ErrUnexpectedEOF), a payload longer than the reader's maximum, or
	// a payload the codec rejects. A clean end of the stream, between
	// frames, is io.EOF instead.
	ErrMalformedFrame = errors.New("spillring: malformed frame")

	// ErrSequenceComplete is returned by SequencedSpout.Submit for a
	// sequence number whose parts were all submitted already: it was
	// emitted, or its last part is waiting for an earlier number. The batch
	// is not taken.
	ErrSequenceComplete = errors.New("spillring: sequence number already complete")

	// ErrSequenceBufferFull is returned by SequencedSpout.Submit when
	// holding the batch would exceed the spout's bound on buffered items or
	// batches. The batch is not taken; submit it again once earlier
	// sequence numbers have drained. errors.Is(ErrSequenceBufferFull,
	// ErrFull) is true.
	ErrSequenceBufferFull = fmt.Errorf("spillring: sequenced spout buffer full: %w", ErrFull)

	// ErrEvictedLost is wrapped, with the spout's own error, by a push
	// under DropOldest whose evicted item the Config.Evicted spout refused.
	// The push itself succeeded: its items are in the channel (do not push
	// them again). The refused item could not go back into the ring, which
	// had already given its slot away; it is counted in Stats.Evicted and
	// reported here rather than lost in silence.
	ErrEvictedLost = errors.New("spillring: evict spout refused an evicted item")

	// ErrClaimPending is returned by a claim, push or pop on a handle that
	// has a claim pending (Producer.Claim before its Commit or Abort,
	// Consumer.ReadClaim before its Release): each handle has at most one,
	// and in single-producer mode a push would land in the claimed slots.
	// Nothing was changed.
	ErrClaimPending = errors.New("spillring: a claim is pending on this handle")

	// ErrNoClaim is returned by Commit, Abort or Release on a handle with no
	// claim pending: one was never made, or it already ended.
	ErrNoClaim = errors.New("spillring: no claim pending on this handle")

	// ErrClaimCount is returned, wrapped with the numbers, for a claim of
	// fewer than one item, or a Commit or Release of more items than were
	// claimed (or fewer than zero). The claim, if any, stays pending.
	ErrClaimCount = errors.New("spillring: claim count out of range")
)

// osError is a sentinel with its own message that also matches an os
// sentinel under errors.Is: ErrClosed reads "spillring: channel closed", not
// "...: file already closed" as wrapping os.ErrClosed with %w would print.
type osError struct {
	msg string
	os  error
}

func (e *osError) Error() string { return e.msg }

// Unwrap makes errors.Is(e, e.os) true.
func (e *osError) Unwrap() error { return e.os }
