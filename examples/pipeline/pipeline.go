package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"

	"github.com/spillring/spillring"
)

// Record is a parsed input line: "key value", both decimal.
type Record struct {
	Line  uint64 // the line's number, from 1
	Key   uint32
	_     uint32
	Value int64
}

// Output is a transformed record, as written to the output: one frame each.
type Output struct {
	Line  uint64
	Key   uint32
	_     uint32
	Score int64
}

// Transform is stage two's work on one record.
func Transform(r Record) Output {
	return Output{Line: r.Line, Key: r.Key, Score: r.Value*int64(r.Key%97+1) - int64(r.Line)}
}

// ParseLine is stage one's work on one line.
func ParseLine(n uint64, line []byte) (Record, error) {
	k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte{' '})
	key, err1 := strconv.ParseUint(string(k), 10, 32)
	val, err2 := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return Record{}, fmt.Errorf("line %d: %q is not \"key value\"", n, line)
	}
	return Record{Line: n, Key: uint32(key), Value: val}, nil
}

// Config sizes the pipeline.
type Config struct {
	Parsers      int // stage one's workers
	Transformers int // stage two's workers
	Chunk        int // lines per round
	// Backend is both pools' backend (Auto: the C backend when built in).
	Backend spillring.Backend
}

// Stats are what a run did.
type Stats struct {
	Records uint64
	Rounds  uint64
}

// chunk is one round of input lines for stage one: line i is
// data[ends[i-1]:ends[i]] (ends[-1] = 0), numbered first+i.
type chunk struct {
	data  []byte
	ends  []int
	first uint64
}

func (c *chunk) line(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.data[start:c.ends[i]]
}

// share is worker w's part [lo, hi) of n items split among workers.
func share(n, w, workers int) (lo, hi int) { return n * w / workers, n * (w + 1) / workers }

// errLost fires if a ring ever spilled: the rings are sized for a round, so
// it cannot, but a pipeline must fail loudly rather than lose records.
var errLost = errors.New("pipeline: a ring spilled (records would be lost)")

// Run reads lines from r, parses them on cfg.Parsers workers, transforms the
// records on cfg.Transformers workers, and writes each Output to w as a
// frame (spillring.Framed, producer id 1, spillring.FixedCodec), in input
// order. The two stages are ordered WorkerPools that run at once: while
// stage two transforms round k, stage one parses round k+1 and the
// calling goroutine reads round k+2.
func Run(r io.Reader, w io.Writer, cfg Config) (Stats, error) {
	if cfg.Parsers < 1 || cfg.Transformers < 1 || cfg.Chunk < 1 {
		return Stats{}, fmt.Errorf("%w: %+v", spillring.ErrInvalidConfig, cfg)
	}
	// Every worker's share of a round fits its ring, and each round is
	// collected before the next is dispatched: nothing spills.
	capacity := 1 << bits.Len(uint(cfg.Chunk-1))
	lost, err := spillring.Func[Record](func(Record) error { return errLost }, nil)
	if err != nil {
		return Stats{}, err
	}
	lostOut, err := spillring.Func[Output](func(Output) error { return errLost }, nil)
	if err != nil {
		return Stats{}, err
	}

	parse, err := spillring.NewPool(spillring.PoolConfig[Record, *chunk]{
		Workers: cfg.Parsers, RingCapacity: capacity, OrderWindow: 2, Backend: cfg.Backend,
		Overflow: lost,
		Work: func(out *spillring.SpillRing[Record], worker int, c *chunk) error {
			lo, hi := share(len(c.ends), worker, cfg.Parsers)
			for i := lo; i < hi; i++ {
				rec, err := ParseLine(c.first+uint64(i), c.line(i))
				if err != nil {
					return err
				}
				if err := out.Push(rec); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return Stats{}, err
	}
	defer parse.Close()
	transform, err := spillring.NewPool(spillring.PoolConfig[Output, []Record]{
		Workers: cfg.Transformers, RingCapacity: capacity, OrderWindow: 2, Backend: cfg.Backend,
		Overflow: lostOut,
		Work: func(out *spillring.SpillRing[Output], worker int, in []Record) error {
			lo, hi := share(len(in), worker, cfg.Transformers)
			for _, rec := range in[lo:hi] {
				if err := out.Push(Transform(rec)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return Stats{}, err
	}
	defer transform.Close()

	codec, err := spillring.FixedCodec[Output]()
	if err != nil {
		return Stats{}, err
	}
	framed, err := spillring.Framed(w, 1, codec)
	if err != nil {
		return Stats{}, err
	}
	sink, err := transform.FanIn(framed) // ordered: the pool is
	if err != nil {
		return Stats{}, err
	}

	sc := bufio.NewScanner(r)
	var st Stats
	var next uint64 = 1
	read := func(c *chunk) (int, error) {
		c.data, c.ends, c.first = c.data[:0], c.ends[:0], next
		for len(c.ends) < cfg.Chunk && sc.Scan() {
			c.data = append(c.data, sc.Bytes()...)
			c.ends = append(c.ends, len(c.data))
		}
		next += uint64(len(c.ends))
		return len(c.ends), sc.Err()
	}

	// Two of each buffer: stage one reads its round's chunk in place, and
	// stage two its round's records, while the next ones fill.
	var in [2]chunk
	out := [2]*spillring.CollectSpout[Record]{spillring.Collect[Record](), spillring.Collect[Record]()}
	n, err := read(&in[0])
	if err != nil || n == 0 {
		return st, err
	}
	if err := parse.Run(&in[0]); err != nil {
		return st, err
	}
	if _, err := parse.Collect(out[0]); err != nil {
		return st, err
	}
	st.Rounds++
	for k := 0; ; k++ {
		cur, nxt := out[k%2], out[(k+1)%2]
		if err := transform.Dispatch(cur.Items()); err != nil {
			return st, err
		}
		// Round k+1's chunk goes in the buffer round k-1 used.
		n, rerr := read(&in[(k+1)%2])
		var perr error
		if n > 0 {
			perr = parse.Dispatch(&in[(k+1)%2])
		}
		terr := transform.Join()
		if n > 0 && perr == nil {
			perr = parse.Join()
		}
		if terr != nil {
			return st, terr
		}
		if err := sink.Flush(); err != nil { // round k's outputs, in order
			return st, err
		}
		st.Records += uint64(cur.Len())
		if err := errors.Join(rerr, perr); err != nil {
			return st, err // after round k's outputs: all before the failed round are out
		}
		if n == 0 {
			return st, nil
		}
		nxt.Reset()
		if _, err := parse.Collect(nxt); err != nil {
			return st, err
		}
		st.Rounds++
	}
}
