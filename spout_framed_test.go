package spillring

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frameItem has a bool, an array and padding: what FixedCodec must handle.
type frameItem struct {
	A uint32
	B bool
	C [3]uint16
	D uint64
}

// frameItemsFrom makes items from arbitrary bytes, 16 bytes each.
func frameItemsFrom(data []byte) []frameItem {
	var items []frameItem
	for ; len(data) >= 16; data = data[16:] {
		items = append(items, frameItem{
			A: binary.LittleEndian.Uint32(data),
			B: data[4]&1 == 1,
			C: [3]uint16{binary.LittleEndian.Uint16(data[5:]), uint16(data[7]), uint16(data[8])},
			D: binary.LittleEndian.Uint64(data[8:]),
		})
	}
	return items
}

func mustFixed[T any](t testing.TB) Codec[T] {
	c, err := FixedCodec[T]()
	require.NoError(t, err)
	return c
}

// stringCodec is a variable-length codec: the bytes of the string, which
// must be valid UTF-8.
type stringCodec struct{}

var errNotUTF8 = errors.New("not UTF-8")

func (stringCodec) Append(dst []byte, v string) ([]byte, error) {
	if !utf8.ValidString(v) {
		return dst, errNotUTF8
	}
	return append(dst, v...), nil
}

func (stringCodec) Decode(src []byte) (string, error) {
	if !utf8.Valid(src) {
		return "", errNotUTF8
	}
	return string(src), nil
}

// countingWriter counts Write calls. Once limit (if >= 0) bytes are
// written it writes no more and fails.
type countingWriter struct {
	bytes.Buffer
	writes int
	limit  int
}

var errWriterFull = errors.New("writer full")

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.limit < 0 || len(p) <= w.limit-w.Len() {
		return w.Buffer.Write(p)
	}
	n, _ := w.Buffer.Write(p[:max(w.limit-w.Len(), 0)])
	return n, errWriterFull
}

func (w *countingWriter) Read(p []byte) (int, error) { return w.Buffer.Read(p) }

type framed[T any] struct {
	id uint32
	v  T
}

// readFrames reads r to its end and returns the frames and the final error.
func readFrames[T any](t testing.TB, r io.Reader, codec Codec[T], maxPayload int) ([]framed[T], error) {
	fr, err := NewFrameReader(r, codec, maxPayload)
	require.NoError(t, err)
	var out []framed[T]
	for {
		id, v, err := fr.Read()
		if err != nil {
			return out, err
		}
		out = append(out, framed[T]{id, v})
	}
}

func TestFrameRoundTrip(t *testing.T) {
	codec := mustFixed[frameItem](t)
	items := frameItemsFrom(bytes.Repeat([]byte("spillring frames"), 20))
	items[3].B = true
	var w countingWriter
	w.limit = -1
	s1, err := Framed(&w, 1, codec)
	require.NoError(t, err)
	s2, err := Framed(&w, 0xdeadbeef, codec)
	require.NoError(t, err)

	require.NoError(t, s1.Send(items[0]))
	n, err := s2.SendBatch(items[1:])
	require.NoError(t, err)
	assert.Equal(t, len(items)-1, n)
	n, err = s1.SendBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	require.NoError(t, s1.Flush())
	assert.Equal(t, 2, w.writes, "one Write per call")
	assert.Equal(t, len(items)*(FrameHeaderSize+int(unsafe.Sizeof(frameItem{}))), w.Len())

	fr, err := NewFrameReader[frameItem](&w, codec, 0)
	require.NoError(t, err)
	for i, want := range items {
		id, v, err := fr.Read()
		require.NoError(t, err)
		assert.Equal(t, want, v)
		assert.Equal(t, map[bool]uint32{true: 1, false: 0xdeadbeef}[i == 0], id)
	}
	_, _, err = fr.Read()
	require.ErrorIs(t, err, io.EOF)
	_, _, err = fr.Read()
	require.ErrorIs(t, err, io.EOF, "the end stays")
}

