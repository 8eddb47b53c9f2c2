package spillring

import (
	"fmt"
	"reflect"
	"time"
)

// DefaultCapacity is the capacity of a channel whose Config leaves Capacity 0.
const DefaultCapacity = 65536

// MaxCapacity is the largest capacity a channel can have.
const MaxCapacity = 1 << 30

// Backpressure says what a push does when the channel is full.
type Backpressure uint8

const (
	// Block waits for space, per the wait strategy. It is the default.
	Block Backpressure = iota
	// DropOldest evicts the oldest unread item to make room, never waits,
	// and counts the eviction (see Producer.Evicted). An item is either
	// popped or evicted, exactly once.
	DropOldest
	// Reject fails the push with ErrFull.
	Reject
)

func (b Backpressure) String() string {
	switch b {
	case Block:
		return "Block"
	case DropOldest:
		return "DropOldest"
	case Reject:
		return "Reject"
	}
	return fmt.Sprintf("Backpressure(%d)", uint8(b))
}

type waitKind uint8

// The kinds after waitDefault map, minus one, onto enum sr_wait in
// csrc/spillring.h (SR_WAIT_SPIN ..).
const (
	waitDefault waitKind = iota // the zero WaitStrategy: Adaptive(DefaultSpinTime)
	waitSpin
	waitSpinYield
	waitPark
	waitAdaptive
)

// DefaultSpins is the spin count of SpinYield(DefaultSpins) and of Park
// before it sleeps.
const DefaultSpins = 100

// DefaultSpinTime is how long the default wait strategy,
// Adaptive(DefaultSpinTime), spins before it sleeps: about what a sleep and
// a wake-up cost on a virtual machine, where waking a thread on an idle CPU
// takes tens of microseconds.
const DefaultSpinTime = 20 * time.Microsecond

// MaxSpinTime is the longest spin Adaptive takes.
const MaxSpinTime = time.Second

// WaitStrategy says how a blocked push or pop waits. The zero value is
// Adaptive(DefaultSpinTime).
type WaitStrategy struct {
	kind waitKind
	// spins is the spin count (SpinYield, Park) or, for Adaptive, the
	// spin time in nanoseconds: the header's `spins` word carries the same.
	spins int
}

// Spin busy-waits: the lowest latency, one CPU burnt per waiting side, also
// while idle. For threads pinned to CPUs of their own.
func Spin() WaitStrategy { return WaitStrategy{kind: waitSpin} }

// SpinYield spins n times, then yields the processor (runtime.Gosched and,
// once C code shares the ring, sched_yield), and repeats, 16 times; then it
// sleeps until the other side wakes it, as Park does. It sleeps at once
// after a yield that took longer than 50µs: another thread ran on this CPU
// meanwhile, and on a busy machine each further yield would hand away a
// time slice while the other side may be waiting for a CPU. A waiting side
// burns a CPU for the spins and yields (tens of microseconds with n = 100),
// then none. Like Park and Adaptive, it makes the other side check the
// wait word on each publish.
func SpinYield(n int) WaitStrategy { return WaitStrategy{kind: waitSpinYield, spins: n} }

// Park spins DefaultSpins times, letting other goroutines run every other
// poll (runtime.Gosched), then sleeps until the other side wakes it, so an
// idle side uses no CPU. A sleeping goroutine parks on a channel; once C code
// shares the ring (CRing), it sleeps on a futex on the ring's wait word
// instead, holding its OS thread, so that C threads can wake it. The
// wake-up protocol costs the other side one load of the wait word per
// publish (once per batch) and a wake-up only when someone sleeps.
func Park() WaitStrategy { return WaitStrategy{kind: waitPark, spins: DefaultSpins} }

// Adaptive spins for up to spin, then sleeps until the other side wakes it,
// as Park does. It is the default, as Adaptive(DefaultSpinTime).
//
// Memory: nothing beyond the ring: the sleeper's flag is a word the ring
// already has, and a sleeping goroutine parks on a channel the channel
// already has (holding no OS thread; once C code shares the ring, it sleeps
// on a futex instead, holding one). CPU: a waiting side spends at most spin
// polling, then sleeps, so an idle side uses no CPU. While it spins it lets
// other goroutines run every other poll (runtime.Gosched): on a busy
// machine the other side is often a goroutine queued on the same P, which
// then runs at once instead of after the spin. A wait that ends within spin
// costs what a spin costs; a longer one costs a wake-up on top (a goroutine
// wake, or a futex syscall). The other side pays one load of the wait word
// per publish (once per batch), and the wake-up only when someone sleeps.
// spin is measured on the monotonic clock, so it means the same on any CPU;
// it ranges from 0 (sleep at once) to MaxSpinTime. C threads sharing the
// ring wait the same way (SR_WAIT_ADAPTIVE in csrc/spillring.h).
func Adaptive(spin time.Duration) WaitStrategy {
	return WaitStrategy{kind: waitAdaptive, spins: int(spin)}
}

func (w WaitStrategy) normalized() WaitStrategy {
	if w.kind == waitDefault {
		return Adaptive(DefaultSpinTime)
	}
	return w
}

