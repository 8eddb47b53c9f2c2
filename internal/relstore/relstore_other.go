//go:build (!amd64 && !arm64) || purego || race

package relstore

import "sync/atomic"

// StoreUint64 stores v into *addr with (at least) release ordering. This
// build uses sync/atomic: on architectures without a helper, with the purego
// tag, and under the race detector, which does not see assembly stores.
func StoreUint64(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }
