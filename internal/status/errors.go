package status

import (
	"errors"
	"fmt"
)

// ErrShutdownTimeout is matched by the error Serve returns when in-flight
// requests did not finish within the shutdown grace period and their
// connections were closed under them. A caller may log it as a warning
// rather than a failure: the process was stopping anyway.
var ErrShutdownTimeout = errors.New("status: shutdown grace period expired")

// errNilListener is returned by Serve when it is given no listener: a
// wiring bug, not something a caller recovers from.
var errNilListener = errors.New("status: serve: nil listener")

// serveError wraps a failure of the HTTP server loop.
func serveError(err error) error { return fmt.Errorf("status: serve: %w", err) }

// shutdownError wraps a failed graceful shutdown; it matches both
// ErrShutdownTimeout and the underlying context error.
func shutdownError(err error) error {
	return fmt.Errorf("%w: %w", ErrShutdownTimeout, err)
}

// registerError wraps a failed metric registration, naming the metric.
func registerError(name string, err error) error {
	return fmt.Errorf("status: register %s: %w", name, err)
}
