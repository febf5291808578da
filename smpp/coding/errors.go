package coding

import (
	"errors"
	"fmt"
)

// ErrUnencodable is matched (errors.Is) by a RuneError: the text holds a
// character the chosen coding cannot carry.
var ErrUnencodable = errors.New("coding: character does not fit the coding")

// ErrMalformed is matched by an OctetError: the octets are not valid in the
// coding they claim (a byte above 0x7F in a 7-bit coding, an odd UCS-2
// length, an unpaired surrogate).
var ErrMalformed = errors.New("coding: malformed encoded text")

// ErrInvalidUTF8 reports text that is not valid UTF-8 and so has no exact
// encoding in any coding but binary.
var ErrInvalidUTF8 = errors.New("coding: text is not valid utf-8")

// ErrUnsupported reports a data_coding value this package does not convert
// (JIS, Cyrillic, Hebrew, pictogram, reserved values).
var ErrUnsupported = errors.New("coding: unsupported data_coding")

// RuneError names a character that does not fit a coding.
type RuneError struct {
	Coding Coding
	Rune   rune
	// Offset is the byte offset of the rune in the UTF-8 text.
	Offset int
}

// Error describes the fault with its location.
func (e *RuneError) Error() string {
	return fmt.Sprintf("coding: %v cannot carry %U %q at byte offset %d", e.Coding, e.Rune, e.Rune, e.Offset)
}

// Is makes errors.Is(err, ErrUnencodable) true.
func (e *RuneError) Is(target error) bool { return target == ErrUnencodable }

// OctetError names the first octet that breaks a coding.
type OctetError struct {
	Coding Coding
	// Offset is the octet offset in the encoded input.
	Offset int
	Reason string
}

// Error describes the fault with its location.
func (e *OctetError) Error() string {
	return fmt.Sprintf("coding: %v at octet %d: %s", e.Coding, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *OctetError) Is(target error) bool { return target == ErrMalformed }

// ErrCompressed reports a data_coding of the general or automatic deletion
// group with the compressed bit set (TS 23.038 section 4): the text is
// compressed by TS 23.042, which this package does not undo.
var ErrCompressed = errors.New("coding: compressed text (TS 23.042) is not supported")
