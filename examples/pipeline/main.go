// Command pipeline is a two-stage pipeline on spillring WorkerPools: stage
// one parses "key value" lines on -parsers workers, stage two transforms
// the records on -transformers workers, and the outputs are written in
// input order as frames (spillring.Framed) to stdout or -o. There is no
// pipeline type: two ordered pools, a Collect between them, and a FanIn
// into a FramedSpout, assembled in Run (pipeline.go).
//
//	go run ./examples/pipeline -gen 1000000 -o out.frames
//	go run ./examples/pipeline < records.txt > out.frames
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	parsers := flag.Int("parsers", 2, "stage one's workers")
	transformers := flag.Int("transformers", 2, "stage two's workers")
	chunk := flag.Int("chunk", 4096, "lines per round")
	gen := flag.Int("gen", 0, "read n generated lines instead of stdin")
	outPath := flag.String("o", "", "write the frames here instead of stdout")
	flag.Parse()

	var in io.Reader = os.Stdin
	if *gen > 0 {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(Generate(pw, *gen)) }()
		in = pr
	}
	out := os.Stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		out = f
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	t0 := time.Now()
	st, err := Run(in, bw, Config{Parsers: *parsers, Transformers: *transformers, Chunk: *chunk})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	d := time.Since(t0)
	fmt.Fprintf(os.Stderr, "%d records in %d rounds, %v (%.1f ns/record)\n",
		st.Records, st.Rounds, d.Round(time.Millisecond), float64(d.Nanoseconds())/float64(max(st.Records, 1)))
}

// Generate writes n lines "key value" to w, deterministically.
func Generate(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(bw, "%d %d\n", x%100000, int64(x>>20)-int64(i))
	}
	return bw.Flush()
}
