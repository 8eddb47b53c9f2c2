package bench

import (
	"errors"
	"fmt"

	"github.com/spillring/spillring"
	"golang.org/x/sys/unix"
)

// pipeline2: a two-stage pipeline on uint64 records, timed per record end
// to end. Round s takes the chunk of records (s-1)*PipeChunk + 1 + j,
// j < PipeChunk; stage 1 maps each record x to pipeF1(x), stage 2 each of
// those y to pipeF2(y), and the sink must get pipeOut(x) for every record,
// in record order (countSink's order check). The impls:
//   - spillring-cgo, spillring-go: a one-worker ordered pool per stage,
//     on CPUs of their own (the pools' default spreads them; Park on
//     fewer than 3 CPUs: pipeWait),
//     with Go work functions that read their chunk in place from the
//     round's args. The stages overlap: while stage 2 maps chunk s, stage
//     1 maps chunk s+1.
//   - chan-pipeline: what a Go user writes: a source goroutine sending
//     each record on a buffered channel, a goroutine per stage, and the
//     sink receiving from the last channel; one record per send.
//   - one-goroutine: no pipeline: one loop mapping each record through
//     both stages, handing the chunk to the sink.

const (
	// PipeChunk is pipeline2's records per round (128 KiB of them): a
	// round costs the pools a fixed 50-100 µs of futex wake-ups on a
	// 2-CPU VM where the two stages and the dispatcher take turns (three
	// threads, two CPUs: they sleep rather than spin), which 4096 records
	// a round left at a third of the time (20-30 ns/record against 9-12
	// with this chunk, in short runs on the same machine).
	PipeChunk = 16384
	// pipeChanBuffer is chan-pipeline's channels' buffer.
	pipeChanBuffer = 1024
	// pipeOrderWindow is the window of the pipeline's pools: each round
	// is collected before the next is dispatched.
	pipeOrderWindow = 2
)

// pipeF1 and pipeF2 are the stages' work: trivial, so that what is timed is
// how records move between the stages.
func pipeF1(x uint64) uint64 { return x*3 + 1 }
func pipeF2(y uint64) uint64 { return y ^ y>>7 }

// pipeOut is the pipeline's output for record x.
func pipeOut(x uint64) uint64 { return pipeF2(pipeF1(x)) }

// pipeRecord is record j of round seq's chunk.
func pipeRecord(seq, j uint64) uint64 { return (seq-1)*PipeChunk + 1 + j }

// fillChunk writes round seq's records into chunk: the source's work.
func fillChunk(chunk []uint64, seq uint64) {
	x := pipeRecord(seq, 0)
	for j := range chunk {
		chunk[j] = x + uint64(j)
	}
}

// pipeArgs is a pipeline round's args: the chunk the stage maps. Go work
// reads it in place, so it must not change until the round is joined.
type pipeArgs struct{ In []uint64 }

// pipeWork is stage's Go work function (stage 1 or 2, one worker): it maps
// its chunk poolBurst records at a time into a buffer (made once) and
// pushes each burst with PushSlice, as goPoolWork does.
func pipeWork(stage int) spillring.WorkFunc[uint64, pipeArgs] {
	var buf [poolBurst]uint64
	return func(out *spillring.SpillRing[uint64], _ int, a pipeArgs) error {
		for in := a.In; len(in) > 0; {
			vs := buf[:min(poolBurst, len(in))]
			if stage == 1 {
				for j, x := range in[:len(vs)] {
					vs[j] = pipeF1(x)
				}
			} else {
				for j, y := range in[:len(vs)] {
					vs[j] = pipeF2(y)
				}
			}
			if _, err := out.PushSlice(vs); err != nil {
				return err
			}
			in = in[len(vs):]
		}
		return nil
	}
}

// chunkSink collects stage 1's output into a chunk, stage 2's input. It
// never grows it: what does not fit is refused (and the round fails).
type chunkSink struct{ buf []uint64 }

var errChunkFull = errors.New("pipeline2: stage 1 gave more records than a chunk")

func (c *chunkSink) Send(v uint64) error {
	_, err := c.SendBatch([]uint64{v})
	return err
}

func (c *chunkSink) SendBatch(vs []uint64) (int, error) {
	k := min(len(vs), cap(c.buf)-len(c.buf))
	c.buf = append(c.buf, vs[:k]...)
	if k < len(vs) {
		return k, errChunkFull
	}
	return k, nil
}

func (c *chunkSink) Flush() error { return nil }

// pipeWait is the pools' Wait: the pools' own rule (nobody spins when the
// open pools' workers and the dispatcher exceed the CPUs) applied to the
// whole pipeline: two one-worker pools and the dispatcher are three
// threads. The second pool sees the first and would not spin, but the
// first, made alone, would (its worker after each round, the dispatcher in
// its Join), taking the CPU the other stage or the dispatcher needs. Park
// then; the default otherwise.
func pipeWait() spillring.WaitStrategy {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() < 3 {
		return spillring.Park()
	}
	return spillring.WaitStrategy{}
}

