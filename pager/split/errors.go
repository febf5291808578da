package split

import (
	"errors"
	"fmt"
)

// ErrOverflow is matched (errors.Is) by an *OverflowError: the text does
// not fit the target under the chosen policy.
var ErrOverflow = errors.New("split: text over the limit")

// ErrInvalidUTF8 is returned for a text that is not valid UTF-8: its
// grapheme clusters, and so its safe cut points, are undefined.
var ErrInvalidUTF8 = errors.New("split: text is not valid utf-8")

// OverflowError reports a text that the policy refuses to deliver: under
// PolicyReject a text over one part, under PolicySplit a text that needs
// more than MaxParts parts.
type OverflowError struct {
	// Size is the measure of the whole text, Limit the per-part limit.
	Size, Limit int
	// Parts is how many parts the text needed when counting stopped (a
	// lower bound: counting stops one past MaxParts), MaxParts the cap.
	Parts, MaxParts int
}

func (e *OverflowError) Error() string {
	if e.MaxParts == 1 || e.Parts == 0 {
		return fmt.Sprintf("split: text measures %d, over the limit of %d", e.Size, e.Limit)
	}
	return fmt.Sprintf("split: text needs more than %d parts of %d (%d counted)", e.MaxParts, e.Limit, e.Parts)
}

// Is makes errors.Is(err, ErrOverflow) true.
func (e *OverflowError) Is(target error) bool { return target == ErrOverflow }

// SIPStatus is 413 Request Entity Too Large (RFC 3261 section 21.4.11):
// the message cannot be carried within the target's limits.
func (e *OverflowError) SIPStatus() int { return 413 }

// MSRPStatus is 413 (RFC 4975 section 7.3.1): the MSRP message that asked
// for this delivery is refused as too large for the pager side.
func (e *OverflowError) MSRPStatus() int { return 413 }

// ClusterError reports one grapheme cluster that alone measures more than
// a part can hold, so no split can carry it without breaking it (a long
// emoji ZWJ sequence against a tiny limit).
type ClusterError struct {
	// Offset is the byte offset of the cluster in the text.
	Offset int
	// Size is its measure, Capacity what the part had room for.
	Size, Capacity int
}

func (e *ClusterError) Error() string {
	return fmt.Sprintf("split: grapheme cluster at byte %d measures %d, over the part capacity of %d", e.Offset, e.Size, e.Capacity)
}

// SIPStatus is 413, as for an overflow: the text cannot be carried.
func (e *ClusterError) SIPStatus() int { return 413 }

// MSRPStatus is 413, as for an overflow.
func (e *ClusterError) MSRPStatus() int { return 413 }

// OptionError reports Options that cannot work: a limit too small for the
// marker or the part counters, a measure that goes negative.
type OptionError struct {
	// Field names the Options field.
	Field string
	// Reason says what is wrong.
	Reason string
}

func (e *OptionError) Error() string { return "split: " + e.Field + ": " + e.Reason }
