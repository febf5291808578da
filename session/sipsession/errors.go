package sipsession

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels a caller branches on with errors.Is; every *Error matches the
// one of its Kind.
var (
	// ErrRejected: the peer answered the INVITE with a final status >= 300.
	ErrRejected = errors.New("sipsession: invite rejected")
	// ErrTimeout: no final answer within the trunk's invite timeout; the
	// INVITE was cancelled.
	ErrTimeout = errors.New("sipsession: invite timed out")
	// ErrCanceled: the caller's context ended before the answer; the
	// INVITE was cancelled.
	ErrCanceled = errors.New("sipsession: invite cancelled")
	// ErrNotAcceptable: the peer's session description could not be used
	// (also matches msrpsdp.ErrNotAcceptable when that was the cause).
	ErrNotAcceptable = errors.New("sipsession: session description not acceptable")
	// ErrMSRPConnect: the dialog was set up but the MSRP connection failed.
	ErrMSRPConnect = errors.New("sipsession: msrp connection failed")
	// ErrTransport: the INVITE could not be sent or its transaction failed.
	ErrTransport = errors.New("sipsession: transport failure")
	// ErrClosed: the Manager or the Call is closed.
	ErrClosed = errors.New("sipsession: closed")
	// ErrContentRefused: Call.Send was given a content type the peer's
	// a=accept-types does not list; nothing was sent.
	ErrContentRefused = errors.New("sipsession: content type not in the peer's accept-types")
	// ErrTooLarge: Call.Send was given a message larger than the peer's
	// a=max-size; nothing was sent.
	ErrTooLarge = errors.New("sipsession: message larger than the peer's max-size")
)

// Kind says which step of opening a call failed; the interworking core
// maps it to a fallback (pager mode, failure receipt).
type Kind uint8

// Kinds of failure.
const (
	KindRejected Kind = iota + 1
	KindTimeout
	KindCanceled
	KindNotAcceptable
	KindMSRPConnect
	KindTransport
)

var kindNames = [...]string{"", "rejected", "timeout", "canceled", "not-acceptable", "msrp-connect", "transport"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) sentinel() error {
	switch k {
	case KindRejected:
		return ErrRejected
	case KindTimeout:
		return ErrTimeout
	case KindCanceled:
		return ErrCanceled
	case KindNotAcceptable:
		return ErrNotAcceptable
	case KindMSRPConnect:
		return ErrMSRPConnect
	}
	return ErrTransport
}

// Error is why Open failed. Status is the SIP status of the final answer
// when the peer sent one (486, 603, 488 ...), else 0.
type Error struct {
	Kind   Kind
	Status int
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	s := "sipsession: " + e.Kind.String()
	if e.Status != 0 {
		s += " " + strconv.Itoa(e.Status)
		if e.Reason != "" {
			s += " " + e.Reason
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the Kind's sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind.sentinel()}
	}
	return []error{e.Kind.sentinel(), e.Err}
}

// SIPStatus is the peer's final status, or the status this failure is
// best reported with upstream: 408 for a timeout, 487 for a cancel, 488
// for an unusable answer, 500 otherwise.
func (e *Error) SIPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Kind == KindTimeout:
		return 408
	case e.Kind == KindCanceled:
		return 487
	case e.Kind == KindNotAcceptable:
		return 488
	}
	return 500
}

func newError(k Kind, err error) *Error { return &Error{Kind: k, Err: err} }

// Reject is an error for Config.OnIncoming that answers the INVITE with
// status (403, 404, 480, 486 ...) and reason.
func Reject(status int, reason string) error {
	return &rejectError{status: status, reason: reason}
}

type rejectError struct {
	status int
	reason string
}

func (e *rejectError) Error() string {
	return fmt.Sprintf("sipsession: rejected with %d %s", e.status, e.reason)
}

// SIPStatus is the status to answer with.
func (e *rejectError) SIPStatus() int { return e.status }

// statusOf maps an error from OnIncoming to the final status: the error's
// own SIPStatus when it has one in 300..699, else 500.
func statusOf(err error) int {
	var s interface{ SIPStatus() int }
	if errors.As(err, &s) {
		if c := s.SIPStatus(); c >= 300 && c < 700 {
			return c
		}
	}
	return 500
}

// FieldError is a configuration error named by its YAML path
// ("partners[2].sip_session.next_hop").
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string { return "sipsession: " + e.Path + ": " + e.Reason }
