package concat

import (
	"errors"
	"fmt"
)

// ErrMalformed is matched by errors about a user data header, SAR TLVs or a
// part that break SMPP 3.4 / TS 23.040 (a UDHL past the end of the message,
// a SAR TLV of the wrong length, seq 0).
var ErrMalformed = errors.New("concat: malformed concatenation data")

// ErrTooManySegments is matched by a *SegmentsError.
var ErrTooManySegments = errors.New("concat: too many segments")

// ErrStoreFull is returned by the Put of MemoryStore and SharedStore when
// it holds its maximum number of incomplete messages.
var ErrStoreFull = errors.New("concat: part store full")

// errCorrupt is matched by errors about SharedStore state that does not
// decode: written by something other than this package.
var errCorrupt = errors.New("concat: corrupt stored part")

// SegmentsError reports a message that needs more segments than allowed.
type SegmentsError struct {
	Need, Max int
}

// Error describes the fault with its location.
func (e *SegmentsError) Error() string {
	return fmt.Sprintf("concat: message needs %d segments, the limit is %d", e.Need, e.Max)
}

// Is makes errors.Is(err, ErrTooManySegments) true.
func (e *SegmentsError) Is(target error) bool { return target == ErrTooManySegments }

// SMPPStatus is the command_status for a submit that cannot be segmented:
// ESME_RINVMSGLEN (SMPP 3.4 5.1.3).
func (e *SegmentsError) SMPPStatus() uint32 { return 0x00000001 }

func malformed(format string, args ...any) error {
	return fmt.Errorf("concat: "+format+": %w", append(args, ErrMalformed)...)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("concat: stored parts: "+format+": %w", append(args, errCorrupt)...)
}
