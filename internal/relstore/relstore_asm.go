//go:build (amd64 || arm64) && !purego && !race

package relstore

// StoreUint64 stores v into *addr with release ordering: every memory write
// that precedes the call in program order is visible to another thread that
// observes v with an acquire (or sequentially consistent) load of *addr.
// addr must be 8-byte aligned.
//
//go:noescape
func StoreUint64(addr *uint64, v uint64)
