package spillring

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// Linearizability of small concurrent MPSC histories, checked with
// porcupine against a sequential bounded FIFO queue. Producers use TryPush
// (its ErrFull result is checked too) and the consumer the blocking Pop:
// TryPop may report empty while a push claimed before a finished one is
// still writing, which a linearizable queue would not (documented on
// TryPop), so it is not part of the checked history.

type linOp struct {
	push bool
	v    uint64
}

type linOut struct {
	v      uint64
	full   bool // TryPush: ErrFull
	closed bool // Pop: ErrClosed
}

// linModel is a queue of capacity c; its state is the items, in order, as a
// string, so states compare with ==.
func linModel(c int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			q := splitQueue(state.(string))
			in, out := input.(linOp), output.(linOut)
			if in.push {
				if len(q) == c {
					return out.full, state
				}
				if out.full {
					return false, state
				}
				return true, joinQueue(append(q, in.v))
			}
			if len(q) == 0 {
				return out.closed, state
			}
			if out.closed || out.v != q[0] {
				return false, state
			}
			return true, joinQueue(q[1:])
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(linOp), output.(linOut)
			if in.push {
				return fmt.Sprintf("push(%d) full=%v", in.v, out.full)
			}
			return fmt.Sprintf("pop() = %d closed=%v", out.v, out.closed)
		},
	}
}

func splitQueue(s string) []uint64 {
	if s == "" {
		return nil
	}
	var q []uint64
	for f := range strings.SplitSeq(s, ",") {
		var v uint64
		fmt.Sscan(f, &v)
		q = append(q, v)
	}
	return q
}

func joinQueue(q []uint64) string {
	var b strings.Builder
	for i, v := range q {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, v)
	}
	return b.String()
}

func TestLinearizableMPSC(t *testing.T) {
	histories := 300
	if testing.Short() {
		histories = 60
	}
	const producers, pushes, capacity = 3, 5, 2
	eachBackend(t, func(t *testing.T, b Backend) {
		for h := range histories {
			p, c := newChan[uint64](t, Config{Capacity: capacity, Backend: b})
			ps := []*Producer[uint64]{p}
			for range producers - 1 {
				q, err := p.Clone()
				require.NoError(t, err)
				ps = append(ps, q)
			}
			var clock atomic.Int64
			var mu sync.Mutex
			var ops []porcupine.Operation
			record := func(client int, in linOp, call int64, out linOut) {
				ret := clock.Add(1)
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
			var wg sync.WaitGroup
			for id, q := range ps {
				wg.Go(func() {
					defer q.Close()
					for i := range pushes {
						v := tag(id, i)
						call := clock.Add(1)
						err := q.TryPush(v)
						if err != nil && !errors.Is(err, ErrFull) {
							t.Error(err)
						}
						record(id, linOp{push: true, v: v}, call, linOut{full: err != nil})
					}
				})
			}
			for {
				call := clock.Add(1)
				v, err := c.Pop()
				record(producers, linOp{}, call, linOut{v: v, closed: err != nil})
				if err != nil {
					require.ErrorIs(t, err, ErrClosed)
					break
				}
			}
			wg.Wait()
			if !porcupine.CheckOperations(linModel(capacity), ops) {
				m := linModel(capacity)
				for _, op := range ops {
					t.Logf("client %d [%d,%d] %s", op.ClientId, op.Call, op.Return, m.DescribeOperation(op.Input, op.Output))
				}
				t.Fatalf("history %d is not linearizable", h)
			}
		}
	})
}