func TestFrameWireFormat(t *testing.T) {
	var buf bytes.Buffer
	s, err := Framed(&buf, 0x01020304, mustFixed[uint32](t))
	require.NoError(t, err)
	require.NoError(t, s.Send(0xa1b2c3d4))
	want := []byte{0x04, 0x03, 0x02, 0x01, 4, 0, 0, 0}
	want = binary.NativeEndian.AppendUint32(want, 0xa1b2c3d4) // FixedCodec: memory order
	assert.Equal(t, want, buf.Bytes())

	buf.Reset()
	ss, err := Framed(&buf, 9, Codec[string](stringCodec{}))
	require.NoError(t, err)
	_, err = ss.SendBatch([]string{"hi", ""})
	require.NoError(t, err)
	assert.Equal(t, []byte{9, 0, 0, 0, 2, 0, 0, 0, 'h', 'i', 9, 0, 0, 0, 0, 0, 0, 0}, buf.Bytes())
}

func TestFrameBatchIsOneWrite(t *testing.T) {
	w := &countingWriter{limit: -1}
	s, err := Framed(w, 3, mustFixed[uint64](t))
	require.NoError(t, err)
	vs := make([]uint64, 1000)
	for i := range vs {
		vs[i] = uint64(i)
	}
	n, err := s.SendBatch(vs)
	require.NoError(t, err)
	assert.Equal(t, 1000, n)
	assert.Equal(t, 1, w.writes)
	frames, err := readFrames(t, w, mustFixed[uint64](t), 0)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, frames, 1000)
	for i, f := range frames {
		assert.Equal(t, framed[uint64]{3, uint64(i)}, f)
	}
}

// An item the codec cannot encode ends the batch: the frames before it are
// written, and it and the rest stay the caller's.
func TestFrameCodecError(t *testing.T) {
	var buf bytes.Buffer
	s, err := Framed(&buf, 1, Codec[string](stringCodec{}))
	require.NoError(t, err)
	n, err := s.SendBatch([]string{"a", "b", "\xff", "c"})
	require.ErrorIs(t, err, errNotUTF8)
	assert.Equal(t, 2, n)
	require.ErrorIs(t, s.Send("\xff"), errNotUTF8)
	n, err = s.SendBatch([]string{"\xff"})
	require.ErrorIs(t, err, errNotUTF8)
	assert.Equal(t, 0, n)
	frames, err := readFrames(t, &buf, Codec[string](stringCodec{}), 0)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []framed[string]{{1, "a"}, {1, "b"}}, frames)
}

// Property: through short writes, every item is either in the stream, in
// order and once, or returned to the caller; the stream never holds a cut
// frame followed by another.
func TestFrameShortWritesNeverDrop(t *testing.T) {
	codec := Codec[string](stringCodec{})
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 3))
		w := &countingWriter{limit: -1}
		s, err := Framed(w, 5, codec)
		require.NoError(t, err)
		word := func(i int) string { return string(rune('a'+i%26)) + string(make([]byte, i%7)) }
		next := 0
		for range 200 {
			switch rng.IntN(4) {
			case 0: // the writer fills up somewhere ahead
				w.limit = w.Len() + rng.IntN(40)
			case 1:
				w.limit = -1
			}
			if rng.IntN(3) == 0 {
				if err := s.Send(word(next)); err == nil {
					next++
				} else {
					require.ErrorIs(t, err, errWriterFull)
				}
				continue
			}
			k := rng.IntN(6)
			batch := make([]string, k)
			for i := range batch {
				batch[i] = word(next + i)
			}
			n, err := s.SendBatch(batch)
			require.True(t, n == k || err != nil)
			next += n
		}
		w.limit = -1
		require.NoError(t, s.Flush())
		frames, err := readFrames(t, w, codec, 0)
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, frames, next, "seed %d", seed)
		for i, f := range frames {
			require.Equal(t, framed[string]{5, word(i)}, f)
		}
	}
}

