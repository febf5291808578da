package smpp

import (
	"errors"
	"fmt"

	"github.com/linxGnu/gosmpp/data"

	"iwf/internal/cfgerr"
)

// Errors a caller branches on.
var (
	// ErrClosed is returned by calls on a Client or Server that is closed or
	// closing, and by calls whose bind closed before they were sent.
	ErrClosed = errors.New("smpp: closed")
	// ErrNoBind is returned by Server.Deliver when the partner has no bound
	// receiver or transceiver.
	ErrNoBind = errors.New("smpp: partner has no receiving bind")
	// ErrUnknownPartner is returned by Server.Deliver for a partner name the
	// configuration does not hold.
	ErrUnknownPartner = errors.New("smpp: unknown partner")
	// ErrConnectionLost is matched when a request was written but its bind
	// died before the response came: the peer may or may not have acted on
	// it, so the caller decides whether to send it again.
	ErrConnectionLost = errors.New("smpp: connection lost before the response")
	// ErrResponseTimeout is matched when a request was written and no
	// response came within the response timeout; as with ErrConnectionLost
	// the outcome is unknown.
	ErrResponseTimeout = errors.New("smpp: no response within the response timeout")
	// ErrInvalidMessage is matched by a *FieldError about a Message that
	// cannot be put on the wire.
	ErrInvalidMessage = errors.New("smpp: invalid message")
	// ErrInvalidConfig is matched by a *FieldError about configuration.
	ErrInvalidConfig = errors.New("smpp: invalid configuration")
)

// StatusCoder is implemented by errors that choose the command_status of the
// response they cause (SMPP 3.4 section 5.1.3). A SubmitHandler or
// DeliverHandler error without it is answered with ESME_RSYSERR.
type StatusCoder interface {
	SMPPStatus() uint32
}

// StatusOf is the command_status an error maps to: its own SMPPStatus when
// it (or an error it wraps) has one, StatusOK for nil, ESME_RSYSERR
// otherwise.
func StatusOf(err error) uint32 {
	if err == nil {
		return StatusOK
	}
	var sc StatusCoder
	if errors.As(err, &sc) {
		if s := sc.SMPPStatus(); s != StatusOK {
			return s
		}
	}
	return StatusSysErr
}

// StatusError is a response whose command_status was not ESME_ROK.
type StatusError struct {
	// Command is the command_id of the response (or generic_nack).
	Command uint32
	// Status is its command_status.
	Status uint32
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("smpp: %s: %s", CommandName(e.Command), StatusName(e.Status))
}

// SMPPStatus implements StatusCoder.
func (e *StatusError) SMPPStatus() uint32 { return e.Status }

// Temporary reports a status that asks the sender to try again later:
// throttling, a full queue, a temporary application error (SMPP 3.4 5.1.3).
func (e *StatusError) Temporary() bool {
	switch e.Status {
	case StatusThrottled, StatusMsgQFul, StatusXTAppn, StatusSysErr:
		return true
	}
	return false
}

// FieldError names a field that breaks a rule: a configuration field by its
// path ("partners[2].window") or a Message field by its SMPP 3.4 name.
type FieldError struct {
	Path   string
	Reason string
	// Status is the command_status a Message field error maps to; zero
	// for configuration errors.
	Status uint32
}

// Error implements error.
func (e *FieldError) Error() string { return "smpp: " + e.Path + ": " + e.Reason }

// Is makes errors.Is match ErrInvalidMessage or ErrInvalidConfig.
func (e *FieldError) Is(target error) bool {
	if e.Status != 0 {
		return target == ErrInvalidMessage
	}
	return target == ErrInvalidConfig
}

// SMPPStatus implements StatusCoder.
func (e *FieldError) SMPPStatus() uint32 { return e.Status }

// WithPathPrefix returns a copy of e whose path sits under prefix.
func (e *FieldError) WithPathPrefix(prefix string) error {
	c := *e
	c.Path = prefix + "." + e.Path
	return &c
}

// Prefix returns err with every FieldError path in it prefixed, so that a
// config loader reports "partners[2].smpp.client.window" for the "window"
// that ClientConfig.Validate names. Other errors pass unchanged.
func Prefix(prefix string, err error) error { return cfgerr.Prefix(prefix, err) }

// DecodeError reports a PDU whose bytes break SMPP 3.4.
type DecodeError struct {
	// Command is the command_id of the PDU.
	Command uint32
	// Field is the SMPP 3.4 name of the offending field.
	Field string
	// Offset is the byte offset of the field in the PDU, header included.
	Offset int
	// Status is the command_status the error is answered with.
	Status uint32
	Reason string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("smpp: %s: %s at offset %d: %s", CommandName(e.Command), e.Field, e.Offset, e.Reason)
}

// SMPPStatus implements StatusCoder.
func (e *DecodeError) SMPPStatus() uint32 { return e.Status }

// LengthError reports a command_length outside 16 bytes to the configured
// maximum. The stream cannot be resynchronised after it: the reader answers
// generic_nack ESME_RINVCMDLEN and closes the connection (SMPP 3.4 3.3).
type LengthError struct {
	Length uint32
	Max    int
}

// Error implements error.
func (e *LengthError) Error() string {
	return fmt.Sprintf("smpp: command_length %d outside 16..%d", e.Length, e.Max)
}

// SMPPStatus implements StatusCoder.
func (e *LengthError) SMPPStatus() uint32 { return StatusInvCmdLen }

// StatusName names a command_status for logs ("ESME_RTHROTTLED").
func StatusName(s uint32) string {
	return fmt.Sprintf("%s (0x%08X)", data.CommandStatusType(int32(s)).String(), s)
}

// CommandName names a command_id for logs ("submit_sm_resp").
func CommandName(id uint32) string {
	if n := commandName(id); n != "" {
		return n
	}
	return fmt.Sprintf("command 0x%08X", id)
}
