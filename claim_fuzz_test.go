package spillring

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// claimEntry is one sequence in claimModel's queue.
type claimEntry struct {
	v     uint64
	state uint8 // entryPending, entryReady, entryPad
}

const (
	entryPending = iota // claimed, not committed yet
	entryReady          // committed: an item
	entryPad            // claimed and given up, behind a later claim (K3)
)

// claimModel is the obviously correct ring of claims: every claimed
// sequence in claim order, from the consumer's head on.
type claimModel struct {
	cap     int
	multi   bool
	q       []claimEntry
	claims  [2]struct{ at, n int } // per handle: index into q, count (n 0: none)
	reading int                    // the consumer's pending read claim
	next    uint64
	popped  uint64
}

// ready counts the items at the front after stepping over padding there,
// as the consumer does (K4), up to the first non-item.
func (m *claimModel) ready() int {
	for len(m.q) > 0 && m.q[0].state == entryPad {
		m.q = m.q[1:]
		for h := range m.claims {
			m.claims[h].at--
		}
	}
	n := 0
	for n < len(m.q) && m.q[n].state == entryReady {
		n++
	}
	return n
}

func (m *claimModel) take(k int) []uint64 {
	var vs []uint64
	for _, e := range m.q[:k] {
		vs = append(vs, e.v)
	}
	m.q = m.q[k:]
	for h := range m.claims {
		m.claims[h].at -= k
	}
	m.popped += uint64(k)
	return vs
}

// FuzzClaim drives one channel (Block, capacity 4, one or two producer
// handles) through a single-goroutine sequence of claims, commits, aborts,
// pushes, read claims, releases and pops, and checks each result against
// claimModel: what a claim gets is exactly the free room, what the consumer
// gets is exactly the committed items in claim order, padding is stepped
// over, and nothing uncommitted is ever read. Only non-blocking forms are
// used. The first byte picks the backend and MPSC mode; then each op is a
// byte (op and handle) and an argument byte.
func FuzzClaim(f *testing.F) {
	f.Add([]byte{0, 1, 3, 2, 2, 4, 0, 5, 4, 6, 1})
	f.Add([]byte{1, 1, 4, 9, 2, 2, 1, 0, 1, 4, 3, 0, 4, 0, 5, 9, 6, 2, 7, 3})
	f.Add([]byte{3, 1, 2, 9, 3, 2, 0, 0, 1, 10, 1, 4, 4, 0, 5, 3, 6, 1, 4, 0})
	f.Fuzz(fuzzClaimBody)
}

