package spillring

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"unsafe"
)

var _ Spout[int] = (*FramedSpout[int])(nil)

// FrameHeaderSize is the size in bytes of a frame header.
const FrameHeaderSize = 8

// DefaultMaxFramePayload is the largest payload a FrameReader accepts when
// it is given no maximum.
const DefaultMaxFramePayload = 1 << 20

// frameReadChunk bounds each step of a payload read, so that a header
// claiming a large payload costs memory only as its bytes actually arrive.
const frameReadChunk = 64 << 10

// frameBufKeep is the largest encoding buffer a FramedSpout keeps between
// calls; one huge batch should not pin its buffer for ever.
const frameBufKeep = 4 << 20

// Codec encodes items into frame payloads and decodes them back.
type Codec[T any] interface {
	// Append appends the encoding of v to dst and returns the extended
	// slice. It returns an error, with dst's contents up to its length
	// unchanged, for an item it cannot encode.
	Append(dst []byte, v T) ([]byte, error)
	// Decode decodes one item from the whole of src, the payload of one
	// frame. src is valid only during the call: Decode must copy what it
	// keeps. It must return an error, and never panic, for bytes it did
	// not produce.
	Decode(src []byte) (T, error)
}

// FramedSpout writes each item as one length-prefixed frame to an
// io.Writer, tagged with a producer id, for a FrameReader at the other end
// of a file, pipe or socket.
//
// Wire format: a frame is an 8-byte header and a payload, with no padding
// between frames:
//
//	offset  size  field
//	     0     4  producer id, uint32, little-endian
//	     4     4  payload length n, uint32, little-endian
//	     8     n  payload: the codec's encoding of one item
//
// A SendBatch writes all its frames with a single Write call, from a buffer
// the spout reuses. Several spouts may write into one stream with
// different producer ids, provided their writes are serialized: every
// call writes whole frames, so they never interleave within a frame. A
// failed write is the exception: it may leave a cut frame that only the
// same spout can complete, so no other spout may write to the stream
// until it has.
//
// A frame is taken once any of its bytes was written. After a short write
// the spout keeps the rest of the frame and writes it first on the next
// Send, SendBatch or Flush, so the stream never holds half a frame followed
// by another; until that succeeds, those calls take nothing new and return
// the writer's error.
type FramedSpout[T any] struct {
	w       io.Writer
	id      uint32
	codec   Codec[T]
	buf     []byte // reused encoding buffer
	pending []byte // the unwritten rest of a taken frame, within buf
}

// Framed returns a spout that writes items to w as frames tagged with id,
// encoded by codec. w and codec must not be nil.
func Framed[T any](w io.Writer, id uint32, codec Codec[T]) (*FramedSpout[T], error) {
	if w == nil {
		return nil, invalidSpout("Framed", "nil writer")
	}
	if codec == nil {
		return nil, invalidSpout("Framed", "nil codec")
	}
	return &FramedSpout[T]{w: w, id: id, codec: codec}, nil
}

// Send writes v as one frame.
func (s *FramedSpout[T]) Send(v T) error {
	one := [1]T{v}
	if n, err := s.SendBatch(one[:]); n == 0 {
		return err
	}
	return nil
}

// SendBatch writes one frame per item of vs, all in one Write call. An item
// the codec cannot encode ends the batch: the frames before it are written,
// and the codec's error is returned.
func (s *FramedSpout[T]) SendBatch(vs []T) (int, error) {
	if len(s.pending) > 0 {
		if err := s.writePending(); err != nil {
			return 0, err
		}
	}
	if len(vs) == 0 {
		return 0, nil
	}
	buf := s.buf[:0]
	var encErr error
	n := 0
	if fc, ok := s.codec.(*fixedCodec[T]); ok {
		buf, n = fc.appendFrames(buf, s.id, vs), len(vs)
	}
	for ; n < len(vs); n++ {
		start := len(buf)
		buf = binary.LittleEndian.AppendUint32(buf, s.id)
		buf = append(buf, 0, 0, 0, 0) // the length, patched below
		var err error
		buf, err = s.codec.Append(buf, vs[n])
		size := len(buf) - start - FrameHeaderSize
		if err == nil && uint64(size) > math.MaxUint32 {
			err = fmt.Errorf("%w: payload of %d bytes does not fit the 32-bit length", ErrMalformedFrame, size)
		}
		if err != nil {
			buf = buf[:start]
			encErr = fmt.Errorf("spillring: framed spout: encoding item %d: %w", n, err)
			break
		}
		binary.LittleEndian.PutUint32(buf[start+4:], uint32(size))
	}
	s.buf = buf
	if len(buf) == 0 {
		return 0, encErr
	}
	written, err := s.write(buf)
	if err != nil {
		taken := framesStarted(buf, written)
		if taken > 0 {
			s.pending = buf[written:framesEnd(buf, taken)]
		}
		s.trimBuf()
		if taken == len(vs) {
			return taken, nil // all taken: the failure shows on the next call
		}
		return taken, err
	}
	s.trimBuf()
	return n, encErr
}

