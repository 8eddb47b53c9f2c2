package spillring

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errRefuse is what a testSink returns once its budget runs out.
var errRefuse = errors.New("test sink refuses")

// testSink is an inner spout for the combinator tests. It records every
// item it takes and every call, and takes at most budget more items
// (budget < 0: no limit) before it refuses with errRefuse.
type testSink[T any] struct {
	got        []T
	sends      int // Send calls
	batchCalls int // SendBatch calls
	flushes    int
	budget     int
	flushErr   error
	keep       func(T) T // if set, what the sink stores of an item it takes
}

func newTestSink[T any]() *testSink[T] { return &testSink[T]{budget: -1} }

func (s *testSink[T]) Send(v T) error {
	s.sends++
	if s.budget == 0 {
		return errRefuse
	}
	if s.budget > 0 {
		s.budget--
	}
	if s.keep != nil {
		v = s.keep(v)
	}
	s.got = append(s.got, v)
	return nil
}

func (s *testSink[T]) SendBatch(vs []T) (int, error) {
	s.batchCalls++
	n := len(vs)
	if s.budget >= 0 && s.budget < n {
		n = s.budget
	}
	if s.budget >= 0 {
		s.budget -= n
	}
	for _, v := range vs[:n] {
		if s.keep != nil {
			v = s.keep(v)
		}
		s.got = append(s.got, v)
	}
	if n < len(vs) {
		return n, errRefuse
	}
	return n, nil
}

func (s *testSink[T]) Flush() error {
	s.flushes++
	return s.flushErr
}

// newBorrowingSink returns a testSink of batches that copies each batch it
// takes, as the inner spout of BatchBorrowed must.
func newBorrowingSink[T any]() *testSink[[]T] {
	s := newTestSink[[]T]()
	s.keep = func(b []T) []T { return append([]T(nil), b...) }
	return s
}

// seqInts returns [from, from+n).
func seqInts(from, n int) []int {
	vs := make([]int, n)
	for i := range vs {
		vs[i] = from + i
	}
	return vs
}

// flatten concatenates batches.
func flatten[T any](bs [][]T) []T {
	out := []T{}
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestSpoutTestSink(t *testing.T) {
	s := newTestSink[int]()
	s.budget = 3
	n, err := s.SendBatch(seqInts(0, 5))
	assert.Equal(t, 3, n)
	require.ErrorIs(t, err, errRefuse)
	require.ErrorIs(t, s.Send(9), errRefuse)
	s.budget = -1
	require.NoError(t, s.Send(9))
	assert.Equal(t, []int{0, 1, 2, 9}, s.got)
}

func TestSpoutInvalidConfig(t *testing.T) {
	sink := newTestSink[int]()
	batches := newTestSink[[]int]()
	var nilProducer *Producer[int]
	for name, err := range map[string]error{
		"Func nil send":     second(Func[int](nil, nil)),
		"Batch n=0":         second(Batch[int](0, batches)),
		"Batch n<0":         second(Batch[int](-1, batches)),
		"Batch nil inner":   second(Batch[int](4, nil)),
		"Reduce n=0":        second(Reduce(0, sumInts, sink)),
		"Reduce nil fn":     second(Reduce[int, int](2, nil, sink)),
		"Reduce nil inner":  second(Reduce[int, int](2, sumInts, nil)),
		"Chan nil ctx":      second(Chan[int](nil, make(chan int))),
		"Chan nil channel":  second(Chan[int](t.Context(), nil)),
		"TryChan nil":       second(TryChan[int](nil)),
		"ToProducer nil":    second(ToProducer(nilProducer)),
		"Counting nil":      second(Counting[int](nil)),
		"Locked nil":        second(Locked[int](nil)),
		"Framed nil writer": second(Framed[int](nil, 0, nil)),
		"Framed nil codec":  second(Framed[int](&countingWriter{}, 0, nil)),
		"Reader nil reader": second(NewFrameReader[int](nil, nil, 0)),
		"Reader nil codec":  second(NewFrameReader[int](&countingWriter{}, nil, 0)),
		"Reader max<0":      second(NewFrameReader(&countingWriter{}, mustFixed[uint64](t), -1)),
		"Sequenced nil":     second(Sequenced[int](nil, SequencedConfig{})),
		"Sequenced parts":   second(Sequenced[int](sink, SequencedConfig{Parts: -1})),
		"Sequenced items":   second(Sequenced[int](sink, SequencedConfig{MaxItems: -1})),
		"Sequenced batches": second(Sequenced[int](sink, SequencedConfig{MaxBatches: -1})),
		"FixedCodec ptr":    second(FixedCodec[*int]()),
		"FixedCodec string": second(FixedCodec[struct{ A, B string }]()),
		"FixedCodec empty":  second(FixedCodec[struct{}]()),
		"FixedCodec [0]int": second(FixedCodec[[0]int]()),
	} {
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	_, err := Chan[int](nil, make(chan int))
	assert.ErrorIs(t, err, ErrNilContext)
	_, err = FixedCodec[[]byte]()
	assert.ErrorIs(t, err, ErrPointerType)
}

func second[A, B any](_ A, b B) B { return b }

func sumInts(vs []int) int {
	s := 0
	for _, v := range vs {
		s += v
	}
	return s
}
