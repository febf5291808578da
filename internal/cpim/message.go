package cpim

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespace URIs.
const (
	// CoreNamespace is the namespace of the unprefixed headers of RFC 3862
	// (From, To, cc, DateTime, Subject, NS, Require), per its IANA
	// registration.
	CoreNamespace = "urn:ietf:params:cpim-headers:"
	// IMDNNamespace is the namespace of the IMDN headers (RFC 5438 section
	// 6.1), conventionally bound to the prefix "imdn".
	IMDNNamespace = "urn:ietf:params:imdn"
)

// Core header names, as they are registered and written.
const (
	hFrom     = "From"
	hTo       = "To"
	hCC       = "cc"
	hDateTime = "DateTime"
	hSubject  = "Subject"
	hNS       = "NS"
	hRequire  = "Require"
	hLang     = "lang"

	contentType = "Content-Type"
)

// coreName returns the registered spelling of a core header name, or "".
// Core names are matched without regard to case: CPIM header names are
// case-sensitive (RFC 3862 section 3.1), but senders vary and nothing else
// could be meant by "datetime".
func coreName(name string) string {
	for _, n := range [...]string{hFrom, hTo, hCC, hDateTime, hSubject, hNS, hRequire} {
		if strings.EqualFold(name, n) {
			return n
		}
	}
	return ""
}

// Message is a message/cpim document (RFC 3862 section 2): the message
// headers, then the MIME headers and body of the encapsulated content.
//
// Parse fills it; Marshal writes the core headers first in the order of the
// fields below, then Headers in order, then the content.
type Message struct {
	// From is the sender (RFC 3862 section 4.1); zero when absent.
	From Address
	// To lists the recipients (section 4.2).
	To []Address
	// CC lists the courtesy recipients (section 4.3).
	CC []Address
	// DateTime is when the message was sent (section 4.4); zero when
	// absent. It is written in RFC 3339 with the sender's UTC offset.
	DateTime time.Time
	// Subject holds the subjects, one a language (section 4.5).
	Subject []Subject
	// NS holds the namespace declarations (section 4.6).
	NS []Namespace
	// Require lists the header names the recipient must understand
	// (section 4.7).
	Require []string
	// Headers holds every other message header in order, extension
	// headers such as imdn.Message-ID included. Write IMDN headers with
	// SetIMDN, which declares their namespace.
	Headers []Header

	// ContentType is the media type of the encapsulated content, as
	// written (RFC 3862 section 2.4: the content is a MIME entity; its
	// Content-Type is required here).
	ContentType string
	// ContentHeaders holds the other MIME headers of the content
	// (Content-ID, Content-Disposition, ...) in order.
	ContentHeaders []Field
	// Body is the content. A parsed Body aliases the parser's input.
	Body []byte
}

// Namespace returns the URI that an NS header binds to prefix; the first
// declaration of a prefix counts. The empty prefix is the default
// namespace, CoreNamespace unless an NS header without prefix says
// otherwise.
func (m *Message) Namespace(prefix string) (string, bool) {
	for _, ns := range m.NS {
		if ns.Prefix == prefix {
			return ns.URI, true
		}
	}
	if prefix == "" {
		return CoreNamespace, true
	}
	return "", false
}

// resolve returns the namespace URI of a header name prefix. An undeclared
// "imdn" prefix is taken as IMDNNamespace: some clients leave out the NS
// header, and the prefix means nothing else in practice.
func (m *Message) resolve(prefix string) string {
	if uri, ok := m.Namespace(prefix); ok {
		return uri
	}
	if strings.EqualFold(prefix, "imdn") {
		return IMDNNamespace
	}
	return ""
}

// inNamespace reports whether the header name full is name in namespace
// uri, resolving its prefix through NS.
func (m *Message) inNamespace(full, uri, name string) bool {
	prefix, local, dotted := strings.Cut(full, ".")
	if !dotted {
		prefix, local = "", full
	}
	return strings.EqualFold(local, name) && strings.EqualFold(m.resolve(prefix), uri)
}

