package session

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by operations on a closed session or endpoint.
var ErrClosed = errors.New("session: closed")

// ErrConnLost is wrapped by errors caused by a connection that dropped.
var ErrConnLost = errors.New("session: connection lost")

// ErrNotBound is returned when a passive session's peer did not connect
// in time.
var ErrNotBound = errors.New("session: peer did not bind the session")

// Reasons a connection is closed by us; sessions on it fail with them,
// wrapped with ErrConnLost.
var (
	errBindTimeout = errors.New("no request bound a session in time")
	errIdle        = errors.New("idle")
	errUnanswered  = errors.New("request without paths to answer it")
)

// StatusError is an MSRP failure: a non-200 response from the peer, or a
// local one (408 for a transaction timeout, RFC 4975 section 7.3).
type StatusError struct {
	Code    int
	Comment string
	// Local is true when the status was generated here (timeout, abort).
	Local bool
}

func (e *StatusError) Error() string {
	where := "peer"
	if e.Local {
		where = "local"
	}
	return fmt.Sprintf("session: %s status %d %s", where, e.Code, e.Comment)
}

// MSRPStatus is the status code itself.
func (e *StatusError) MSRPStatus() int { return e.Code }

// rejectError makes a handler-chosen status travel to the wire.
type rejectError struct {
	code    int
	comment string
}

// Reject returns an error that, returned by a Handler, answers the last
// chunk of a message with the given MSRP status (415, 413, 500...).
func Reject(code int, comment string) error { return &rejectError{code: code, comment: comment} }

func (e *rejectError) Error() string {
	return fmt.Sprintf("session: rejected %d %s", e.code, e.comment)
}
func (e *rejectError) MSRPStatus() int { return e.code }

// statusComment is the reason phrase sent with our responses
// (RFC 4975 section 10).
func statusComment(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 408:
		return "Request Timeout"
	case 413:
		return "Message Too Large"
	case 415:
		return "Unsupported Media Type"
	case 423:
		return "Interval Out-of-Bounds"
	case 481:
		return "No Such Session"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 506:
		return "Wrong Session"
	}
	return "Error"
}
