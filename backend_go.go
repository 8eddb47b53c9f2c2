package spillring

import "unsafe"

// The Go backend: the ring's words, slots and stamps in Go memory, with
// sync/atomic only. It takes any element type and needs no cgo; the C
// backend (backend_c.go) lays out the same words in C memory.

// newGoRing builds a ring in Go memory: the Go backend.
func newGoRing[T any](cfg Config) *ring[T] {
	// The layout wants 128-byte alignment; over-allocate pointer-free words.
	words := make([]uint64, (unsafe.Sizeof(ringLayout{})+lineSize)/8)
	base := unsafe.Pointer(&words[0])
	base = unsafe.Add(base, (lineSize-uintptr(base)%lineSize)%lineSize)
	l := (*ringLayout)(base)
	slots := make([]T, cfg.Capacity)
	r := &ring[T]{l: l, slots: unsafe.Pointer(&slots[0])}
	r.setup(cfg, false)
	l.capacity, l.mask, l.elemSize = r.cap, r.mask, uint64(unsafe.Sizeof(*new(T)))
	l.backpressure, l.wait, l.spins = uint32(cfg.Backpressure), uint32(cfg.Wait.kind-1), uint32(cfg.Wait.spins)
	l.producers = 1
	// Every ring has stamps: an upgrade to MPSC mode needs them, and
	// until then nothing touches them (zeroed pages cost no memory).
	stamps := make([]uint64, cfg.Capacity)
	if cfg.Backpressure == DropOldest {
		for i := range stamps {
			stamps[i] = stampFree(uint64(i))
		}
	}
	r.stamps = unsafe.Pointer(&stamps[0])
	r.parker = newChanParker(&l.prodWait)
	r.keep = [...]any{words, slots, stamps}
	return r
}
