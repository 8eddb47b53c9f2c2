package bench

import (
	"fmt"

	"github.com/spillring/spillring"
)

// The claim scenarios (spsc-claim16, mpsc2-claim16) move Chunk items per
// call. spillring-c and spillring-go build them in place: the producer
// claims up to Chunk slots, writes its items into them and commits; the
// consumer read-claims up to Chunk items, checks them where they lie and
// releases them. The *-pushbatch impls move the same chunks through
// PushBatch and PopBatch, copying each item in and out, and chan and xsync
// move the items one by one.

// ClaimChunk is the chunk of the claim scenarios.
const ClaimChunk = 16

// Item64 is the record of spsc-claim16-64b: 64 bytes, a cache line, built
// field by field as a producer that parses or fills a struct would. There
// the *-pushbatch impls build each chunk in a buffer of their own and copy
// it in and out, and chan sends each record by value. xsync and c11-loop
// do not take part.
type Item64 struct {
	Seq  uint64
	Data [7]uint64
}

// fill builds the record of sequence v in place.
func (it *Item64) fill(v uint64) {
	it.Seq = v
	for j := range it.Data {
		it.Data[j] = v + uint64(j)
	}
}

// ok reports whether it is the record fill built for want, first and last
// field: a record copied or published only in part fails.
func (it *Item64) ok(want uint64) bool {
	return it.Seq == want && it.Data[len(it.Data)-1] == want+uint64(len(it.Data)-1)
}

// wideMismatch is mismatch for a record.
func wideMismatch(prev error, it *Item64, want uint64) error {
	if prev != nil {
		return prev
	}
	return fmt.Errorf("wrong record: seq %d, last field %d, want %d", it.Seq, it.Data[len(it.Data)-1], want)
}

// openSpillringPushBatch opens the default channel for the claim scenarios
// only, moving each chunk with PushBatch and PopBatch.
func openSpillringPushBatch(backend spillring.Backend) func(Scenario) (ops, error) {
	return func(sc Scenario) (ops, error) {
		if sc.Chunk == 0 {
			return ops{}, ErrUnsupported
		}
		if sc.Wide {
			return chunkWide(sc, backend, false)
		}
		p, c, err := spillring.New[uint64](spillring.Config{Capacity: Capacity, Backend: backend})
		if err != nil {
			return ops{}, err
		}
		return chunkSpillring(sc, p, c, false)
	}
}

// chunkSpillring is a claim scenario's ops over p and c: claims when claim
// is set, PushBatch and PopBatch otherwise.
func chunkSpillring(sc Scenario, p *spillring.Producer[uint64], c *spillring.Consumer[uint64], claim bool) (ops, error) {
	var o ops
	handles, err := cloneHandles(sc, p, c, &o)
	if err != nil {
		return ops{}, err
	}
	// produce pushes n items start, start+stride, ... through h.
	produce := func(h *spillring.Producer[uint64]) func(start uint64, n, stride int) {
		in := make([]uint64, sc.Chunk) // made once: a round allocates nothing
		return func(start uint64, n, stride int) {
			v := start
			for left := n; left > 0; {
				var a, b []uint64
				if claim {
					var err error
					if a, b, err = h.Claim(min(sc.Chunk, left)); err != nil {
						return // closed by stop after a failed round
					}
				} else {
					a = in[:min(sc.Chunk, left)]
				}
				for i := range a {
					a[i] = v
					v += uint64(stride)
				}
				for i := range b {
					b[i] = v
					v += uint64(stride)
				}
				k := len(a) + len(b)
				left -= k
				var err error
				if claim {
					_, err = h.Commit(k)
				} else {
					_, err = h.PushBatch(a)
				}
				if err != nil {
					return
				}
			}
		}
	}
	// consume pops k items and hands each to see.
	out := make([]uint64, sc.Chunk)
	consume := func(k int, see func(uint64)) error {
		for got := 0; got < k; {
			want := min(sc.Chunk, k-got)
			if !claim {
				n, err := c.PopBatch(out[:want])
				if err != nil {
					return err
				}
				for _, v := range out[:n] {
					see(v)
				}
				got += n
				continue
			}
			a, b, err := c.ReadClaim(want)
			if err != nil {
				return err
			}
			for _, v := range a {
				see(v)
			}
			for _, v := range b {
				see(v)
			}
			n := len(a) + len(b)
			got += n
			if err := c.Release(n); err != nil {
				return err
			}
		}
		return nil
	}
	if sc.Producers > 0 {
		for _, h := range handles {
			o.producers = append(o.producers, produce(h))
		}
		o.consumeMP = consume
		return o, nil
	}
	prod := produce(p)
	o.produce = func(seq uint64, k int) { prod(seq, k, 1) }
	o.consume = func(seq uint64, k int) error {
		var bad error
		want := seq
		err := consume(k, func(v uint64) {
			if v != want {
				bad = mismatch(bad, v, want)
			}
			want++
		})
		if err != nil {
			return err
		}
		return bad
	}
	return o, nil
}

