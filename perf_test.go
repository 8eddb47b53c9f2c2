package spillring

import (
	"testing"

	"github.com/spillring/spillring/internal/relstore"
)

func BenchmarkTmpSingle(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			p, c, _ := New[uint64](Config{Capacity: 65536, Backend: be})
			var i uint64
			for b.Loop() {
				p.Push(i)
				c.Pop()
				i++
			}
		})
	}
}

func BenchmarkTmpRaw(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			p, _, _ := New[uint64](Config{Capacity: 65536, Backend: be})
			r := p.r
			var i uint64
			for b.Loop() {
				r.tryPush(i)
				r.tryPop()
				i++
			}
		})
	}
}

func BenchmarkTmpInline(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			p, _, _ := New[uint64](Config{Capacity: 65536, Backend: be})
			r := p.r
			l := r.l
			var i uint64
			for b.Loop() {
				t := l.tail
				*r.slot(t) = i
				relstore.StoreUint64(&l.tail, t+1)
				h := l.head
				_ = *r.slot(h)
				relstore.StoreUint64(&l.head, h+1)
				i++
			}
		})
	}
}
func BenchmarkTmpInlinePlain(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.String(), func(b *testing.B) {
			p, _, _ := New[uint64](Config{Capacity: 65536, Backend: be})
			r := p.r
			l := r.l
			var i uint64
			for b.Loop() {
				t := l.tail
				*r.slot(t) = i
				l.tail = t+1
				h := l.head
				_ = *r.slot(h)
				l.head = h+1
				i++
			}
		})
	}
}