func TestFrameFlushesWriter(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	s, err := Framed(bw, 1, mustFixed[uint16](t))
	require.NoError(t, err)
	require.NoError(t, s.Send(7))
	assert.Zero(t, out.Len())
	require.NoError(t, s.Flush())
	assert.Equal(t, FrameHeaderSize+2, out.Len())
}

func TestFrameReaderMalformed(t *testing.T) {
	codec := mustFixed[uint32](t)
	frame := func(id, size uint32, payload ...byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, id)
		b = binary.LittleEndian.AppendUint32(b, size)
		return append(b, payload...)
	}
	good := frame(1, 4, 1, 2, 3, 4)

	for name, tc := range map[string]struct {
		data      []byte
		unexpEOF  bool
		goodAfter bool // the next frame is still read
	}{
		"truncated header":  {data: good[:5], unexpEOF: true},
		"truncated payload": {data: good[:10], unexpEOF: true},
		"oversized":         {data: append(frame(1, 65), make([]byte, 65)...)},
		"huge":              {data: frame(1, 0xffffffff)},
		"wrong size":        {data: append(frame(2, 3, 1, 2, 3), good...), goodAfter: true},
		"empty payload":     {data: append(frame(2, 0), good...), goodAfter: true},
	} {
		t.Run(name, func(t *testing.T) {
			fr, err := NewFrameReader(bytes.NewReader(tc.data), codec, 64)
			require.NoError(t, err)
			_, _, err = fr.Read()
			require.ErrorIs(t, err, ErrMalformedFrame)
			assert.Equal(t, tc.unexpEOF, errors.Is(err, io.ErrUnexpectedEOF))
			id, v, err2 := fr.Read()
			if tc.goodAfter {
				require.NoError(t, err2)
				assert.Equal(t, uint32(1), id)
				assert.Equal(t, binary.NativeEndian.Uint32([]byte{1, 2, 3, 4}), v)
			} else {
				assert.Equal(t, err, err2, "the framing is lost: the error stays")
			}
		})
	}

	// A bool byte other than 0 or 1 is no bool.
	boolCodec := mustFixed[[2]bool](t)
	fr, err := NewFrameReader(bytes.NewReader(frame(1, 2, 1, 2)), boolCodec, 0)
	require.NoError(t, err)
	_, _, err = fr.Read()
	require.ErrorIs(t, err, ErrMalformedFrame)
	frames, err := readFrames(t, bytes.NewReader(frame(1, 2, 1, 0)), boolCodec, 0)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []framed[[2]bool]{{1, [2]bool{true, false}}}, frames)
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestFrameReaderIOError(t *testing.T) {
	errIO := errors.New("io")
	fr, err := NewFrameReader(io.MultiReader(bytes.NewReader([]byte{1, 2}), failingReader{errIO}), mustFixed[uint32](t), 0)
	require.NoError(t, err)
	_, _, err = fr.Read()
	require.ErrorIs(t, err, errIO)
	assert.NotErrorIs(t, err, ErrMalformedFrame)
}

// A header that claims a huge payload costs memory only for the bytes that
// arrive.
func TestFrameReaderBoundedAllocation(t *testing.T) {
	data := binary.LittleEndian.AppendUint32(nil, 1)
	data = binary.LittleEndian.AppendUint32(data, 1<<30)
	data = append(data, make([]byte, 100)...)
	fr, err := NewFrameReader(bytes.NewReader(data), Codec[string](stringCodec{}), 1<<30)
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = fr.Read()
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrMalformedFrame)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

// repeatReader returns the same bytes for ever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.data[r.off:])
		n += k
		r.off = (r.off + k) % len(r.data)
	}
	return n, nil
}

