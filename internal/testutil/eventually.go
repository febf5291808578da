package testutil

import (
	"fmt"
	"testing"
	"time"
)

// WaitTimeout is how long Eventually and the leak check wait before they
// give up. It only turns a condition that never comes into a failure; it
// is far above what any condition takes on a loaded machine, and no test
// measures time with it.
const WaitTimeout = 30 * time.Second

// maxPollInterval caps the back-off between two calls of a condition.
const maxPollInterval = 20 * time.Millisecond

// Eventually calls cond, from the calling goroutine, until it returns
// true, and fails the test when WaitTimeout passes first; format and args
// say what it waited for ("the bind to leave"). It is for state that
// offers no event to wait on (a TTL in Redis, a counter another goroutine
// updates); where there is a channel or a callback, wait on that instead.
func Eventually(tb testing.TB, cond func() bool, format string, args ...any) {
	tb.Helper()
	eventually(tb, WaitTimeout, cond, format, args...)
}

func eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	if !poll(timeout, cond) {
		tb.Fatalf("gave up after %v waiting for %s", timeout, fmt.Sprintf(format, args...))
	}
}

// poll calls cond until it returns true, backing off from 1 ms to
// maxPollInterval between calls, and reports false once timeout has
// passed without it.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, maxPollInterval) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
}
