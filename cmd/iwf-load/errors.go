package main

import (
	"errors"
	"fmt"
)

// Errors run's caller branches on.
var (
	// errInterrupted is matched when the run context ended before the
	// run did (Ctrl-C); the report returned with it is partial.
	errInterrupted = errors.New("iwf-load: interrupted")
	// errNotBound is matched when the SMPP binds did not all come up
	// within the bind timeout.
	errNotBound = errors.New("iwf-load: smpp binds not up")
)

// flagError is a flag value that cannot be used; its message names the
// flag as the user typed it.
type flagError struct {
	Flag   string
	Reason string
}

func (e *flagError) Error() string {
	return fmt.Sprintf("iwf-load: -%s: %s", e.Flag, e.Reason)
}

// payloadError says why a received message is not one of this run's.
type payloadError struct {
	Reason string
}

func (e *payloadError) Error() string { return "iwf-load: payload: " + e.Reason }