func TestFrameNoAllocations(t *testing.T) {
	codec := mustFixed[frameItem](t)
	s, err := Framed(io.Discard, 1, codec)
	require.NoError(t, err)
	batch := frameItemsFrom(make([]byte, 64*16))
	s.SendBatch(batch) // grows the buffer once
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		s.SendBatch(batch)
		s.Send(batch[0])
	}))

	var one bytes.Buffer
	s, err = Framed(&one, 1, codec)
	require.NoError(t, err)
	s.Send(frameItem{A: 1})
	fr, err := NewFrameReader[frameItem](&repeatReader{data: one.Bytes()}, codec, 0)
	require.NoError(t, err)
	fr.Read()
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if _, v, err := fr.Read(); err != nil || v.A != 1 {
			panic("bad frame")
		}
	}))
}

// FuzzFrameDecoder feeds arbitrary bytes to FrameReader, which must never
// panic and must fail only with io.EOF, ErrMalformedFrame or a skipped
// frame; then it encodes items made from the bytes and checks they decode
// to what was encoded.
func FuzzFrameDecoder(f *testing.F) {
	valid := func(t testing.TB, items []frameItem, id uint32) []byte {
		var buf bytes.Buffer
		s, err := Framed(&buf, id, mustFixed[frameItem](t))
		require.NoError(t, err)
		n, err := s.SendBatch(items)
		require.NoError(t, err)
		require.Equal(t, len(items), n)
		return buf.Bytes()
	}
	stream := valid(f, frameItemsFrom([]byte("0123456789abcdef0123456789ABCDEF")), 7)
	f.Add(stream)
	f.Add([]byte{})
	f.Add(stream[:3])                                                         // truncated header
	f.Add(stream[:FrameHeaderSize+5])                                         // truncated payload
	f.Add(append(stream[:FrameHeaderSize:FrameHeaderSize], 0xff, 0xff))       // cut after the header
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3})                // oversized
	f.Add([]byte{1, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c', 2, 0, 0, 0, 0, 0, 0}) // wrong size, then more
	bad := bytes.Clone(stream)
	bad[FrameHeaderSize+4] = 2 // not a bool
	f.Add(bad)
	f.Add([]byte("hello, world: not frames at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Arbitrary bytes, two codecs.
		fr, err := NewFrameReader(bytes.NewReader(data), mustFixed[frameItem](t), 64)
		require.NoError(t, err)
		// A frame read or skipped takes at least a header's bytes; past
		// that, only a sticky error can come back.
		for range len(data)/FrameHeaderSize + 2 {
			_, _, err := fr.Read()
			if err != nil && !errors.Is(err, io.EOF) {
				require.ErrorIs(t, err, ErrMalformedFrame)
			}
		}
		_, err = readFrames(t, bytes.NewReader(data), Codec[string](stringCodec{}), 32)
		if !errors.Is(err, io.EOF) {
			require.ErrorIs(t, err, ErrMalformedFrame)
		}

		// Round trips.
		items := frameItemsFrom(data)
		var id uint32
		if len(data) >= 4 {
			id = binary.LittleEndian.Uint32(data[len(data)-4:])
		}
		frames, err := readFrames(t, bytes.NewReader(valid(t, items, id)), mustFixed[frameItem](t), 0)
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, frames, len(items))
		for i, fm := range frames {
			require.Equal(t, framed[frameItem]{id, items[i]}, fm)
		}

		words := bytes.Split(data, []byte{0})
		var strs []string
		for _, w := range words {
			if utf8.Valid(w) {
				strs = append(strs, string(w))
			}
		}
		var buf bytes.Buffer
		s, err := Framed(&buf, id, Codec[string](stringCodec{}))
		require.NoError(t, err)
		n, err := s.SendBatch(strs)
		require.NoError(t, err)
		require.Equal(t, len(strs), n)
		sframes, err := readFrames(t, &buf, Codec[string](stringCodec{}), len(data)+1)
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, sframes, len(strs))
		for i, fm := range sframes {
			require.Equal(t, framed[string]{id, strs[i]}, fm)
		}
	})
}
