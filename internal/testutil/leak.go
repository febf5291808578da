package testutil

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// modulePrefixes mark a goroutine as this module's when a frame, or the
// call that created it, starts with one: the module's packages, and
// package main for the commands' tests.
var modulePrefixes = []string{"iwf/", "main."}

// CheckLeaks fails the test when a goroutine that was not running at the
// call still runs code of this module after the test's later cleanups.
// Call it first, so that its cleanup runs after every Close. prefixes
// narrow what counts to goroutines with a frame in those packages
// ("iwf/session/sipsession." for that package alone); by default it is
// every package of the module and package main.
func CheckLeaks(tb testing.TB, prefixes ...string) {
	tb.Helper()
	l := NewLeakCheck(prefixes...)
	tb.Cleanup(func() {
		tb.Helper() // so that a failure names the line that called CheckLeaks
		l.Check(tb)
	})
}

// LeakCheck remembers which goroutines ran when it was made, so that Check
// looks only at those started since. It compares goroutines by identity,
// never by count: a count also moves with the runtime's and the
// libraries' own goroutines.
type LeakCheck struct {
	before   map[string]bool // goroutine IDs
	prefixes []string
}

// NewLeakCheck takes the snapshot for a later Check; prefixes are as for
// CheckLeaks.
func NewLeakCheck(prefixes ...string) *LeakCheck {
	if len(prefixes) == 0 {
		prefixes = modulePrefixes
	}
	l := &LeakCheck{before: make(map[string]bool), prefixes: prefixes}
	for _, g := range goroutines() {
		l.before[g.id] = true
	}
	return l
}

// Check fails tb, without stopping it, listing the stacks of the
// goroutines started since NewLeakCheck that run code of the prefixes. It
// waits for them up to WaitTimeout first: a goroutine that has just
// signalled the WaitGroup its Close waits on may still be returning.
func (l *LeakCheck) Check(tb testing.TB) {
	tb.Helper()
	l.check(tb, WaitTimeout)
}

func (l *LeakCheck) check(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	var left []string
	if !poll(timeout, func() bool { left = l.leaked(); return len(left) == 0 }) {
		tb.Errorf("%d goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// leaked returns the stacks of the goroutines Check fails for. A test's
// own goroutine (testing.tRunner) does not count: it is a subtest, or the
// test that runs the check.
func (l *LeakCheck) leaked() []string {
	var out []string
	for _, g := range goroutines() {
		if !l.before[g.id] && !g.test && g.runs(l.prefixes) {
			out = append(out, g.stack)
		}
	}
	return out
}

// goroutine is one record of runtime.Stack's dump of all goroutines.
type goroutine struct {
	id    string
	stack string
	// funcs are the function lines: the frames, then "created by ...".
	funcs []string
	test  bool
}

// runs reports whether a frame of g, or the call that created it, is in a
// package of prefixes.
func (g goroutine) runs(prefixes []string) bool {
	for _, f := range g.funcs {
		f = strings.TrimPrefix(f, "created by ")
		for _, p := range prefixes {
			if strings.HasPrefix(f, p) {
				return true
			}
		}
	}
	return false
}

// goroutines parses the dump: records are separated by a blank line, each
// starts with "goroutine ID [state]:", and its function lines alternate
// with tab-indented file lines.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, rec := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(rec, "\n")
		head := strings.Fields(lines[0])
		if len(head) < 2 || head[0] != "goroutine" {
			continue
		}
		g := goroutine{id: head[1], stack: rec}
		for _, line := range lines[1:] {
			if line == "" || line[0] == '\t' {
				continue
			}
			g.funcs = append(g.funcs, line)
			if strings.HasPrefix(line, "testing.tRunner(") {
				g.test = true
			}
		}
		out = append(out, g)
	}
	return out
}