func (w WaitStrategy) String() string {
	switch w.normalized().kind {
	case waitSpin:
		return "Spin"
	case waitSpinYield:
		return fmt.Sprintf("SpinYield(%d)", w.normalized().spins)
	case waitPark:
		return "Park"
	case waitAdaptive:
		return fmt.Sprintf("Adaptive(%v)", time.Duration(w.normalized().spins))
	}
	return "WaitStrategy(?)"
}

// Backend selects where the ring lives.
type Backend uint8

const (
	// Auto picks BackendC when it is in the build and the element type is
	// pointer-free, and BackendGo otherwise.
	Auto Backend = iota
	// BackendC keeps slots and control words in C memory, shared with C
	// code through the csrc/spillring.h protocol. Element types must not
	// hold Go pointers.
	BackendC
	// BackendGo keeps everything in Go memory with sync/atomic only; it
	// takes any element type and needs no cgo.
	BackendGo
)

func (b Backend) String() string {
	switch b {
	case Auto:
		return "Auto"
	case BackendC:
		return "C"
	case BackendGo:
		return "Go"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// Config configures a channel. The zero value is valid: capacity
// DefaultCapacity, Block, Adaptive(DefaultSpinTime), Auto.
type Config struct {
	// Capacity is the number of items the channel holds: a power of two,
	// at most MaxCapacity. 0 means DefaultCapacity.
	Capacity int
	// Backpressure is what a push does when the channel is full.
	Backpressure Backpressure
	// Wait is how a blocked side waits.
	Wait WaitStrategy
	// Backend is where the ring lives.
	Backend Backend
	// Evicted, if not nil, must be a Spout[T] for the channel's T, and the
	// Backpressure DropOldest: each item a Go producer evicts is sent to it,
	// on that producer's goroutine, before the push returns (so it is not
	// only counted). With several producers (Producer.Clone) it is called
	// from all of them: make it safe for that, e.g. with Locked. Items
	// evicted by C producers are only counted. See ErrEvictedLost for a
	// spout that refuses an item.
	Evicted any
}

// validate checks c for element type t and returns it with defaults applied.
func (c Config) validate(t reflect.Type) (Config, error) {
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	switch {
	case c.Capacity < 0:
		return c, fmt.Errorf("%w: capacity %d is negative", ErrInvalidConfig, c.Capacity)
	case c.Capacity > MaxCapacity:
		return c, fmt.Errorf("%w: capacity %d exceeds MaxCapacity (%d)", ErrInvalidConfig, c.Capacity, MaxCapacity)
	case c.Capacity&(c.Capacity-1) != 0:
		return c, fmt.Errorf("%w: capacity %d is not a power of two", ErrInvalidConfig, c.Capacity)
	}
	if c.Backpressure > Reject {
		return c, fmt.Errorf("%w: unknown %v", ErrInvalidConfig, c.Backpressure)
	}
	c.Wait = c.Wait.normalized()
	switch {
	case c.Wait.kind > waitAdaptive:
		return c, fmt.Errorf("%w: unknown wait strategy", ErrInvalidConfig)
	case c.Wait.kind == waitAdaptive && (c.Wait.spins < 0 || c.Wait.spins > int(MaxSpinTime)):
		return c, fmt.Errorf("%w: %v spin time out of range [0, %v]", ErrInvalidConfig, c.Wait, MaxSpinTime)
	case c.Wait.spins < 0 || c.Wait.spins > 1<<30:
		return c, fmt.Errorf("%w: wait strategy spin count %d out of range [0, 2^30]", ErrInvalidConfig, c.Wait.spins)
	}
	if c.Backend > BackendGo {
		return c, fmt.Errorf("%w: unknown %v", ErrInvalidConfig, c.Backend)
	}
	if t.Size() == 0 {
		return c, fmt.Errorf("%w: element type %v has size 0", ErrInvalidConfig, t)
	}
	if uint64(t.Size())*uint64(c.Capacity) > maxRingBytes {
		return c, fmt.Errorf("%w: %d items of %v (%d bytes each) exceed %d bytes", ErrInvalidConfig, c.Capacity, t, t.Size(), uint64(maxRingBytes))
	}
	hasPtr := hasPointers(t)
	switch c.Backend {
	case Auto:
		c.Backend = BackendGo
		if cBackendAvailable && !hasPtr && t.Size() <= maxCElemSize {
			c.Backend = BackendC
		}
	case BackendC:
		if !cBackendAvailable {
			return c, ErrBackendUnavailable
		}
		if hasPtr {
			return c, fmt.Errorf("%w: %v (use BackendGo)", ErrPointerType, t)
		}
		if t.Size() > maxCElemSize {
			return c, fmt.Errorf("%w: element type %v is %d bytes, the C backend takes at most %d", ErrInvalidConfig, t, t.Size(), maxCElemSize)
		}
	}
	return c, nil
}

const (
	maxRingBytes = 1 << 40 // SR_MAX_TOTAL_SIZE less the header, rounded down
	maxCElemSize = 1 << 20 // SR_MAX_ELEM_SIZE
)

// hasPointers reports whether values of t hold Go pointers the garbage
// collector must see. reflect has no public query for this, so walk the type.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	// Pointer, UnsafePointer, String, Slice, Map, Chan, Func, Interface.
	return true
}
