package spillring

import (
	"errors"
	"slices"
	"testing"
)

// srModel is the obviously correct SpillRing the fuzzer compares against: a
// slice for the ring and one for what reached the spout.
type srModel struct {
	cap     int
	ring    []uint64
	spout   []uint64 // items the spout took, in order (not kept by a discarding spout)
	spilled uint64
	popped  uint64
	pushed  uint64
	next    uint64 // the value of the next item to push
	budget  int    // items the spout still takes; -1: all
	discard bool
}

// take is the model spout: it takes up to budget items from the front of vs.
func (m *srModel) take(vs []uint64) int {
	k := len(vs)
	if m.budget >= 0 {
		k = min(k, m.budget)
		m.budget -= k
	}
	if !m.discard {
		m.spout = append(m.spout, vs[:k]...)
	}
	m.spilled += uint64(k)
	return k
}

func (m *srModel) items(n int) []uint64 {
	vs := make([]uint64, n)
	for i := range vs {
		vs[i] = m.next + uint64(i)
	}
	return vs
}

func (m *srModel) append(vs []uint64) {
	m.ring = append(m.ring, vs...)
	m.pushed += uint64(len(vs))
	m.next += uint64(len(vs))
}

// push models Push: it reports whether the item was taken.
func (m *srModel) push() bool {
	if len(m.ring) == m.cap {
		if m.take(m.ring[:1]) == 0 {
			return false
		}
		m.ring = m.ring[1:]
	}
	m.append(m.items(1))
	return true
}

// pushSlice models PushSlice, as documented: the ring's oldest items
// leave first, then the slice's own leading items; a refusal stops the
// evictions, and the ring still takes what fits.
func (m *srModel) pushSlice(k int) (int, bool) {
	vs := m.items(k)
	room := m.cap - len(m.ring)
	if k <= room {
		m.append(vs)
		return k, true
	}
	need := k - room
	fromRing := min(need, len(m.ring))
	got := m.take(m.ring[:fromRing])
	m.ring = m.ring[got:]
	if got < fromRing {
		m.append(vs[:room+got])
		return room + got, false
	}
	direct := need - fromRing
	if j := m.take(vs[:direct]); j < direct {
		m.pushed += uint64(j)
		m.next += uint64(j)
		m.append(vs[j : j+m.cap])
		return j + m.cap, false
	}
	m.pushed += uint64(direct)
	m.next += uint64(direct)
	m.append(vs[direct:])
	return k, true
}

// flush models Flush: it reports whether the spout took everything.
func (m *srModel) flush() bool {
	got := m.take(m.ring)
	ok := got == len(m.ring)
	m.ring = m.ring[got:]
	return ok
}

// FuzzSpillRing drives one SpillRing through a sequence of operations and
// checks every result, the counters, the contents and what reached the
// spout against srModel. The first byte picks the configuration (capacity,
// backend, spout: discarding, collecting, or failing on a budget); each
// later byte is an operation, some followed by an argument byte.
func FuzzSpillRing(f *testing.F) {
	f.Add([]byte{0x00, 0, 0, 0, 2, 1, 9, 3, 2, 7, 11})
	f.Add([]byte{0x0b, 0, 0, 0, 0, 0, 1, 13, 2, 4, 5, 6, 2, 7, 8, 9, 3})
	f.Add([]byte{0x12, 10, 1, 0, 0, 0, 0, 0, 1, 5, 10, 3, 1, 7, 7, 10, 255, 7})
	f.Add([]byte{0x17, 1, 20, 0, 0, 3, 4, 11, 6, 9, 8, 1, 33, 7, 2, 3, 5})
	f.Add([]byte{0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 17, 9, 2, 6, 3, 11, 8, 7})
	f.Add([]byte{0x13, 10, 2, 1, 9, 0, 0, 0, 0, 0, 10, 0, 1, 12, 10, 1, 7, 10, 255, 7})
	f.Fuzz(fuzzSpillRing)
}

