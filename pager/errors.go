package pager

import (
	"errors"
	"fmt"
	"strconv"

	"iwf/internal/cfgerr"
)

// ErrDuplicate is what a Store returns (matched with errors.Is) for a
// message whose ID it already holds: the request is answered 202 again and
// nothing is queued twice.
var ErrDuplicate = errors.New("pager: duplicate message")

// ErrInvalidConfig is matched (errors.Is) by every *FieldError.
var ErrInvalidConfig = errors.New("pager: invalid configuration")

// ErrUnknownPartner is returned by Sender for a partner with no trunk.
var ErrUnknownPartner = errors.New("pager: unknown partner")

// FieldError names a configuration field that breaks a rule by its path
// ("allowed_sources[1]"); it matches ErrInvalidConfig.
type FieldError = cfgerr.FieldError

// Prefix returns err with the path of every FieldError in it prefixed, so
// that a loader reports "partners[2].sip.next_hop" for the "next_hop" that
// Trunk.Validate names. Other errors pass unchanged.
func Prefix(prefix string, err error) error { return cfgerr.Prefix(prefix, err) }

func fieldError(path, reason string) error {
	return &FieldError{Pkg: "pager", Path: path, Reason: reason, Kind: ErrInvalidConfig}
}

// StatusError is an error with the SIP status it is answered with. Store
// implementations return one (or any error with a SIPStatus() int method)
// to choose the answer; other errors are answered 500.
type StatusError struct {
	Status int
	// RetryAfter, when positive, is sent in Retry-After (seconds) with a
	// 503: the store is unavailable for that long.
	RetryAfter int
	Err        error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pager: status %d: %v", e.Status, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// SIPStatus returns Status.
func (e *StatusError) SIPStatus() int { return e.Status }

// BodyTooLargeError reports an outgoing text over the trunk's body limit
// that Send was asked to send as one MESSAGE (SendText splits it).
type BodyTooLargeError struct {
	Size, Limit int
}

func (e *BodyTooLargeError) Error() string {
	return "pager: body of " + strconv.Itoa(e.Size) + " bytes over the limit of " + strconv.Itoa(e.Limit)
}

// SIPStatus is 413: the message cannot go as one MESSAGE.
func (e *BodyTooLargeError) SIPStatus() int { return 413 }
