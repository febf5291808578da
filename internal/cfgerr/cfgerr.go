// Package cfgerr is the configuration error type that pager,
// internal/sipstack, session and interwork share (a field named by its
// YAML path), and the one prefixing walk that puts such paths in their
// place in the whole configuration, for any error type that can re-root
// its path (smpp's too).
package cfgerr

import "errors"

// FieldError names a configuration field that breaks a rule.
type FieldError struct {
	// Pkg prefixes the message: "pager", "sipstack".
	Pkg string
	// Path is the field's YAML path, "listen[1].address".
	Path string
	// Reason says what is wrong.
	Reason string
	// Kind is the sentinel errors.Is matches: the package's
	// ErrInvalidConfig.
	Kind error
}

func (e *FieldError) Error() string { return e.Pkg + ": " + e.Path + ": " + e.Reason }

// Is matches the package's sentinel.
func (e *FieldError) Is(target error) bool { return target == e.Kind }

// PathError is an error naming a configuration field that can return a
// copy of itself with its path under prefix.
type PathError interface {
	error
	WithPathPrefix(prefix string) error
}

// WithPathPrefix implements PathError.
func (e *FieldError) WithPathPrefix(prefix string) error {
	c := *e
	c.Path = prefix + "." + e.Path
	return &c
}

// Prefix returns err with the path of every PathError in it prefixed by
// prefix and a dot. Joined errors are prefixed one by one; other errors
// pass unchanged.
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
	var pe PathError
	if errors.As(err, &pe) {
		return pe.WithPathPrefix(prefix)
	}
	return err
}
