package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spillring/spillring"
	"github.com/stretchr/testify/require"
)

// backends are the backends this build has.
func backends() []spillring.Backend {
	bs := []spillring.Backend{spillring.BackendGo}
	if p, c, err := spillring.New[uint64](spillring.Config{Capacity: 2, Backend: spillring.BackendC}); err == nil {
		p.Close()
		c.Close()
		bs = append(bs, spillring.BackendC)
	}
	return bs
}

// TestPipeline: every generated record comes out once, transformed, in
// input order, whatever the workers of each stage and the chunk size
// (including a last round shorter than the others, and rounds smaller
// than the workers).
func TestPipeline(t *testing.T) {
	const n = 50_000
	var input bytes.Buffer
	require.NoError(t, Generate(&input, n))
	lines := strings.Split(strings.TrimSuffix(input.String(), "\n"), "\n")
	require.Len(t, lines, n)

	for _, b := range backends() {
		for _, cfg := range []Config{
			{Parsers: 1, Transformers: 1, Chunk: 4096},
			{Parsers: 2, Transformers: 2, Chunk: 1000},
			{Parsers: 3, Transformers: 2, Chunk: 2},
			{Parsers: 2, Transformers: 3, Chunk: 7777},
		} {
			cfg.Backend = b
			t.Run(fmt.Sprintf("%v/%d-%d/chunk%d", b, cfg.Parsers, cfg.Transformers, cfg.Chunk), func(t *testing.T) {
				var out bytes.Buffer
				st, err := Run(bytes.NewReader(input.Bytes()), &out, cfg)
				require.NoError(t, err)
				require.Equal(t, uint64(n), st.Records)
				require.Equal(t, uint64((n+cfg.Chunk-1)/cfg.Chunk), st.Rounds)

				codec, err := spillring.FixedCodec[Output]()
				require.NoError(t, err)
				fr, err := spillring.NewFrameReader(&out, codec, 0)
				require.NoError(t, err)
				for i, line := range lines {
					id, got, err := fr.Read()
					require.NoError(t, err, "record %d", i+1)
					require.Equal(t, uint32(1), id)
					rec, err := ParseLine(uint64(i+1), []byte(line))
					require.NoError(t, err)
					require.Equal(t, Transform(rec), got, "record %d", i+1)
				}
				_, _, err = fr.Read()
				require.ErrorIs(t, err, io.EOF, "no record after the last")
			})
		}
	}
}

// TestPipelineBadLine: a line stage one cannot parse fails the run with an
// error naming it, after the outputs of every round before its own were
// written, whole.
func TestPipelineBadLine(t *testing.T) {
	var input bytes.Buffer
	require.NoError(t, Generate(&input, 100))
	input.WriteString("7 not-a-number\n")
	require.NoError(t, Generate(&input, 10))
	var out bytes.Buffer
	_, err := Run(&input, &out, Config{Parsers: 2, Transformers: 2, Chunk: 32})
	require.Error(t, err)
	var we *spillring.WorkerError
	require.True(t, errors.As(err, &we), "a *WorkerError: %v", err)
	require.Contains(t, err.Error(), "line 101")
	require.Zero(t, out.Len()%(8+24), "whole frames only")
	require.Equal(t, 96*(8+24), out.Len(), "the three rounds before the bad line's")
}

// TestPipelineConfig: a bad Config is refused.
func TestPipelineConfig(t *testing.T) {
	_, err := Run(strings.NewReader(""), io.Discard, Config{Parsers: 0, Transformers: 1, Chunk: 1})
	require.ErrorIs(t, err, spillring.ErrInvalidConfig)
	st, err := Run(strings.NewReader(""), io.Discard, Config{Parsers: 1, Transformers: 1, Chunk: 1})
	require.NoError(t, err)
	require.Zero(t, st.Records)
}
