package spillring

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestInlineClaims keeps the comments that say a function inlines (or does
// not) true: it asks the compiler (go build -gcflags=-m) and checks each
// claim. A claim that breaks is a performance regression on a hot path, or
// a comment to fix.
func TestInlineClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package again with -gcflags=-m; the full suite runs it")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to ask the compiler with")
	}
	out, err := exec.Command(goBin, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	text := string(out)
	// Generic methods are reported per instantiation shape: any will do.
	inlines := func(fn string) bool {
		pat := strings.ReplaceAll(regexp.QuoteMeta(fn), `\[T\]`, `\[[^\]]+\]`)
		return regexp.MustCompile(`can inline ` + pat + `\b`).MatchString(text)
	}
	for _, fn := range []string{
		"(*ring[T]).mpPutOne",       // mpsc.go: Push's written-out MPSC path calls it
		"(*ring[T]).takeOne",        // ring.go: the single-item pop of both modes
		"(*ring[T]).published",      // drain.go: F1 after every publish
		"(*ring[T]).consumerClosed", // channel.go: the check after a pop's read
		"(*ring[T]).wakeConsumer",   // wait.go: W1's check, one load
		"(*ring[T]).wakeProducer",
	} {
		if !inlines(fn) {
			t.Errorf("%s no longer inlines", fn)
		}
	}
	for _, fn := range []string{
		"spinDelay", // wait.go: //go:noinline, so both spinning sides keep their loop
		"wake",      // wait.go: //go:noinline, the cold half of W1
	} {
		if inlines(fn) {
			t.Errorf("%s inlines, but its comment relies on it not inlining", fn)
		}
	}
	if !strings.Contains(text, "can inline") {
		t.Fatalf("no inlining decisions in the compiler's output:\n%s", text)
	}
}
