package bench

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/spillring/spillring"
)

// ParkIdleCPU blocks a consumer with Wait: Park in Pop on an empty channel
// and returns the process CPU time (user+sys) spent over d, as a percentage
// of one core. Park should sleep in the kernel, so this is ~0; a spinning
// wait would show ~100.
func ParkIdleCPU(backend spillring.Backend, d time.Duration) (float64, error) {
	p, c, err := spillring.New[uint64](spillring.Config{Capacity: Capacity, Backend: backend, Wait: spillring.Park()})
	if err != nil {
		return 0, err
	}
	popped := make(chan error)
	go func() {
		_, err := c.Pop()
		popped <- err
	}()
	// Let it get past its spin phase and into the sleep.
	time.Sleep(50 * time.Millisecond)
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(d)
	used, elapsed := cpuTime()-cpu0, time.Since(t0)
	p.Close() // releases the Pop
	if err := <-popped; !errors.Is(err, spillring.ErrClosed) {
		return 0, fmt.Errorf("Pop after Close: %v, want ErrClosed", err)
	}
	return 100 * float64(used) / float64(elapsed), nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
