package main

import (
	"errors"

	"iwf/internal/cfgerr"
	"iwf/internal/yamlcfg"
	"iwf/session/sipsession"
	"iwf/smpp"
)

// ErrInvalidConfig is matched (errors.Is) by every *FieldError.
var ErrInvalidConfig = errors.New("config: invalid configuration")

// FieldError is one fault of the configuration, named by its full YAML
// path ("partners[1].smpp.clients[0].window") and, for faults found while
// decoding, by its line in the file.
type FieldError struct {
	// Path is the key's path from the top of the file.
	Path string
	// Line is the 1-based line of the fault in the file; 0 when the fault
	// is found after decoding (a rule across fields, a package's Validate).
	Line int
	// Reason says what is wrong.
	Reason string
	// Err is the package error this one re-roots (a pager, smpp,
	// sipstack, sipsession, session or interwork configuration error), so
	// that errors.Is still matches that package's sentinel, or the YAML
	// decoder's error it locates; nil for rules checked here.
	Err error
}

// Error reads "config: partners[0].sip.next_hop: required", with
// "line N: " before the reason when the line is known.
func (e *FieldError) Error() string {
	return "config: " + (&yamlcfg.Error{Path: e.Path, Line: e.Line, Reason: e.Reason}).Error()
}

// Unwrap returns the package error this one re-roots, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// Is matches ErrInvalidConfig.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidConfig }

// under puts the errors a package's Validate returned (paths relative to
// the section it was given) under prefix, the section's path in the whole
// file, as *FieldError. cfgerr.Prefix re-roots every error that can
// re-root itself (pager, sipstack, session, smpp, interwork); sipsession's
// FieldError cannot, so it is re-rooted here.
func under(prefix string, err error) []error {
	var out []error
	for _, e := range leaves(cfgerr.Prefix(prefix, err)) {
		fe := &FieldError{Path: prefix, Reason: e.Error(), Err: e}
		var (
			cf *cfgerr.FieldError
			sf *smpp.FieldError
			ss *sipsession.FieldError
		)
		switch {
		case errors.As(e, &cf):
			fe.Path, fe.Reason = cf.Path, cf.Reason
		case errors.As(e, &sf):
			fe.Path, fe.Reason = sf.Path, sf.Reason
		case errors.As(e, &ss):
			fe.Path, fe.Reason = prefix+"."+ss.Path, ss.Reason
		}
		out = append(out, fe)
	}
	return out
}

// leaves flattens errors.Join trees into their single errors.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
