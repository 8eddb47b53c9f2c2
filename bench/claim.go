package bench

import "github.com/spillring/spillring"

// The claim scenarios (spsc-claim16, mpsc2-claim16) move Chunk items per
// call. spillring-c and spillring-go build them in place: the producer
// claims up to Chunk slots, writes its items into them and commits; the
// consumer read-claims up to Chunk items, checks them where they lie and
// releases them. The *-pushbatch impls move the same chunks through
// PushBatch and PopBatch, copying each item in and out, and chan and xsync
// move the items one by one.

// ClaimChunk is the chunk of the claim scenarios.
const ClaimChunk = 16

// openSpillringPushBatch opens the default channel for the claim scenarios
// only, moving each chunk with PushBatch and PopBatch.
func openSpillringPushBatch(backend spillring.Backend) func(Scenario) (ops, error) {
	return func(sc Scenario) (ops, error) {
		if sc.Chunk == 0 {
			return ops{}, ErrUnsupported
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
