package sipstack

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is matched (errors.Is) by every *FieldError.
var ErrInvalidConfig = errors.New("sipstack: invalid configuration")

// ErrClosed is returned by Listen and Run on a closed Stack.
var ErrClosed = errors.New("sipstack: closed")

// FieldError names a configuration field that breaks a rule by its path
// ("listen[1].address"); Prefix puts the path in its place in the whole
// configuration.
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string { return "sipstack: " + e.Path + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidConfig }

// Prefix returns err with the path of every FieldError in it prefixed, so
// that a loader reports "sip.listen[1].address" for the "listen[1].address"
// that Config.Validate names. Other errors pass unchanged.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = Prefix(prefix, e)
		}
		return errors.Join(out...)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		c := *fe
		c.Path = prefix + "." + fe.Path
		return &c
	}
	return err
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