// chunkWide is spsc-claim16-64b's ops on a new default channel of Item64:
// claims when claim is set, PushBatch and PopBatch otherwise. Consumers
// check each record inline, with no call per record, as openChanWide's do.
func chunkWide(sc Scenario, backend spillring.Backend, claim bool) (ops, error) {
	if sc.Producers > 0 {
		return ops{}, ErrUnsupported
	}
	p, c, err := spillring.New[Item64](spillring.Config{Capacity: Capacity, Backend: backend})
	if err != nil {
		return ops{}, err
	}
	in, out := make([]Item64, sc.Chunk), make([]Item64, sc.Chunk) // made once
	o := ops{close: func() { p.Close(); c.Close() }}
	o.produce = func(seq uint64, k int) {
		v := seq
		for left := k; left > 0; {
			n := min(sc.Chunk, left)
			if !claim {
				for i := range in[:n] {
					in[i].fill(v)
					v++
				}
				if _, err := p.PushBatch(in[:n]); err != nil {
					return // closed by stop after a failed round
				}
				left -= n
				continue
			}
			a, b, err := p.Claim(n)
			if err != nil {
				return
			}
			for i := range a {
				a[i].fill(v)
				v++
			}
			for i := range b {
				b[i].fill(v)
				v++
			}
			if _, err := p.Commit(len(a) + len(b)); err != nil {
				return
			}
			left -= len(a) + len(b)
		}
	}
	o.consume = func(seq uint64, k int) error {
		var bad error
		want := seq
		check := func(recs []Item64) {
			for i := range recs {
				if !recs[i].ok(want) {
					bad = wideMismatch(bad, &recs[i], want)
				}
				want++
			}
		}
		for got := 0; got < k; {
			n := min(sc.Chunk, k-got)
			if !claim {
				m, err := c.PopBatch(out[:n])
				if err != nil {
					return err
				}
				check(out[:m])
				got += m
				continue
			}
			a, b, err := c.ReadClaim(n)
			if err != nil {
				return err
			}
			check(a)
			check(b)
			if err := c.Release(len(a) + len(b)); err != nil {
				return err
			}
			got += len(a) + len(b)
		}
		return bad
	}
	return o, nil
}

// openChanWide is spsc-claim16-64b on a buffered channel of Item64: each
// record built in a variable and sent by value.
func openChanWide(sc Scenario) (ops, error) {
	if sc.Producers > 0 {
		return ops{}, ErrUnsupported
	}
	ch := make(chan Item64, Capacity)
	return ops{
		produce: func(seq uint64, k int) {
			var it Item64
			for v := seq; v < seq+uint64(k); v++ {
				it.fill(v)
				ch <- it
			}
		},
		consume: func(seq uint64, k int) error {
			var bad error
			for want := seq; want < seq+uint64(k); want++ {
				if it := <-ch; !it.ok(want) {
					bad = wideMismatch(bad, &it, want)
				}
			}
			return bad
		},
		close: func() {},
	}, nil
}
