package spillring

import (
	"context"
	"fmt"
	"runtime"
)

var _ Spout[int] = (*ChanSpout[int])(nil)

// ChanSpout sends items into a Go channel, either waiting for room (Chan)
// or never waiting (TryChan).
//
// Closing the Go channel while the spout may still send is the caller's
// mistake, but it does not crash the program: the spout recovers the panic
// of the send and returns an error wrapping ErrClosed, with the item not
// taken. The spout never closes the channel.
//
// A ChanSpout is safe for concurrent use when the channel is: any number of
// goroutines may send through it at once.
type ChanSpout[T any] struct {
	ch   chan<- T
	ctx  context.Context // nil for TryChan
	done <-chan struct{} // ctx.Done(), looked up once
}

// Chan returns a spout whose sends wait for room in ch until ctx is done.
// A send that gives up returns an error wrapping ctx.Err(), and the item is
// not taken. ctx must not be nil (ErrNilContext) and ch not nil. The spout
// keeps ctx for its whole life, since Send has no context argument: cancel
// ctx to release a sender that waits.
func Chan[T any](ctx context.Context, ch chan<- T) (*ChanSpout[T], error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: Chan: %w", ErrInvalidConfig, ErrNilContext)
	}
	if ch == nil {
		return nil, invalidSpout("Chan", "nil channel (a send would block for ever)")
	}
	return &ChanSpout[T]{ch: ch, ctx: ctx, done: ctx.Done()}, nil
}

// TryChan returns a spout that sends into ch only when ch has room, and
// otherwise returns ErrFull with the item not taken. ch must not be nil.
func TryChan[T any](ch chan<- T) (*ChanSpout[T], error) {
	if ch == nil {
		return nil, invalidSpout("TryChan", "nil channel")
	}
	return &ChanSpout[T]{ch: ch}, nil
}

// Send sends v into the channel. A spout from Chan waits for room and
// returns the wrapped ctx.Err() if ctx is done first (a ctx already done
// sends nothing); a spout from TryChan returns ErrFull if there is no room.
func (s *ChanSpout[T]) Send(v T) (err error) {
	defer recoverClosedChan(&err)
	if s.ctx == nil {
		select {
		case s.ch <- v:
			return nil
		default:
			return ErrFull
		}
	}
	if err := s.ctx.Err(); err != nil {
		return chanGaveUp(err)
	}
	select {
	case s.ch <- v:
		return nil
	case <-s.done:
		return chanGaveUp(s.ctx.Err())
	}
}

// SendBatch sends the items of vs in order. A spout from Chan waits for
// room for each item until ctx is done; a spout from TryChan stops at the
// first item that finds no room, returning ErrFull.
func (s *ChanSpout[T]) SendBatch(vs []T) (n int, err error) {
	defer recoverClosedChan(&err)
	if s.ctx != nil {
		if err := s.ctx.Err(); err != nil {
			return 0, chanGaveUp(err)
		}
	}
	for ; n < len(vs); n++ {
		select {
		case s.ch <- vs[n]:
			continue
		default:
		}
		if s.ctx == nil {
			return n, ErrFull
		}
		select {
		case s.ch <- vs[n]:
		case <-s.done:
			return n, chanGaveUp(s.ctx.Err())
		}
	}
	return n, nil
}

// Flush does nothing: a send is complete once the channel holds the item.
func (s *ChanSpout[T]) Flush() error { return nil }

func chanGaveUp(err error) error {
	return fmt.Errorf("spillring: chan spout: %w", err)
}

// recoverClosedChan turns the panic of a send on a closed channel into an
// error wrapping ErrClosed, and lets any other panic go on. The item whose
// send panicked was not taken.
func recoverClosedChan(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if re, ok := r.(runtime.Error); ok && re.Error() == "send on closed channel" {
		*err = fmt.Errorf("%w: send on a closed Go channel", ErrClosed)
		return
	}
	panic(r)
}
