// Package cfgerr is the configuration error type that pager and
// pager/sipstack share: a field named by its YAML path, and the prefixing
// that puts that path in its place in the whole configuration.
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

// Prefix returns err with the path of every FieldError in it prefixed by
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
	var fe *FieldError
	if errors.As(err, &fe) {
		c := *fe
		c.Path = prefix + "." + fe.Path
		return &c
	}
	return err
}