// Get returns the value of the first header called name in the namespace
// nsURI, whatever prefix the message binds to that namespace. Names are
// matched without regard to case.
func (m *Message) Get(nsURI, name string) (string, bool) {
	for _, h := range m.Headers {
		if m.inNamespace(h.Name, nsURI, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Unsupported returns the Require entries (RFC 3862 section 3.5) that
// understood rejects, given the namespace URI and the name of each. A
// recipient must not process a message with any: the caller answers with
// an error.
func (m *Message) Unsupported(understood func(nsURI, name string) bool) []string {
	var out []string
	for _, r := range m.Require {
		prefix, name, ok := strings.Cut(r, ".")
		if !ok {
			prefix, name = "", r
		}
		if !understood(m.resolve(prefix), name) {
			out = append(out, r)
		}
	}
	return out
}

// ContentHeader returns the value of the first content header called name,
// matched without regard to case as MIME names are.
func (m *Message) ContentHeader(name string) string {
	if strings.EqualFold(name, contentType) {
		return m.ContentType
	}
	for _, f := range m.ContentHeaders {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// validMediaType reports whether s starts with a type/subtype. Broken
// parameters are let through: "text/plain; charset" is seen in the wild,
// and the type is what the IWF routes on.
func validMediaType(s string) bool {
	_, ok := mediaType(s)
	return ok
}

// mediaType is s's type/subtype as mime.ParseMediaType reads it (lower
// case, without parameters), and whether validMediaType accepts s. It
// runs for every message wrapped or parsed: the common content type,
// plain ASCII with at most one parameter, is read here without the map
// ParseMediaType builds; anything else goes to ParseMediaType. A single
// parameter cannot be a duplicate, so only the type/subtype decides then
// (ParseMediaType lets an unreadable parameter through with
// ErrInvalidMediaParameter).
func mediaType(s string) (string, bool) {
	base, params, _ := strings.Cut(s, ";")
	if strings.IndexByte(params, ';') < 0 && isASCII(base) {
		mt := strings.TrimSpace(strings.ToLower(base))
		return mt, isTypeSubtype(mt)
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "", false
	}
	return mt, strings.Contains(mt, "/")
}

// isTypeSubtype reports whether s is token "/" token (RFC 2045 section
// 5.1).
func isTypeSubtype(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isMIMEToken(typ) && isMIMEToken(sub)
}

// isMIMEToken reports a non-empty RFC 2045 token: CHARs but SPACE, CTLs
// and tspecials.
func isMIMEToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MediaType returns the media type of the content, lower case and without
// parameters ("text/plain"), or "" if ContentType does not parse.
func (m *Message) MediaType() string {
	mt, ok := mediaType(m.ContentType)
	if !ok {
		return ""
	}
	return mt
}

// Validate reports the first field that Marshal could not write so that
// Parse reads it back the same.
func (m *Message) Validate() error {
	if !m.From.IsZero() {
		if r := m.From.check(); r != "" {
			return &FieldError{Field: hFrom, Reason: r}
		}
	}
	if err := checkAddresses(hTo, m.To); err != nil {
		return err
	}
	if err := checkAddresses(hCC, m.CC); err != nil {
		return err
	}
	if y := m.DateTime.Year(); !m.DateTime.IsZero() && (y < 0 || y > 9999) {
		return &FieldError{Field: hDateTime, Reason: "year outside 0000-9999 (RFC 3339)"}
	}
	for i, s := range m.Subject {
		if s.Lang != "" && !validLang(s.Lang) {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", hSubject, i), Reason: fmt.Sprintf("malformed language tag %q", clip(s.Lang))}
		}
		if !utf8.ValidString(s.Text) {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", hSubject, i), Reason: "not UTF-8"}
		}
	}
	for i, ns := range m.NS {
		if ns.Prefix != "" && !validName(ns.Prefix) || !validURI(ns.URI) {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", hNS, i), Reason: fmt.Sprintf("malformed declaration %q <%q>", clip(ns.Prefix), clip(ns.URI))}
		}
	}
	for i, r := range m.Require {
		if !validHeaderName(r) {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", hRequire, i), Reason: fmt.Sprintf("malformed header name %q", clip(r))}
		}
	}
	for _, h := range m.Headers {
		if err := h.check(); err != nil {
			return err
		}
	}
	return m.checkContent()
}

func checkAddresses(field string, as []Address) error {
	for i, a := range as {
		if r := a.check(); r != "" {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: r}
		}
	}
	return nil
}

func (h Header) check() error {
	switch {
	case !validHeaderName(h.Name):
		return &FieldError{Field: fmt.Sprintf("header %q", clip(h.Name)), Reason: "malformed header name"}
	case !strings.Contains(h.Name, ".") && coreName(h.Name) != "":
		return &FieldError{Field: h.Name, Reason: "core header in Headers: set the Message field"}
	case !utf8.ValidString(h.Value):
		return &FieldError{Field: h.Name, Reason: "value is not UTF-8"}
	}
	for _, p := range h.Params {
		if !validName(p.Name) || !utf8.ValidString(p.Value) {
			return &FieldError{Field: h.Name, Reason: fmt.Sprintf("malformed parameter %q", clip(p.Name))}
		}
	}
	return nil
}

func (m *Message) checkContent() error {
	if m.ContentType == "" {
		return &FieldError{Field: contentType, Reason: "missing (RFC 3862 section 2.4)"}
	}
	if !validMediaType(m.ContentType) || checkText(m.ContentType) != "" {
		return &FieldError{Field: contentType, Reason: fmt.Sprintf("malformed media type %q", clip(m.ContentType))}
	}
	for _, f := range m.ContentHeaders {
		if !validFieldName(f.Name) || strings.EqualFold(f.Name, contentType) {
			return &FieldError{Field: fmt.Sprintf("content header %q", clip(f.Name)), Reason: "malformed or duplicate name"}
		}
		if r := checkText(f.Value); r != "" {
			return &FieldError{Field: f.Name, Reason: r}
		}
	}
	return nil
}
