package rp

import (
	"errors"
	"fmt"
)

// ErrTruncated is matched by decode errors where a length or a mandatory
// element runs past the end of the message.
var ErrTruncated = errors.New("rp: truncated message")

// ErrMalformed is matched by decode errors where an element breaks TS
// 24.011: a reserved message type, an address length out of its range,
// an unknown information element, octets after the last element.
var ErrMalformed = errors.New("rp: malformed message")

// ErrInvalid is matched by encode errors: the value cannot be put on the
// wire (a digit with no semi-octet, an address on the side that must stay
// empty, user data over 255 octets).
var ErrInvalid = errors.New("rp: value cannot be encoded")

// FieldError locates a decode error: the element and the octet offset at
// which it starts.
type FieldError struct {
	// Field is the element, named as TS 24.011 names it (RP-MTI,
	// RP-Originator-Address, RP-User-Data, RP-Cause...).
	Field  string
	Offset int
	// Err is ErrTruncated or ErrMalformed, possibly wrapped with detail.
	Err error
	// cause is the RP-Cause that answers this fault.
	cause Cause
}

// Error describes the fault with its location.
func (e *FieldError) Error() string {
	return fmt.Sprintf("rp: %s at octet %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap gives ErrTruncated or ErrMalformed to errors.Is.
func (e *FieldError) Unwrap() error { return e.Err }

// RPCause is the cause of the RP-ERROR that refuses the message (TS 24.011
// 8.2.5.4 and annex E: 97 for an unknown message type, 99 for an unknown
// element, 96 for a missing or broken mandatory one).
func (e *FieldError) RPCause() Cause { return e.cause }

func truncated(field string, off int, format string, args ...any) error {
	return &FieldError{Field: field, Offset: off, Err: fmt.Errorf(format+": %w", append(args, ErrTruncated)...), cause: CauseInvalidMandatoryInformation}
}

func malformed(field string, off int, cause Cause, format string, args ...any) error {
	return &FieldError{Field: field, Offset: off, Err: fmt.Errorf(format+": %w", append(args, ErrMalformed)...), cause: cause}
}

func invalid(msg MTI, field string, format string, args ...any) error {
	return fmt.Errorf("rp: encode %v %s: "+format+": %w", append([]any{msg, field}, append(args, ErrInvalid)...)...)
}
