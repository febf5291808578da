package address

import (
	"errors"
	"strconv"
)

// ErrInvalid is matched (errors.Is) by every *Error: the input is not an
// identity the IWF can key a conversation by.
var ErrInvalid = errors.New("address: invalid identity")

// Error reports an identity that cannot be normalised.
type Error struct {
	// Input is the text given, cut to 64 bytes.
	Input string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	return "address: " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// SIPStatus is 400 Bad Request: a From, To or Request-URI that names no
// usable identity (RFC 3261 section 21.4.1).
func (e *Error) SIPStatus() int { return 400 }

func invalid(input, reason string) *Error {
	if len(input) > 64 {
		input = input[:64]
	}
	return &Error{Input: input, Reason: reason}
}

// OptionError reports Options that cannot work, naming the field by its
// YAML key.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string { return "address: " + e.Field + ": " + e.Reason }
