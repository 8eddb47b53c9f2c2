package spillring

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex(2) operations; x/sys/unix has the syscall number but not these.
const (
	futexWaitOp  = 0
	futexWakeOp  = 1
	futexPrivate = 128
)

// futexParker sleeps on the W1 wait word itself, so a C thread using
// csrc/spillring.h can wake a Go waiter and the other way round. A blocked
// waiter holds its OS thread (the syscall hands its P to another thread).
// The C backend uses it once C code shares the ring (see chanParker).
type futexParker struct {
	shared bool // the ring is in memory shared across processes
}

func (f futexParker) op(op uintptr) uintptr {
	if f.shared {
		return op
	}
	return op | futexPrivate
}

func (f futexParker) sleep(word *uint32, done <-chan struct{}, ctx context.Context, deadline time.Time) {
	if done != nil {
		// Cancellation wakes the sleeper the same way a publish does: if
		// it ran before the sleep, the word is already 0 and FUTEX_WAIT
		// returns at once.
		stop := context.AfterFunc(ctx, func() {
			if atomic.SwapUint32(word, 0) != 0 {
				f.wake(word)
			}
		})
		defer stop()
	}
	var ts *unix.Timespec
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return
		}
		t := unix.NsecToTimespec(int64(d))
		ts = &t
	}
	// EAGAIN (word no longer 1), EINTR and ETIMEDOUT all mean: re-check.
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), f.op(futexWaitOp), 1, uintptr(unsafe.Pointer(ts)), 0, 0)
}

// share does nothing: the futex serves C and Go alike.
func (futexParker) share() {}

// yield gives the CPU to other threads: the other side of a C ring may be
// a C thread on this CPU, which runtime.Gosched does not schedule.
func (futexParker) yield() {
	unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
}

func (f futexParker) wake(word *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), f.op(futexWakeOp), 1<<31-1, 0, 0, 0)
}

// futexWaitValue sleeps while *w == val (FUTEX_WAIT, private): a changed
// word, a wake-up, EINTR all return. The WorkerPool's joiner sleeps on
// struct sr_pool's pending word with it (csrc/pool.h, D1).
func futexWaitValue(w *atomic.Uint32, val uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWaitOp|futexPrivate, uintptr(val), 0, 0, 0)
}

// futexWake wakes every sleeper on w (FUTEX_WAKE, private).
func futexWake(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWakeOp|futexPrivate, 1<<31-1, 0, 0, 0)
}
