package spillring

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// frameReadChunk bounds each step of a payload read, so that a header
// claiming a large payload costs memory only as its bytes actually arrive.
const frameReadChunk = 64 << 10

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
