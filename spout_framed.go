package spillring

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

var _ Spout[int] = (*FramedSpout[int])(nil)

// frameBufKeep is the largest encoding buffer a FramedSpout keeps between
// calls; one huge batch should not pin its buffer for ever.
const frameBufKeep = 4 << 20

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