func fuzzSpillRing(t *testing.T, ops []byte) {
	if len(ops) == 0 {
		return
	}
	cfg := ops[0]
	m := &srModel{cap: 1 << (cfg & 3), budget: -1}
	backend := BackendGo
	if cfg&4 != 0 && cBackendAvailable {
		backend = BackendC
	}
	var spout *srFailing[uint64]
	var sp Spout[uint64]
	switch cfg >> 3 % 3 {
	case 0:
		m.discard = true
	case 1:
		spout = &srFailing[uint64]{budget: -1}
		sp = spout
	case 2:
		spout = &srFailing[uint64]{budget: 0}
		sp = spout
		m.budget = 0
	}
	r, err := NewSpillRing(SpillConfig[uint64]{Capacity: m.cap, Spout: sp, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	arg := func(i *int) int {
		*i++
		if *i < len(ops) {
			return int(ops[*i])
		}
		return 0
	}
	expectErr := func(what string, err error, ok bool) {
		t.Helper()
		if ok && err != nil || !ok && !errors.Is(err, errSrRefused) {
			t.Fatalf("%s: err %v, model says ok=%v", what, err, ok)
		}
	}
	expectItem := func(what string, v uint64, ok bool, want []uint64) {
		t.Helper()
		if ok != (len(want) > 0) || ok && v != want[0] {
			t.Fatalf("%s: got %d, %v; model has %v", what, v, ok, want)
		}
	}
	buf := make([]uint64, 4*m.cap+4)
	for i := 1; i < len(ops); i++ {
		switch op := ops[i] % 12; op {
		case 0:
			err := r.Push(m.next)
			expectErr("Push", err, m.push())
		case 1:
			k := arg(&i) % (3*m.cap + 2)
			for j := range k {
				buf[j] = m.next + uint64(j)
			}
			n, err := r.PushSlice(buf[:k])
			wantN, ok := m.pushSlice(k)
			expectErr("PushSlice", err, ok)
			if n != wantN {
				t.Fatalf("PushSlice(%d) took %d, model %d", k, n, wantN)
			}
		case 2:
			v, ok := r.Pop()
			expectItem("Pop", v, ok, m.ring)
			if ok {
				m.ring = m.ring[1:]
				m.popped++
			}
		case 3:
			k := arg(&i) % (m.cap + 2)
			n := r.PopSlice(buf[:k])
			want := m.ring[:min(k, len(m.ring))]
			if !slices.Equal(buf[:n], want) {
				t.Fatalf("PopSlice(%d): %v, model %v", k, buf[:n], want)
			}
			m.ring = m.ring[n:]
			m.popped += uint64(n)
		case 4:
			v, ok := r.Peek()
			expectItem("Peek", v, ok, m.ring)
		case 5:
			v, ok := r.PeekBack()
			var want []uint64
			if len(m.ring) > 0 {
				want = m.ring[len(m.ring)-1:]
			}
			expectItem("PeekBack", v, ok, want)
		case 6:
			k := arg(&i)%(m.cap+2) - 1
			v, ok := r.Get(k)
			var want []uint64
			if k >= 0 && k < len(m.ring) {
				want = m.ring[k:]
			}
			expectItem("Get", v, ok, want)
		case 7:
			expectErr("Flush", r.Flush(), m.flush())
		case 8:
			r.Clear()
			m.popped += uint64(len(m.ring))
			m.ring = nil
		case 9:
			k := arg(&i) % (m.cap + 1)
			var got []uint64
			for v := range r.Drain() {
				got = append(got, v)
				if len(got) == k {
					break
				}
			}
			want := m.ring // k == 0: drain everything
			if k > 0 {
				want = m.ring[:min(k, len(m.ring))]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Drain to %d: %v, model %v", k, got, want)
			}
			m.ring = m.ring[len(got):]
			m.popped += uint64(len(got))
		case 10: // a new budget for the failing spout, -1 (all) to 2
			b := arg(&i)%4 - 1
			if cfg>>3%3 == 2 {
				spout.budget, m.budget = b, b
			}
		case 11:
			if got := srContents(r); !slices.Equal(got, m.ring) {
				t.Fatalf("All: %v, model %v", got, m.ring)
			}
		}
		if r.Len() != len(m.ring) || r.Pushed() != m.pushed || r.Popped() != m.popped || r.Spilled() != m.spilled {
			t.Fatalf("after op %d: len %d pushed %d popped %d spilled %d; model %d %d %d %d",
				ops[i]%12, r.Len(), r.Pushed(), r.Popped(), r.Spilled(), len(m.ring), m.pushed, m.popped, m.spilled)
		}
		if r.Pushed() != r.Popped()+r.Spilled()+uint64(r.Len()) {
			t.Fatal("pushed != popped + spilled + Len()")
		}
		if spout != nil && !slices.Equal(spout.items, m.spout) {
			t.Fatalf("spout has %v, model %v", spout.items, m.spout)
		}
	}
	if got := srContents(r); !slices.Equal(got, m.ring) {
		t.Fatalf("ring holds %v, model %v", got, m.ring)
	}
}
