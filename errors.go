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
	// consumer closed), and by a second Close. errors.Is(ErrClosed,
	// os.ErrClosed) is true.
	ErrClosed = fmt.Errorf("spillring: channel closed: %w", os.ErrClosed)

	// ErrFull is returned when an item cannot be taken without waiting:
	// by TryPush on a full channel, and by Push and PushBatch under Reject.
	// It never means closed.
	ErrFull = errors.New("spillring: channel full")

	// ErrEmpty is returned by TryPop when no item is ready and the channel
	// is still open.
	ErrEmpty = errors.New("spillring: channel empty")

	// ErrTimeout is returned by PopTimeout when the time ran out.
	// errors.Is(ErrTimeout, os.ErrDeadlineExceeded) is true.
	ErrTimeout = fmt.Errorf("spillring: timeout: %w", os.ErrDeadlineExceeded)

	// ErrInvalidConfig is wrapped by every error New returns for a bad
	// Config or element type.
	ErrInvalidConfig = errors.New("spillring: invalid config")

	// ErrPointerType is returned (wrapping ErrInvalidConfig) when the C
	// backend is asked for an element type that holds Go pointers: the
	// garbage collector does not scan C memory, so such items would be
	// freed while still in the ring.
	ErrPointerType = fmt.Errorf("%w: element type holds Go pointers", ErrInvalidConfig)

	// ErrBackendUnavailable is returned (wrapping ErrInvalidConfig) when the
	// C backend is asked for in a build without it (CGO_ENABLED=0, the
	// purego tag, or a non-Linux system).
	ErrBackendUnavailable = fmt.Errorf("%w: C backend not in this build (needs cgo on Linux, without the purego tag)", ErrInvalidConfig)

	// ErrNotC is returned by CRing on a channel of the Go backend.
	ErrNotC = errors.New("spillring: channel is not on the C backend")

	// ErrNilContext is returned by the Context methods when ctx is nil.
	ErrNilContext = errors.New("spillring: nil context")
)
