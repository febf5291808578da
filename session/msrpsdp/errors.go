package msrpsdp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotAcceptable marks every error about a session description that we
// cannot accept, ours or the peer's. The SIP layer answers an INVITE that
// fails with it by 488 Not Acceptable Here (RFC 3261 section 21.4.26) and
// a Warning header built by [Error.Warning].
var ErrNotAcceptable = errors.New("msrpsdp: session description not acceptable")

// Warn codes of RFC 3261 section 20.43 that explain a 488.
const (
	WarnIncompatibleProtocol   = 300 // network protocol (not IN)
	WarnIncompatibleAddress    = 301 // network address format
	WarnIncompatibleTransport  = 302 // transport protocol (m= proto, TLS or not)
	WarnMediaNotAvailable      = 304 // no usable m=message line
	WarnIncompatibleFormat     = 305 // no common accept-types
	WarnAttributeNotUnderstood = 306
	WarnParameterNotUnderstood = 307
	WarnMiscellaneous          = 399
)

// Error says what in a session description is wrong. A peer's error
// matches [ErrNotAcceptable] with errors.Is; its cause (a pion/sdp syntax
// error, an *msrp.URIError) matches with errors.As. An error in our own
// media (Local) is a configuration fault, answered with 500, and does not
// match ErrNotAcceptable.
type Error struct {
	// Local is true when the fault is in the media we were asked to send.
	Local bool
	// Field is the line or attribute at fault: "m=", "c=", "a=path", ...
	Field string
	// Reason is a short lowercase explanation.
	Reason string
	// Warn is the RFC 3261 section 20.43 warn-code for the Warning header.
	Warn int
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("msrpsdp: ")
	if e.Local {
		b.WriteString("local media: ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrNotAcceptable (for a peer's fault) and the cause, so
// errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	var errs []error
	if !e.Local {
		errs = append(errs, ErrNotAcceptable)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// SIPStatus is 488 Not Acceptable Here for a peer's description: RFC 3261
// section 21.4.26 names it for a session description the UAS cannot
// accept, and RFC 3264 section 6 for an offer with no acceptable media. A
// fault in our own media is 500 Server Internal Error.
func (e *Error) SIPStatus() int {
	if e.Local {
		return 500
	}
	return 488
}

// Warning formats the value of a SIP Warning header (RFC 3261 section
// 20.43: warn-code SP warn-agent SP warn-text) for this error. agent is our
// host name or host:port.
func (e *Error) Warning(agent string) string {
	code := e.Warn
	if code < 300 || code > 399 {
		code = WarnMiscellaneous
	}
	return strconv.Itoa(code) + " " + agent + " " + quoteWarnText(e.Error())
}

// quoteWarnText makes a quoted-string (RFC 3261 section 25.1): backslash
// and double quote escaped, control characters dropped since quoted-pair
// may not carry CR or LF.
func quoteWarnText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SIPStatusOf maps an error from this package to the SIP status to answer
// an INVITE with: the status the error describes, else 500.
func SIPStatusOf(err error) int {
	var s interface{ SIPStatus() int }
	if errors.As(err, &s) {
		return s.SIPStatus()
	}
	return 500
}

// asLocal marks err, when it is an *Error, as a fault in our own media.
func asLocal(err error) error {
	if e, ok := err.(*Error); ok {
		e.Local = true
	}
	return err
}

func fail(field string, warn int, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...), Warn: warn}
}

func failErr(field string, warn int, reason string, err error) *Error {
	return &Error{Field: field, Reason: reason, Warn: warn, Err: err}
}

// ErrFingerprintMismatch is matched by the error of [VerifyFingerprints]
// when the peer's certificate is not the one its a=fingerprint names (RFC
// 8122 section 5): the TLS connection must not be used.
var ErrFingerprintMismatch = errors.New("msrpsdp: certificate does not match a=fingerprint")

// ErrNoUsableFingerprint is matched by the error of [VerifyFingerprints]
// when no a=fingerprint uses a hash function we support (SHA-1 or SHA-2;
// RFC 8122 section 5 forbids MD2 and MD5).
var ErrNoUsableFingerprint = errors.New("msrpsdp: no a=fingerprint with a supported hash function")