// Flush writes the rest of a frame cut short by a failed write, then
// flushes the writer if it has a Flush method (as bufio.Writer does).
func (s *FramedSpout[T]) Flush() error {
	if len(s.pending) > 0 {
		if err := s.writePending(); err != nil {
			return err
		}
	}
	if f, ok := s.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// write writes p and returns how much of it the writer took, kept within
// [0, len(p)] and with an error whenever that is not all.
func (s *FramedSpout[T]) write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	n = max(0, min(n, len(p))) // a writer outside io.Writer's contract must not break the spout
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

func (s *FramedSpout[T]) writePending() error {
	written, err := s.write(s.pending)
	s.pending = s.pending[written:]
	if err != nil {
		return err
	}
	s.pending = nil
	s.trimBuf()
	return nil
}

func (s *FramedSpout[T]) trimBuf() {
	if len(s.pending) == 0 && cap(s.buf) > frameBufKeep {
		s.buf = nil
	}
}

// framesStarted returns how many of the frames in buf have at least one
// byte among the first written bytes.
func framesStarted(buf []byte, written int) int {
	n := 0
	for off := 0; off < written; n++ {
		off += FrameHeaderSize + int(binary.LittleEndian.Uint32(buf[off+4:]))
	}
	return n
}

// framesEnd returns the offset just past the first n frames in buf.
func framesEnd(buf []byte, n int) int {
	off := 0
	for range n {
		off += FrameHeaderSize + int(binary.LittleEndian.Uint32(buf[off+4:]))
	}
	return off
}

// FrameReader reads the frames a FramedSpout writes. It belongs to one
// goroutine at a time.
//
// Its buffer grows as payload bytes arrive, not as a header claims, and
// never much past the maximum payload, so arbitrary input can neither make
// it allocate much nor make it panic (FuzzFrameDecoder checks this).
type FrameReader[T any] struct {
	r     io.Reader
	codec Codec[T]
	max   int
	hdr   [FrameHeaderSize]byte
	buf   []byte
	err   error // sticky: the stream cannot be read past it
}

// NewFrameReader returns a reader of frames from r, decoded by codec, that
// rejects payloads longer than maxPayload bytes. A maxPayload of 0 means
// DefaultMaxFramePayload. r and codec must not be nil, and maxPayload must
// not be negative.
func NewFrameReader[T any](r io.Reader, codec Codec[T], maxPayload int) (*FrameReader[T], error) {
	if r == nil {
		return nil, invalidSpout("NewFrameReader", "nil reader")
	}
	if codec == nil {
		return nil, invalidSpout("NewFrameReader", "nil codec")
	}
	if maxPayload < 0 {
		return nil, invalidSpout("NewFrameReader", "maximum payload %d, want >= 0", maxPayload)
	}
	if maxPayload == 0 {
		maxPayload = DefaultMaxFramePayload
	}
	return &FrameReader[T]{r: r, codec: codec, max: maxPayload}, nil
}

// Read reads the next frame and returns its producer id and item.
//
// It returns io.EOF when the stream ends cleanly between frames. Errors
// wrapping ErrMalformedFrame mean the bytes are not a frame: for a
// truncated frame or one over the maximum the stream cannot be followed
// further, and every later Read returns the same error; for a payload the
// codec rejects, the frame is skipped (its id is returned) and the next
// Read goes on with the next frame. Errors of the underlying reader are
// returned as they are, and stay.
func (fr *FrameReader[T]) Read() (id uint32, v T, err error) {
	if fr.err != nil {
		return 0, v, fr.err
	}
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: truncated header: %w", ErrMalformedFrame, err)
		}
		fr.err = err
		return 0, v, err
	}
	id = binary.LittleEndian.Uint32(fr.hdr[0:])
	size := uint64(binary.LittleEndian.Uint32(fr.hdr[4:]))
	if size > uint64(fr.max) {
		fr.err = fmt.Errorf("%w: payload of %d bytes exceeds the maximum of %d", ErrMalformedFrame, size, fr.max)
		return 0, v, fr.err
	}
	if err := fr.readPayload(int(size)); err != nil {
		fr.err = err
		return 0, v, err
	}
	v, err = fr.codec.Decode(fr.buf)
	if err != nil {
		var zero T
		return id, zero, fmt.Errorf("%w: producer %d: %w", ErrMalformedFrame, id, err)
	}
	return id, v, nil
}

// readPayload reads size bytes into fr.buf, growing it only as bytes
// arrive.
func (fr *FrameReader[T]) readPayload(size int) error {
	fr.buf = fr.buf[:0]
	for len(fr.buf) < size {
		k := min(size-len(fr.buf), frameReadChunk)
		fr.buf = slices.Grow(fr.buf, k)
		got, err := io.ReadFull(fr.r, fr.buf[len(fr.buf):len(fr.buf)+k])
		fr.buf = fr.buf[:len(fr.buf)+got]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: truncated payload (%d of %d bytes): %w", ErrMalformedFrame, len(fr.buf), size, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fixedCodec copies the memory of a pointer-free T.
type fixedCodec[T any] struct {
	size  int
	bools []uintptr // offsets of the bool bytes, checked by Decode
}

// FixedCodec returns a codec that encodes a T as a copy of its memory:
// unsafe.Sizeof(T) bytes, in the machine's byte order and layout, padding
// included. It is the fastest codec, for both ends on the same
// architecture with the same type. T must hold no pointers (ErrPointerType:
// an address means nothing to the reader) and must not be of size zero
// (ErrInvalidConfig: a frame would carry nothing). Decode rejects a
// payload of the wrong size and a bool byte other than 0 or 1, so
// arbitrary bytes never make an invalid T.
func FixedCodec[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	if hasPointers(t) {
		return nil, fmt.Errorf("%w: FixedCodec: %v", ErrPointerType, t)
	}
	if t.Size() == 0 {
		return nil, fmt.Errorf("%w: FixedCodec: zero-size type %v", ErrInvalidConfig, t)
	}
	if uint64(t.Size()) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: FixedCodec: type %v is %d bytes, more than a frame's 32-bit length", ErrInvalidConfig, t, t.Size())
	}
	return &fixedCodec[T]{size: int(t.Size()), bools: boolOffsets(t, 0, nil)}, nil
}

func (c *fixedCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&v)), c.size)...), nil
}

// appendFrames appends one frame per item of vs: the same bytes as the
// generic loop of FramedSpout.SendBatch, without a call per item.
func (c *fixedCodec[T]) appendFrames(dst []byte, id uint32, vs []T) []byte {
	frame := FrameHeaderSize + c.size
	off := len(dst)
	dst = slices.Grow(dst, len(vs)*frame)[:off+len(vs)*frame]
	for i := range vs {
		f := dst[off : off+frame]
		binary.LittleEndian.PutUint32(f, id)
		binary.LittleEndian.PutUint32(f[4:], uint32(c.size))
		copy(f[FrameHeaderSize:], unsafe.Slice((*byte)(unsafe.Pointer(&vs[i])), c.size))
		off += frame
	}
	return dst
}

func (c *fixedCodec[T]) Decode(src []byte) (T, error) {
	var v T
	if len(src) != c.size {
		return v, fmt.Errorf("payload of %d bytes, want %d", len(src), c.size)
	}
	for _, off := range c.bools {
		if src[off] > 1 {
			return v, fmt.Errorf("byte %d is %d, not a bool", off, src[off])
		}
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), c.size), src)
	return v, nil
}

// boolOffsets appends the offsets of the bools in a value of t at base.
func boolOffsets(t reflect.Type, base uintptr, offs []uintptr) []uintptr {
	switch t.Kind() {
	case reflect.Bool:
		return append(offs, base)
	case reflect.Array:
		for i := range t.Len() {
			n := len(offs)
			offs = boolOffsets(t.Elem(), base+uintptr(i)*t.Elem().Size(), offs)
			if len(offs) == n {
				break // the element holds no bools
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			offs = boolOffsets(f.Type, base+f.Offset, offs)
		}
	}
	return offs
}