// openPipeline: two ordered one-worker pools, stage 1 and stage 2 (Go
// work). The dispatcher's round s: dispatch stage 1 on chunk s+1 (in) and
// stage 2 on chunk s's stage 1 output (mid[s%2]); join stage 1 and collect
// its output, in order, into mid[(s+1)%2], while stage 2 may still read
// mid[s%2] (so mid is double-buffered; in is written only while stage 1
// is joined, so one will do); write the next chunk's records into in;
// join stage 2 and collect its output into the sink. The first round
// first runs its chunk through stage 1 alone. The chunks are made once:
// a round allocates nothing.
func openPipeline(backend spillring.Backend) (poolOps, error) {
	var pools [2]*spillring.WorkerPool[uint64, pipeArgs]
	wait := pipeWait()
	closeAll := func() {
		for _, p := range pools {
			if p != nil {
				_ = p.Close()
			}
		}
	}
	for k := range pools {
		p, err := spillring.NewPool(spillring.PoolConfig[uint64, pipeArgs]{
			Workers:      1,             // sc.Workers: one per stage
			RingCapacity: 2 * PipeChunk, // as pool-stream's: nothing spills
			Backend:      backend,
			OrderWindow:  pipeOrderWindow,
			Work:         pipeWork(k + 1),
			Wait:         wait,
		})
		if err != nil {
			closeAll()
			return poolOps{}, err
		}
		pools[k] = p
	}
	s1, s2 := pools[0], pools[1]
	in := make([]uint64, PipeChunk)
	var mid [2]chunkSink
	for k := range mid {
		mid[k].buf = make([]uint64, 0, PipeChunk)
	}
	// stage1 collects stage 1's joined round into mid[seq%2], and writes
	// round seq+1's records into in for the next.
	stage1 := func(seq uint64) error {
		m := &mid[seq%2]
		m.buf = m.buf[:0]
		if _, err := s1.Collect(m); err != nil {
			return err
		}
		if len(m.buf) != PipeChunk {
			return fmt.Errorf("pipeline2: stage 1 gave %d records of chunk %d, want %d", len(m.buf), seq, PipeChunk)
		}
		fillChunk(in, seq+1)
		return nil
	}
	// ready is the chunk whose stage 1 output is in mid[ready%2] (and
	// ready+1's records in in), or 0: none, or a round failed.
	ready := uint64(0)
	return poolOps{
		round: func(seq uint64, sink *countSink) error {
			if ready != seq {
				fillChunk(in, seq)
				if err := s1.Run(pipeArgs{In: in}); err != nil {
					return err
				}
				if err := stage1(seq); err != nil {
					return err
				}
			}
			ready = 0 // until the round succeeds
			if err := s1.Dispatch(pipeArgs{In: in}); err != nil {
				return err
			}
			if err := s2.Dispatch(pipeArgs{In: mid[seq%2].buf}); err != nil {
				_ = s1.Join()
				return err
			}
			err1 := s1.Join()
			if err1 == nil {
				err1 = stage1(seq + 1)
			}
			err2 := s2.Join()
			if err2 == nil {
				_, err2 = s2.Collect(sink)
			}
			if err1 != nil || err2 != nil {
				return errors.Join(err1, err2)
			}
			ready = seq + 1
			return nil
		},
		close: closeAll,
	}, nil
}

// openChanPipeline: the goroutines and channels, started once. Each round
// asks the source for the next chunk before it receives its own, so the
// pipeline stays full from round to round as the pools' does; the first
// round asks for its own chunk first. close stops the source and drains
// the channels, so that every goroutine ends.
func openChanPipeline(sc PoolScenario) (poolOps, error) {
	req := make(chan uint64, 2) // the rounds whose chunks the source is to send
	in := make(chan uint64, pipeChanBuffer)
	mid := make(chan uint64, pipeChanBuffer)
	out := make(chan uint64, pipeChanBuffer)
	go func() {
		for seq := range req {
			x := pipeRecord(seq, 0)
			for j := range uint64(sc.Items) {
				in <- x + j
			}
		}
		close(in)
	}()
	go func() {
		for x := range in {
			mid <- pipeF1(x)
		}
		close(mid)
	}()
	go func() {
		for y := range mid {
			out <- pipeF2(y)
		}
		close(out)
	}()
	asked := uint64(0) // the last round the source was asked for
	return poolOps{
		round: func(seq uint64, sink *countSink) error {
			if asked != seq {
				req <- seq
			}
			req <- seq + 1
			asked = seq + 1
			for range sc.Items {
				_ = sink.Send(<-out)
			}
			return nil
		},
		close: func() {
			close(req)
			for range out {
			}
		},
	}, nil
}

// openOneGoroutine: the calling goroutine maps each record through both
// stages into a chunk (made once), then hands the chunk to the sink.
func openOneGoroutine(sc PoolScenario) (poolOps, error) {
	buf := make([]uint64, sc.Items)
	return poolOps{
		round: func(seq uint64, sink *countSink) error {
			x := pipeRecord(seq, 0)
			for j := range buf {
				buf[j] = pipeF2(pipeF1(x + uint64(j)))
			}
			_, err := sink.SendBatch(buf)
			return err
		},
		close: func() {},
	}, nil
}
