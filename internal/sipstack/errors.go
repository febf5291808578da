package sipstack

import (
	"errors"
	"fmt"

	"iwf/internal/cfgerr"
)

// ErrInvalidConfig is matched (errors.Is) by every *FieldError.
var ErrInvalidConfig = errors.New("sipstack: invalid configuration")

// ErrClosed is returned by Listen and Run on a closed Stack.
var ErrClosed = errors.New("sipstack: closed")

// FieldError names a configuration field that breaks a rule by its path
// ("listen[1].address"); it matches ErrInvalidConfig.
type FieldError = cfgerr.FieldError

// Prefix returns err with the path of every FieldError in it prefixed, so
// that a loader reports "sip.listen[1].address" for the "listen[1].address"
// that Config.Validate names. Other errors pass unchanged.
func Prefix(prefix string, err error) error { return cfgerr.Prefix(prefix, err) }

func fieldError(path, reason string) error {
	return &FieldError{Pkg: "sipstack", Path: path, Reason: reason, Kind: ErrInvalidConfig}
}

// ListenError reports a listener that could not be opened.
type ListenError struct {
	Transport, Address string
	Err                error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("sipstack: listen %s %s: %v", e.Transport, e.Address, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }
