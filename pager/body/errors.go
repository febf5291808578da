package body

import (
	"errors"
	"strconv"
)

// ErrUnsupported is matched (errors.Is) by an *UnsupportedError.
var ErrUnsupported = errors.New("body: unsupported content")

// UnsupportedError reports content the IWF does not carry: a media type
// other than text/plain and message/cpim (or inside message/cpim), a
// charset it cannot convert, a transfer encoding. The answer is 415.
type UnsupportedError struct {
	// What names the unsupported item: "media type", "charset",
	// "content-transfer-encoding".
	What string
	// Value is the value received.
	Value string
}

func (e *UnsupportedError) Error() string {
	return "body: unsupported " + e.What + " " + strconv.Quote(e.Value)
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// SIPStatus is 415 Unsupported Media Type (RFC 3261 section 21.4.13; the
// response lists what is accepted, RFC 3428 section 7).
func (e *UnsupportedError) SIPStatus() int { return 415 }

// ErrMalformed is matched (errors.Is) by a *ParseError.
var ErrMalformed = errors.New("body: malformed content")

// ParseError reports a body or Content-Type that breaks its grammar.
type ParseError struct {
	// Offset is the byte offset in the body, or -1 for the Content-Type
	// and for faults with no place (a bound of the CPIM header part).
	Offset int
	// Header names the header at fault, if any.
	Header string
	// Reason says what is wrong.
	Reason string
	// Err is the cause, if any: the *cpim.ParseError, *cpim.LimitError or
	// mime error behind the fault.
	Err error
}

func (e *ParseError) Error() string {
	s := "body: "
	if e.Header != "" {
		s += "header " + e.Header + " "
	}
	if e.Offset >= 0 {
		s += "at byte " + strconv.Itoa(e.Offset) + ": "
	}
	return s + e.Reason
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// SIPStatus is 400 Bad Request: the request cannot be read (RFC 3261
// section 21.4.1).
func (e *ParseError) SIPStatus() int { return 400 }
