package spillring

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// affinityCPUs returns the CPUs this process may run on, in order, and
// true: the system can pin threads.
func affinityCPUs() ([]int, bool) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, false
	}
	var cpus []int
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, len(cpus) > 0
}

// pinThread pins the calling OS thread (locked by the caller) to cpu.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("spillring: pinning a worker to CPU %d: %w", cpu, err)
	}
	return nil
}

// isMainThread reports whether the calling thread is the process's main
// thread (whose thread id is the process id).
func isMainThread() bool { return unix.Gettid() == unix.Getpid() }
