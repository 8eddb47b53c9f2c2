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

// Claims in the same histories: a Claim whose Commit publishes every slot it
// got is one operation, from the Claim's call to the Commit's return, that
// appends its items at once (a claim of 2 may get 1 slot: a burst), and a
// ReadClaim released whole is one that takes the first k items. Partial
// commits are left out: the slots a pending claim holds count against the
// room other pushes see, which a queue of items alone cannot express.

type linBatch struct {
	push bool
	vs   []uint64 // push: the items committed; pop: unused
}

type linBatchOut struct {
	vs     []uint64 // pop: the items read
	full   bool
	closed bool
}

func linBatchModel(c int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			q := splitQueue(state.(string))
			in, out := input.(linBatch), output.(linBatchOut)
			if in.push {
				if out.full {
					return len(q) == c, state
				}
				if len(q)+len(in.vs) > c {
					return false, state
				}
				return true, joinQueue(append(q, in.vs...))
			}
			if out.closed {
				return len(q) == 0, state
			}
			if len(out.vs) == 0 || len(out.vs) > len(q) {
				return false, state
			}
			for i, v := range out.vs {
				if q[i] != v {
					return false, state
				}
			}
			return true, joinQueue(q[len(out.vs):])
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(linBatch), output.(linBatchOut)
			if in.push {
				return fmt.Sprintf("push%v full=%v", in.vs, out.full)
			}
			return fmt.Sprintf("pop() = %v closed=%v", out.vs, out.closed)
		},
	}
}

func TestLinearizableClaims(t *testing.T) {
	histories := 300
	if testing.Short() {
		histories = 60
	}
	const producers, rounds, capacity = 3, 4, 2
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
			record := func(client int, in linBatch, call int64, out linBatchOut) {
				ret := clock.Add(1)
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
			var wg sync.WaitGroup
			for id, q := range ps {
				wg.Go(func() {
					defer q.Close()
					for i := range rounds {
						call := clock.Add(1)
						if i%2 == 0 {
							v := tag(id, i)
							err := q.TryPush(v)
							if err != nil && !errors.Is(err, ErrFull) {
								t.Error(err)
							}
							record(id, linBatch{push: true, vs: []uint64{v}}, call, linBatchOut{full: err != nil})
							continue
						}
						a, s, err := q.TryClaim(2)
						if errors.Is(err, ErrFull) {
							record(id, linBatch{push: true}, call, linBatchOut{full: true})
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						var vs []uint64
						for j := range len(a) + len(s) {
							v := tag(id, i*10+j)
							if j < len(a) {
								a[j] = v
							} else {
								s[j-len(a)] = v
							}
							vs = append(vs, v)
						}
						if n, err := q.Commit(len(vs)); err != nil || n != len(vs) {
							t.Errorf("commit of %d: %d, %v", len(vs), n, err)
						}
						record(id, linBatch{push: true, vs: vs}, call, linBatchOut{})
					}
				})
			}
			for i := 0; ; i++ {
				call := clock.Add(1)
				var out linBatchOut
				var err error
				if i%2 == 0 {
					var v uint64
					if v, err = c.Pop(); err == nil {
						out.vs = []uint64{v}
					}
				} else {
					var a, s []uint64
					if a, s, err = c.ReadClaim(2); err == nil {
						out.vs = append(append(out.vs, a...), s...)
						require.NoError(t, c.Release(len(a)+len(s)))
					}
				}
				out.closed = err != nil
				record(producers, linBatch{}, call, out)
				if err != nil {
					require.ErrorIs(t, err, ErrClosed)
					break
				}
			}
			wg.Wait()
			if !porcupine.CheckOperations(linBatchModel(capacity), ops) {
				m := linBatchModel(capacity)
				for _, op := range ops {
					t.Logf("client %d [%d,%d] %s", op.ClientId, op.Call, op.Return, m.DescribeOperation(op.Input, op.Output))
				}
				t.Fatalf("history %d is not linearizable", h)
			}
		}
	})
}
