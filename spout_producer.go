package spillring

var _ Spout[int] = (*ProducerSpout[int])(nil)

// ProducerSpout sends items into a spillring channel through its Producer,
// so channels chain into pipelines: a stage pops from one channel and
// sends, through combinators, into the next. It follows the channel's
// Backpressure: under Block a send waits for room, under Reject it returns
// ErrFull, under DropOldest it evicts. A send returns ErrClosed once either
// side of the channel has closed.
//
// Like the Producer, it belongs to one goroutine at a time.
type ProducerSpout[T any] struct {
	p *Producer[T]
}

// ToProducer returns a spout that pushes into p. p must not be nil. The
// spout does not close p.
func ToProducer[T any](p *Producer[T]) (*ProducerSpout[T], error) {
	if p == nil {
		return nil, invalidSpout("ToProducer", "nil producer")
	}
	return &ProducerSpout[T]{p: p}, nil
}

// Send pushes v (Producer.Push).
func (s *ProducerSpout[T]) Send(v T) error { return s.p.Push(v) }

// SendBatch pushes vs, publishing once per run of free slots
// (Producer.PushBatch).
func (s *ProducerSpout[T]) SendBatch(vs []T) (int, error) { return s.p.PushBatch(vs) }

// Flush returns nil: a pushed item is already visible to the consumer, so
// there is nothing to push out. A closed channel shows on the next Send
// instead, and the items already pushed are still drained by the consumer
// after the producer closes.
func (s *ProducerSpout[T]) Flush() error { return nil }
