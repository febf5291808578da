package tpdu

import (
	"errors"
	"fmt"
)

// ErrTruncated is matched by decode errors where a field, or a length it
// claims, runs past the end of the TPDU.
var ErrTruncated = errors.New("tpdu: truncated")

// ErrMalformed is matched by decode errors where a field's value breaks
// TS 23.040: an address longer than 20 digits, a user data length over 140
// octets, a timestamp digit above 9, octets after the last field.
var ErrMalformed = errors.New("tpdu: malformed field")

// ErrUnsupported is matched by decode errors for a TPDU this package does
// not read (SMS-COMMAND, a report where a TPDU of RP-DATA belongs) and by
// Text for an alphabet it cannot turn into text (compressed user data).
var ErrUnsupported = errors.New("tpdu: unsupported")

// ErrInvalid is matched by encode errors: a value has no wire form (a
// digit with no semi-octet, a time zone off the quarter hour, user data
// over 140 octets).
var ErrInvalid = errors.New("tpdu: value cannot be encoded")

// FieldError locates a decode error.
type FieldError struct {
	// PDU is the TPDU being read.
	PDU Type
	// Field is the field, named as TS 23.040 names it (TP-DA, TP-UDL...).
	Field string
	// Offset is the octet offset of the field in the TPDU.
	Offset int
	// Err is ErrTruncated, ErrMalformed or ErrUnsupported, possibly
	// wrapped with detail.
	Err error
}

// Error describes the fault with its location.
func (e *FieldError) Error() string {
	return fmt.Sprintf("tpdu: %v %s at octet %d: %v", e.PDU, e.Field, e.Offset, e.Err)
}

// Unwrap gives the sentinel to errors.Is.
func (e *FieldError) Unwrap() error { return e.Err }

// invalid is an encode error for field of pdu.
func invalid(pdu Type, field, format string, args ...any) error {
	return fmt.Errorf("tpdu: encode %v %s: "+format+": %w", append([]any{pdu, field}, append(args, ErrInvalid)...)...)
}
