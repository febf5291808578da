package msrp

import "fmt"

// URIError reports an MSRP URI that does not parse.
type URIError struct {
	URI    string
	Reason string
}

func (e *URIError) Error() string { return fmt.Sprintf("msrp: uri %q: %s", e.URI, e.Reason) }

type errString string

func (e errString) Error() string { return string(e) }
