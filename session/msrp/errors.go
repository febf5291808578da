package msrp

import (
	"errors"
	"fmt"
)

// ErrFraming marks a stream that can no longer be split into frames (bad
// start line, broken end-line, connection closed mid-frame): the only
// remedy is to close the connection. Other parse errors leave the reader
// after the end of the bad frame, so the connection can answer it.
var ErrFraming = errors.New("msrp: framing lost")

// ErrEndLineInBody is returned by the serializer when a body contains the
// end-line of its own transaction; pick another transaction id.
var ErrEndLineInBody = errors.New("msrp: body contains its own end-line")

// ParseError describes a frame that breaks the RFC 4975 section 9 syntax.
type ParseError struct {
	// Offset is the byte offset within the frame where the fault was found.
	Offset int
	// Header names the header at fault, empty for the start line.
	Header string
	Reason string
	fatal  bool
}

func (e *ParseError) Error() string {
	if e.Header != "" {
		return fmt.Sprintf("msrp: header %s at byte %d: %s", e.Header, e.Offset, e.Reason)
	}
	return fmt.Sprintf("msrp: at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrFraming) true for unrecoverable faults.
func (e *ParseError) Unwrap() error {
	if e.fatal {
		return ErrFraming
	}
	return nil
}

// MSRPStatus is the response code for a request that failed to parse.
func (e *ParseError) MSRPStatus() int { return 400 }

// LimitError reports a frame beyond one of the reader's limits.
type LimitError struct {
	What  string // "header bytes", "header count", "body", "chunk"
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("msrp: %s over the limit of %d", e.What, e.Limit)
}

// MSRPStatus is 413 for oversized bodies and chunks (RFC 4975 section
// 7.3.1), 400 for oversized headers.
func (e *LimitError) MSRPStatus() int {
	if e.What == limitBody || e.What == limitChunk {
		return 413
	}
	return 400
}

const (
	limitHeaderBytes = "header bytes"
	limitHeaderCount = "header count"
	limitBody        = "non-SEND body"
	limitChunk       = "chunk"
)

// URIError reports an MSRP URI that does not parse.
type URIError struct {
	URI    string
	Reason string
}

func (e *URIError) Error() string { return fmt.Sprintf("msrp: uri %q: %s", e.URI, e.Reason) }

// MSRPStatus: a bad path is a bad request.
func (e *URIError) MSRPStatus() int { return 400 }

type errString string

func (e errString) Error() string { return string(e) }

// StatusOf maps an error to the MSRP status code to answer with: the code
// an error describes about itself, else 500.
func StatusOf(err error) int {
	var s interface{ MSRPStatus() int }
	if errors.As(err, &s) {
		return s.MSRPStatus()
	}
	return 500
}
