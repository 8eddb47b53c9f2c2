package spillring

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"unsafe"
)

// The frame format shared by FramedSpout (spout_framed.go) and FrameReader
// (frame_reader.go), and the codecs that turn items into frame payloads.

// FrameHeaderSize is the size in bytes of a frame header.
const FrameHeaderSize = 8

// DefaultMaxFramePayload is the largest payload a FrameReader accepts when
// it is given no maximum.
const DefaultMaxFramePayload = 1 << 20

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
