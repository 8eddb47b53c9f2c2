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

// linHistory records the operations of one concurrent history: each is
// timed by one logical clock, its call before it starts and its return
// after it ends.
type linHistory struct {
	clock atomic.Int64
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (h *linHistory) call() int64 { return h.clock.Add(1) }

func (h *linHistory) record(client int, in any, call int64, out any) {
	ret := h.clock.Add(1)
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// check fails the test, listing the history, unless m accepts it.
func (h *linHistory) check(t *testing.T, m porcupine.Model, n int) {
	t.Helper()
	if !porcupine.CheckOperations(m, h.ops) {
		for _, op := range h.ops {
			t.Logf("client %d [%d,%d] %s", op.ClientId, op.Call, op.Return, m.DescribeOperation(op.Input, op.Output))
		}
		t.Fatalf("history %d is not linearizable", n)
	}
}

func TestLinearizableMPSC(t *testing.T) {
	histories := 300
	if testing.Short() {
		histories = 60
	}
	const producers, pushes, capacity = 3, 5, 2
	eachBackend(t, func(t *testing.T, b Backend) {
		for n := range histories {
			ps, c := mpChan(t, Config{Capacity: capacity, Backend: b}, producers)
			var h linHistory
			var wg sync.WaitGroup
			for id, q := range ps {
				wg.Go(func() {
					defer q.Close()
					for i := range pushes {
						v := tag(id, i)
						call := h.call()
						err := q.TryPush(v)
						if err != nil && !errors.Is(err, ErrFull) {
							t.Error(err)
						}
						h.record(id, linOp{push: true, v: v}, call, linOut{full: err != nil})
					}
				})
			}
			for {
				call := h.call()
				v, err := c.Pop()
				h.record(producers, linOp{}, call, linOut{v: v, closed: err != nil})
				if err != nil {
					require.ErrorIs(t, err, ErrClosed)
					break
				}
			}
			wg.Wait()
			h.check(t, linModel(capacity), n)
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
		for n := range histories {
			ps, c := mpChan(t, Config{Capacity: capacity, Backend: b}, producers)
			var h linHistory
			var wg sync.WaitGroup
			for id, q := range ps {
				wg.Go(func() {
					defer q.Close()
					for i := range rounds {
						call := h.call()
						if i%2 == 0 {
							v := tag(id, i)
							err := q.TryPush(v)
							if err != nil && !errors.Is(err, ErrFull) {
								t.Error(err)
							}
							h.record(id, linBatch{push: true, vs: []uint64{v}}, call, linBatchOut{full: err != nil})
							continue
						}
						a, s, err := q.TryClaim(2)
						if errors.Is(err, ErrFull) {
							h.record(id, linBatch{push: true}, call, linBatchOut{full: true})
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
						h.record(id, linBatch{push: true, vs: vs}, call, linBatchOut{})
					}
				})
			}
			for i := 0; ; i++ {
				call := h.call()
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
				h.record(producers, linBatch{}, call, out)
				if err != nil {
					require.ErrorIs(t, err, ErrClosed)
					break
				}
			}
			wg.Wait()
			h.check(t, linBatchModel(capacity), n)
		}
	})
}
