package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// CPU burners for the loaded scenarios: separate processes, each one busy
// thread, because a service shares its machine with other programs, not only
// with its own goroutines. A burner is this very binary (os.Executable)
// started with burnerEnv set: the init below turns it into a busy loop before
// main or any test runs.
const burnerEnv = "SPILLRING_BENCH_BURNER"

func init() {
	if os.Getenv(burnerEnv) == "1" {
		burn()
	}
}

// burnSink keeps the loop from being optimised away.
var burnSink atomic.Uint64

// burn spins until it is killed or orphaned: the parent kills its burners
// when the scenario ends, the kernel kills them when the parent's thread
// dies (Pdeathsig), and a burner that finds itself re-parented anyway exits
// within a few milliseconds.
func burn() {
	ppid := os.Getppid()
	for {
		var n uint64
		for i := range uint64(1 << 20) {
			n += i ^ n>>3
		}
		burnSink.Store(n)
		if os.Getppid() != ppid {
			os.Exit(0)
		}
	}
}

// Burners is a set of running burner processes.
type Burners struct {
	cmds  []*exec.Cmd
	start time.Time
}

// StartBurners starts n burner processes (GOMAXPROCS=1 each: one busy
// thread).
func StartBurners(n int) (*Burners, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("burners: %w", err)
	}
	b := &Burners{start: time.Now()}
	for range n {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), burnerEnv+"=1", "GOMAXPROCS=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			_, _ = b.Stop()
			return nil, fmt.Errorf("burners: %w", err)
		}
		b.cmds = append(b.cmds, cmd)
	}
	return b, nil
}

// Stop kills the burners, waits for them, and returns the CPU they used as
// a share of one core each (about 1 when they got a full core, less when
// they shared the machine), or an error if one was gone before its time.
func (b *Burners) Stop() (float64, error) {
	elapsed, n := time.Since(b.start), len(b.cmds)
	var cpu time.Duration
	var errs []error
	for _, cmd := range b.cmds {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, err)
		}
		err := cmd.Wait()
		st := cmd.ProcessState
		if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			errs = append(errs, fmt.Errorf("burner %d ended before it was stopped: %v", cmd.Process.Pid, err))
		}
		cpu += st.UserTime() + st.SystemTime()
	}
	b.cmds = nil
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	return float64(cpu) / float64(elapsed) / float64(max(1, n)), nil
}