func fuzzClaimBody(t *testing.T, data []byte) {
	{
		if len(data) == 0 {
			return
		}
		be := BackendGo
		if data[0]&1 != 0 && cBackendAvailable {
			be = BackendC
		}
		const capacity = 4
		p, c, err := New[uint64](Config{Capacity: capacity, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		handles := []*Producer[uint64]{p}
		m := &claimModel{cap: capacity, multi: data[0]&2 != 0}
		if m.multi {
			q, err := p.Clone()
			if err != nil {
				t.Fatal(err)
			}
			handles = append(handles, q)
		}
		var spans [2][2][]uint64
		for i := 1; i+1 < len(data); i += 2 {
			op, arg := data[i], int(data[i+1])
			hi := int(op>>3) % len(handles)
			h, cl := handles[hi], &m.claims[hi]
			switch op & 7 {
			case 0: // TryPush
				err := h.TryPush(m.next)
				switch {
				case cl.n != 0:
					expectErr(t, err, ErrClaimPending)
				case len(m.q) == m.cap:
					expectErr(t, err, ErrFull)
				default:
					expectErr(t, err, nil)
					m.q = append(m.q, claimEntry{m.next, entryReady})
					m.next++
				}
			case 1: // TryClaim
				n := 1 + arg%5
				a, b, err := h.TryClaim(n)
				switch {
				case cl.n != 0:
					expectErr(t, err, ErrClaimPending)
				case len(m.q) == m.cap:
					expectErr(t, err, ErrFull)
				default:
					expectErr(t, err, nil)
					want := min(n, m.cap-len(m.q))
					if got := len(a) + len(b); got != want {
						t.Fatalf("claim of %d got %d slots, want %d free", n, got, want)
					}
					*cl = struct{ at, n int }{len(m.q), want}
					for range want {
						m.q = append(m.q, claimEntry{state: entryPending})
					}
					spans[hi] = [2][]uint64{a, b}
				}
			case 2, 3: // Commit(k), Abort
				k := 0
				if op&7 == 2 && cl.n != 0 {
					k = arg % (cl.n + 1)
				}
				if cl.n != 0 {
					// Write every claimed slot: the uncommitted ones
					// with poison, which no pop may return.
					for j := range cl.n {
						v := m.next + uint64(j)
						if j >= k {
							v = poison
						}
						a := spans[hi][0]
						if j < len(a) {
							a[j] = v
						} else {
							spans[hi][1][j-len(a)] = v
						}
					}
				}
				took, err := h.Commit(k)
				if cl.n == 0 {
					expectErr(t, err, ErrNoClaim)
					break
				}
				expectErr(t, err, nil)
				if took != k {
					t.Fatalf("commit of %d took %d", k, took)
				}
				for j := range cl.n {
					e := &m.q[cl.at+j]
					if j < k {
						*e = claimEntry{m.next, entryReady}
						m.next++
					} else {
						e.state = entryPad
					}
				}
				if cl.at+cl.n == len(m.q) {
					// No later claim: the rest is given back (K2, K3).
					m.q = m.q[:cl.at+k]
				}
				cl.n = 0
			case 4: // TryPop
				v, err := c.TryPop()
				if m.reading != 0 {
					expectErr(t, err, ErrClaimPending)
					break
				}
				if m.ready() == 0 {
					expectErr(t, err, ErrEmpty)
					break
				}
				expectErr(t, err, nil)
				if want := m.take(1)[0]; v != want {
					t.Fatalf("popped %#x, want %#x", v, want)
				}
			case 5: // TryReadClaim
				n := 1 + arg%5
				a, b, err := c.TryReadClaim(n)
				if m.reading != 0 {
					expectErr(t, err, ErrClaimPending)
					break
				}
				r := m.ready()
				if r == 0 {
					expectErr(t, err, ErrEmpty)
					break
				}
				expectErr(t, err, nil)
				want := min(n, r)
				got := append(append([]uint64(nil), a...), b...)
				if len(got) != want {
					t.Fatalf("read claim of %d got %d, want %d", n, len(got), want)
				}
				for j, v := range got {
					if v != m.q[j].v {
						t.Fatalf("read claim item %d: %#x, want %#x", j, v, m.q[j].v)
					}
				}
				m.reading = want
			case 6: // Release(k)
				k := arg % (m.reading + 1)
				err := c.Release(k)
				if m.reading == 0 {
					expectErr(t, err, ErrNoClaim)
					break
				}
				expectErr(t, err, nil)
				m.take(k)
				m.reading = 0
			case 7: // TryPopBatch
				buf := make([]uint64, 1+arg%5)
				got := c.TryPopBatch(buf)
				if m.reading != 0 {
					if got != 0 {
						t.Fatalf("popped %d during a read claim", got)
					}
					break
				}
				want := m.take(min(len(buf), m.ready()))
				if got != len(want) {
					t.Fatalf("batch pop got %d, want %d", got, len(want))
				}
				for j, v := range want {
					if buf[j] != v {
						t.Fatalf("batch item %d: %#x, want %#x", j, buf[j], v)
					}
				}
			}
		}
		// End every claim and drain: the counters must add up.
		for hi, h := range handles {
			if m.claims[hi].n != 0 {
				if err := h.Abort(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if m.reading != 0 {
			if err := c.Release(0); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]uint64, capacity)
		for c.TryPopBatch(buf) > 0 {
		}
		st := c.Stats()
		if st.Pushed != st.Popped+uint64(st.Len) || st.Len != 0 || st.Pushed != m.next {
			t.Fatalf("stats %v; committed %d", st, m.next)
		}
	}
}

func expectErr(t *testing.T, got, want error) {
	t.Helper()
	if (want == nil) != (got == nil) || want != nil && !errors.Is(got, want) {
		t.Fatalf("error %v, want %v", got, want)
	}
}

// TestClaimOpsRandom runs FuzzClaim's checks on seeded random op sequences,
// so every `make test` explores far more than the seed corpus.
func TestClaimOpsRandom(t *testing.T) {
	runs := 20000
	if testing.Short() {
		runs = 2000
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	for range runs {
		data := make([]byte, 2+rng.IntN(60))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		fuzzClaimBody(t, data)
		if t.Failed() {
			t.Fatalf("input %v", data)
		}
	}
}
