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

// IdlePools are the pool impls the idle section measures: one per backend.
var IdlePools = []string{"spillring-c", "spillring-go"}

// IdlePoolCPU starts the pool impl named (2 workers, default Wait, default
// CPUs), runs one round, and returns the process CPU time over d, as
// IdleCPU does, while the workers wait for the next round.
func IdlePoolCPU(impl string, d time.Duration) (float64, error) {
	sc := PoolScenario{Name: "idle-pool", Workers: 2, Items: 1}
	var im PoolImpl
	for _, p := range PoolImpls {
		if p.Name == impl {
			im = p
		}
	}
	if im.open == nil {
		return 0, fmt.Errorf("no pool impl %q", impl)
	}
	o, err := openImpl(sc, im)
	if err != nil {
		return 0, err
	}
	defer o.close()
	if err := o.run(sc, 1, 1); err != nil {
		return 0, err
	}
	// Let the workers get past their spin and into the sleep.
	time.Sleep(50 * time.Millisecond)
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(d)
	used, elapsed := cpuTime()-cpu0, time.Since(t0)
	return 100 * float64(used) / float64(elapsed), nil
}
