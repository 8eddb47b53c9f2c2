package relstore

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestStoreUint64Publishes checks the store lands and that it publishes the
// writes before it: a reader that sees the index must see the payload.
func TestStoreUint64Publishes(t *testing.T) {
	var x uint64
	StoreUint64(&x, 42)
	if got := atomic.LoadUint64(&x); got != 42 {
		t.Fatalf("load after store = %d, want 42", got)
	}

	const n = 50000
	var payload [64]uint64
	var idx, ack uint64 // idx: last published (writer); ack: last read (reader)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(1); i <= n; i++ {
			for i-atomic.LoadUint64(&ack) > uint64(len(payload)) {
				runtime.Gosched() // other test binaries share the 2 cores
			}
			payload[i%64] = i
			StoreUint64(&idx, i)
		}
	}()
	for i := uint64(1); i <= n; i++ {
		for atomic.LoadUint64(&idx) < i {
			runtime.Gosched()
		}
		if got := payload[i%64]; got != i {
			t.Fatalf("payload[%d] = %d after index %d was published", i%64, got, i)
		}
		atomic.StoreUint64(&ack, i)
	}
	<-done
}

func BenchmarkStoreUint64(b *testing.B) {
	var x uint64
	for b.Loop() {
		StoreUint64(&x, 1)
	}
}

func BenchmarkAtomicStoreUint64(b *testing.B) {
	var x uint64
	for b.Loop() {
		atomic.StoreUint64(&x, 1)
	}
}
