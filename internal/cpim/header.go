package cpim

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Header is a message header other than the core headers of RFC 3862
// section 4: an extension header such as imdn.Message-ID, or one this
// package does not know.
type Header struct {
	// Name is the Header-name as written, prefix included
	// ("imdn.Message-ID").
	Name string
	// Params are the parameters written between the colon and the value
	// (RFC 3862 section 3.1), in order.
	Params []Param
	// Value is the header value with its escapes resolved.
	Value string
}

// Split returns the namespace prefix of the header name ("imdn") and the
// name within that namespace ("Message-ID"); prefix is empty for a name in
// the default namespace.
func (h Header) Split() (prefix, name string) {
	if p, n, ok := strings.Cut(h.Name, "."); ok {
		return p, n
	}
	return "", h.Name
}

// Param is a header parameter (RFC 3862 section 3.1: Ext-param or
// Lang-param). Value has its quotes and escapes removed.
type Param struct {
	Name  string
	Value string
}

// Address is the value of a From, To or cc header (RFC 3862 sections 4.1
// to 4.3), and of the IMDN headers that name a party: an optional display
// name and a URI.
type Address struct {
	// Name is the Formal-name, unquoted and unescaped; may be empty.
	Name string
	// URI is the absolute URI written between angle brackets.
	URI string
}

// IsZero reports whether a is the zero Address (no header).
func (a Address) IsZero() bool { return a == Address{} }

// String formats a as a header value: "Alice" <sip:alice@example.com>, or
// <sip:alice@example.com> without a name. The name is always quoted: that
// is valid for any name, where the unquoted token form is not.
func (a Address) String() string { return string(appendAddress(nil, a)) }

// ParseAddress reads an address as written in a From or To header:
// `"Alice" <sip:alice@example.com>`, `Alice <sip:alice@example.com>`,
// `<sip:alice@example.com>`, or a bare URI.
func ParseAddress(s string) (Address, error) {
	a, reason := parseAddress(s)
	if reason != "" {
		return Address{}, &FieldError{Field: "address", Reason: reason}
	}
	return a, nil
}

// parseAddress reads [ Formal-name ] "<" URI ">" (RFC 3862 section 4.1);
// reason is empty on success. Formal-name is 1*( Token SP ) or a quoted
// String; an unquoted name is taken as the text before "<" whatever its
// characters, and a URI without brackets is accepted alone.
func parseAddress(s string) (a Address, reason string) {
	s = trimSpace(s)
	switch {
	case s == "":
		return a, "empty address"
	case s[0] == '"':
		name, rest, ok := readString(s)
		if !ok {
			return a, "unterminated quoted name"
		}
		a.Name, s = name, trimSpace(rest)
		if s == "" || s[0] != '<' {
			return a, "no <uri> after the name"
		}
	default:
		i := strings.IndexByte(s, '<')
		if i < 0 {
			if !validURI(s) {
				return a, fmt.Sprintf("malformed uri %q", clip(s))
			}
			a.URI = s
			return a, ""
		}
		a.Name, s = trimSpace(s[:i]), s[i:]
	}
	uri, ok := bracketed(s)
	if !ok {
		return a, fmt.Sprintf("malformed <uri> %q", clip(s))
	}
	a.URI = uri
	return a, ""
}

// bracketed returns the URI of s = "<" URI ">".
func bracketed(s string) (string, bool) {
	if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return "", false
	}
	uri := s[1 : len(s)-1]
	return uri, validURI(uri)
}

func appendAddress(b []byte, a Address) []byte {
	if a.Name != "" {
		b = appendString(b, a.Name)
		b = append(b, ' ')
	}
	b = append(b, '<')
	b = append(b, a.URI...)
	return append(b, '>')
}

// check returns why a cannot be written, or "".
func (a Address) check() string {
	if !validURI(a.URI) {
		return fmt.Sprintf("malformed uri %q", clip(a.URI))
	}
	if !utf8.ValidString(a.Name) {
		return "name is not UTF-8"
	}
	return ""
}

// Namespace is an NS header (RFC 3862 section 4.6): it binds a name prefix
// to a namespace URI. An empty Prefix declares the default namespace.
type Namespace struct {
	Prefix string
	URI    string
}

// parseNamespace reads [ Name-prefix SP ] "<" URI ">".
func parseNamespace(s string) (ns Namespace, reason string) {
	i := strings.IndexByte(s, '<')
	if i < 0 {
		return ns, "no <uri>"
	}
	ns.Prefix = trimSpace(s[:i])
	if ns.Prefix != "" && !validName(ns.Prefix) {
		return ns, fmt.Sprintf("malformed prefix %q", clip(ns.Prefix))
	}
	uri, ok := bracketed(s[i:])
	if !ok {
		return ns, fmt.Sprintf("malformed <uri> %q", clip(s[i:]))
	}
	ns.URI = uri
	return ns, ""
}

func appendNamespace(b []byte, ns Namespace) []byte {
	if ns.Prefix != "" {
		b = append(b, ns.Prefix...)
		b = append(b, ' ')
	}
	b = append(b, '<')
	b = append(b, ns.URI...)
	return append(b, '>')
}

// Subject is a Subject header (RFC 3862 section 4.5): text in the language
// Lang, empty when not tagged.
type Subject struct {
	Lang string
	Text string
}

// Field is a MIME header of the encapsulated content (Content-ID,
// Content-Disposition, ...). Value is as written, unfolded, without the
// white space around it.
type Field struct {
	Name  string
	Value string
}

// validFieldName reports whether s is an RFC 5322 field-name: printable
// US-ASCII but the colon.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// checkText returns why s cannot be written on a MIME header line, or "".
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if isCTL(s[i]) {
			return "control character"
		}
	}
	return ""
}
