package bench

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/spillring/spillring"
)

// Wait is a wait strategy by name, for the idle and loaded sections.
type Wait struct {
	Name string
	Wait spillring.WaitStrategy
}

// Waits are the strategies those sections measure: the default first.
var Waits = []Wait{
	{"default " + spillring.WaitStrategy{}.String(), spillring.WaitStrategy{}},
	{"Spin", spillring.Spin()},
	{"SpinYield(100)", spillring.SpinYield(spillring.DefaultSpins)},
	{"Park", spillring.Park()},
}

// Backends are the two backends by impl name.
var Backends = []struct {
	Name    string
	Backend spillring.Backend
}{{"spillring-c", spillring.BackendC}, {"spillring-go", spillring.BackendGo}}

// IdleCPU blocks a consumer with wait strategy w in Pop on an empty channel
// and returns the process CPU time (user+sys) spent over d, as a percentage
// of one core. A strategy that sleeps shows ~0; a spinning one ~100.
func IdleCPU(backend spillring.Backend, w spillring.WaitStrategy, d time.Duration) (float64, error) {
	p, c, err := spillring.New[uint64](spillring.Config{Capacity: Capacity, Backend: backend, Wait: w})
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
		return 0, fmt.Errorf("c.Pop after Close: %v, want ErrClosed", err)
	}
	return 100 * float64(used) / float64(elapsed), nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
