package spillring

import (
	"errors"
	"testing"
)

// model is the obviously correct channel the fuzzer compares against.
type model struct {
	cap              int
	mode             Backpressure
	items            []uint64
	evicted          uint64
	closedP, closedC bool
	nextPush         uint64
}

func (m *model) closed() bool { return m.closedP || m.closedC }

// push models one accepted item, evicting the oldest if the ring is full
// (callers reach a full ring only under DropOldest).
func (m *model) push() {
	if len(m.items) == m.cap { // only DropOldest gets here when full
		m.items = m.items[1:]
		m.evicted++
	}
	m.items = append(m.items, m.nextPush)
	m.nextPush++
}

// FuzzOps drives one channel through a single-threaded sequence of
// operations and checks every result, Len and Evicted against the model.
// The first byte picks the configuration; each later byte is an operation,
// some followed by an argument byte. Operations that would block forever
// in one goroutine (a Block push on a full channel, a Pop on an empty open
// channel) are skipped, as the model cannot express them.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0x00, 0, 0, 3, 3, 2, 5, 5, 9, 7, 4})
	f.Add([]byte{0x11, 0, 0, 0, 2, 9, 3, 6, 4, 8, 3, 0})
	f.Add([]byte{0x26, 2, 20, 1, 1, 1, 5, 3, 7, 3, 4, 6, 2})
	f.Add([]byte{0x0a, 2, 7, 0, 0, 0, 6, 2, 8, 0, 3})
	f.Add([]byte{0x35, 1, 1, 1, 1, 1, 2, 9, 5, 9, 4, 4, 7, 1})
	f.Add([]byte{0x13, 0, 0, 0, 0, 2, 31, 5, 6, 6, 12, 3, 3, 3})
	f.Fuzz(fuzzOps)
}

func fuzzOps(t *testing.T, ops []byte) {
	{
		if len(ops) == 0 {
			return
		}
		cfgByte := ops[0]
		m := &model{cap: 1 << (cfgByte & 7 % 5), mode: Backpressure(cfgByte >> 4 % 3)}
		backend := BackendGo
		if cfgByte&8 != 0 && cBackendAvailable {
			backend = BackendC
		}
		p, c, err := New[uint64](Config{Capacity: m.cap, Backpressure: m.mode, Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]uint64, 16)
		arg := func(i *int) int {
			*i++
			if *i < len(ops) {
				return int(ops[*i] % 16)
			}
			return 0
		}
		expectErr := func(what string, got, want error) {
			t.Helper()
			if !errors.Is(got, want) || (want == nil && got != nil) {
				t.Fatalf("%s: err %v, model says %v", what, got, want)
			}
		}
		expectItems := func(what string, got []uint64) {
			t.Helper()
			for _, v := range got {
				if len(m.items) == 0 || v != m.items[0] {
					t.Fatalf("%s: got %d, model has %v", what, v, m.items)
				}
				m.items = m.items[1:]
			}
		}
		for i := 1; i < len(ops); i++ {
			full := len(m.items) == m.cap
			switch ops[i] % 10 {
			case 0, 1: // TryPush / Push
				var want error
				switch {
				case m.closed():
					want = ErrClosed
				case full && m.mode == DropOldest:
				case full && (ops[i]%10 == 0 || m.mode == Reject):
					want = ErrFull
				case full: // a Block Push would wait for ever
					continue
				}
				var err error
				if ops[i]%10 == 0 {
					err = p.TryPush(m.nextPush)
				} else {
					err = p.Push(m.nextPush)
				}
				expectErr("push", err, want)
				if want == nil {
					m.push()
				}
			case 2: // PushBatch
				k := arg(&i)
				free := m.cap - len(m.items)
				if !m.closed() && m.mode == Block && k > free {
					continue // would wait for ever
				}
				batch := make([]uint64, k)
				for j := range batch {
					batch[j] = m.nextPush + uint64(j)
				}
				n, err := p.PushBatch(batch)
				wantN, want := k, error(nil)
				switch {
				case m.closed():
					wantN, want = 0, ErrClosed
				case m.mode == Reject && k > free:
					wantN, want = free, ErrFull
				}
				expectErr("PushBatch", err, want)
				if n != wantN {
					t.Fatalf("PushBatch(%d) took %d, model says %d", k, n, wantN)
				}
				for range n {
					m.push()
				}
			case 3, 4: // TryPop / Pop
				var want error
				switch {
				case m.closedC:
					want = ErrClosed
				case len(m.items) > 0:
				case m.closedP:
					want = ErrClosed
				case ops[i]%10 == 3:
					want = ErrEmpty
				default:
					continue // Pop would wait for ever
				}
				var v uint64
				var err error
				if ops[i]%10 == 3 {
					v, err = c.TryPop()
				} else {
					v, err = c.Pop()
				}
				expectErr("pop", err, want)
				if want == nil {
					expectItems("pop", []uint64{v})
				}
			case 5: // TryPopBatch
				k := arg(&i)
				n := c.TryPopBatch(dst[:k])
				wantN := min(k, len(m.items))
				if m.closedC {
					wantN = 0
				}
				if n != wantN {
					t.Fatalf("TryPopBatch(%d) = %d, model says %d", k, n, wantN)
				}
				expectItems("TryPopBatch", dst[:n])
			case 6: // PopBatch
				k := arg(&i)
				if k > 0 && !m.closed() && len(m.items) == 0 {
					continue // would wait for ever
				}
				n, err := c.PopBatch(dst[:k])
				wantN, want := min(k, len(m.items)), error(nil)
				if k > 0 && (m.closedC || len(m.items) == 0) {
					wantN, want = 0, ErrClosed
				}
				expectErr("PopBatch", err, want)
				if n != wantN {
					t.Fatalf("PopBatch(%d) = %d, model says %d", k, n, wantN)
				}
				expectItems("PopBatch", dst[:n])
			case 7: // PopTimeout(0)
				v, err := c.PopTimeout(0)
				switch {
				case m.closedC || (len(m.items) == 0 && m.closedP):
					expectErr("PopTimeout", err, ErrClosed)
				case len(m.items) == 0:
					expectErr("PopTimeout", err, ErrTimeout)
				default:
					expectErr("PopTimeout", err, nil)
					expectItems("PopTimeout", []uint64{v})
				}
			case 8: // Producer.Close
				want := error(nil)
				if m.closedP {
					want = ErrClosed
				}
				expectErr("Producer.Close", p.Close(), want)
				m.closedP = true
			case 9: // Consumer.Close
				want := error(nil)
				if m.closedC {
					want = ErrClosed
				}
				expectErr("Consumer.Close", c.Close(), want)
				m.closedC = true
			}
			if got := c.Len(); got != len(m.items) {
				t.Fatalf("after op %d: Len %d, model %d", ops[i]%10, got, len(m.items))
			}
			if got := p.Evicted(); got != m.evicted {
				t.Fatalf("after op %d: Evicted %d, model %d", ops[i]%10, got, m.evicted)
			}
			if got := p.HasCapacity(); got != (len(m.items) < m.cap) {
				t.Fatalf("after op %d: HasCapacity %v with %d of %d", ops[i]%10, got, len(m.items), m.cap)
			}
		}
	}
}
