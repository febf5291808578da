package cpim

import (
	"errors"
	"fmt"
)

// ErrNotNotification marks a body that is well-formed XML but not an IMDN
// document (another root element or namespace): the caller treats it as
// some other content type rather than as a broken notification.
var ErrNotNotification = errors.New("cpim: not an imdn document")

// ErrNoMessageID is returned when a notification is asked for a message
// that carries no imdn.Message-ID: nothing could match the answer to the
// message (RFC 5438 section 6.3), so none can be sent.
var ErrNoMessageID = errors.New("cpim: message has no imdn.Message-ID")

// badInput gives an error type the answer to a peer whose message cannot
// be read: 400 on both sides of the IWF.
type badInput struct{}

// MSRPStatus is 400: the SEND carried a body that cannot be read.
func (badInput) MSRPStatus() int { return 400 }

// SIPStatus is 400: the MESSAGE carried a body that cannot be read.
func (badInput) SIPStatus() int { return 400 }

// ParseError describes message/cpim input that breaks the RFC 3862
// grammar.
type ParseError struct {
	badInput

	// Offset is the byte offset within the input where the fault is.
	Offset int
	// Header names the header at fault, empty outside a header.
	Header string
	// Reason says what is wrong.
	Reason string
}

func (e *ParseError) Error() string {
	if e.Header != "" {
		return fmt.Sprintf("cpim: header %s at byte %d: %s", e.Header, e.Offset, e.Reason)
	}
	return fmt.Sprintf("cpim: at byte %d: %s", e.Offset, e.Reason)
}

// LimitError reports input beyond one of the parser's bounds.
type LimitError struct {
	// What names the bound: "header bytes", "header count" or
	// "notification bytes".
	What  string
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("cpim: %s over the limit of %d", e.What, e.Limit)
}

// MSRPStatus is 413: the body is larger than this side accepts (RFC 4975
// section 7.3.1).
func (e *LimitError) MSRPStatus() int { return 413 }

// SIPStatus is 413 (Request Entity Too Large, RFC 3261 section 21.4.11).
func (e *LimitError) SIPStatus() int { return 413 }

// FieldError reports a header or field whose value is not acceptable: a
// Message or Notification that cannot be encoded, or an IMDN header of a
// parsed message that does not follow RFC 5438.
type FieldError struct {
	badInput
	// Field names the header or element, "imdn.Message-ID" or "To[1]".
	Field string
	// Reason says what is wrong.
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("cpim: %s: %s", e.Field, e.Reason)
}

// NotificationError describes a message/imdn+xml body that cannot be
// read. It wraps ErrNotNotification when the document is not an IMDN at
// all, and the encoding/xml error when the XML itself is broken.
type NotificationError struct {
	badInput
	// Element names the element at fault, empty for the whole document.
	Element string
	// Reason says what is wrong.
	Reason string
	// Err is the cause, if any.
	Err error
}

func (e *NotificationError) Error() string {
	msg := "cpim: imdn"
	if e.Element != "" {
		msg += " <" + e.Element + ">"
	}
	msg += ": " + e.Reason
	if e.Err != nil && !errors.Is(e.Err, ErrNotNotification) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *NotificationError) Unwrap() error { return e.Err }

// clip shortens peer input quoted in an error so that one bad header
// cannot make a 16 KiB log line.
func clip(s string) string {
	const max = 48
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
