package cpim

import (
	"strings"
)

// dateTimeLayout is RFC 3339 with the offset always numeric ("+00:00"
// rather than "Z"): the UTC offset the sender's clock had, which RFC 3862
// section 4.4 lets the recipient show.
const dateTimeLayout = "2006-01-02T15:04:05.999999999-07:00"

// Marshal encodes m as a message/cpim document; see AppendTo.
func (m *Message) Marshal() ([]byte, error) {
	return m.AppendTo(make([]byte, 0, m.size()))
}

// AppendTo appends m to b as a message/cpim document: the core headers
// (From, To, cc, DateTime, Subject, NS, Require), Headers in order, a blank
// line, Content-Type and ContentHeaders, a blank line and Body, with CRLF
// line ends. It fails, leaving b as it was, when Validate does.
func (m *Message) AppendTo(b []byte) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return b, err
	}
	if !m.From.IsZero() {
		b = appendAddress(append(b, hFrom+": "...), m.From)
		b = crlf(b)
	}
	b = appendAddresses(b, hTo, m.To)
	b = appendAddresses(b, hCC, m.CC)
	if !m.DateTime.IsZero() {
		b = m.DateTime.AppendFormat(append(b, hDateTime+": "...), dateTimeLayout)
		b = crlf(b)
	}
	for _, s := range m.Subject {
		b = append(b, hSubject+":"...)
		if s.Lang != "" {
			b = append(b, ";"+hLang+"="...)
			b = append(b, s.Lang...)
		}
		b = appendValue(append(b, ' '), s.Text)
		b = crlf(b)
	}
	for _, ns := range m.NS {
		b = appendNamespace(append(b, hNS+": "...), ns)
		b = crlf(b)
	}
	if len(m.Require) > 0 {
		b = append(b, hRequire+": "...)
		b = append(b, strings.Join(m.Require, ",")...)
		b = crlf(b)
	}
	for _, h := range m.Headers {
		b = append(append(b, h.Name...), ':')
		for _, p := range h.Params {
			b = append(append(append(b, ';'), p.Name...), '=')
			if validToken(p.Value) {
				b = append(b, p.Value...)
			} else {
				b = appendString(b, p.Value)
			}
		}
		b = appendValue(append(b, ' '), h.Value)
		b = crlf(b)
	}
	b = crlf(b)
	b = appendField(b, contentType, m.ContentType)
	for _, f := range m.ContentHeaders {
		b = appendField(b, f.Name, f.Value)
	}
	b = crlf(b)
	return append(b, m.Body...), nil
}

func crlf(b []byte) []byte { return append(b, '\r', '\n') }

func appendAddresses(b []byte, name string, as []Address) []byte {
	for _, a := range as {
		b = append(append(b, name...), ": "...)
		b = crlf(appendAddress(b, a))
	}
	return b
}

func appendField(b []byte, name, value string) []byte {
	b = append(append(b, name...), ": "...)
	return crlf(append(b, value...))
}

// size estimates the encoded length so that Marshal allocates once in the
// common case.
func (m *Message) size() int {
	n := 64 + len(m.From.Name) + len(m.From.URI) + len(m.ContentType) + len(m.Body)
	if !m.DateTime.IsZero() {
		n += len(hDateTime+": \r\n") + len(dateTimeLayout)
	}
	for _, a := range m.To {
		n += 8 + len(a.Name) + len(a.URI)
	}
	for _, a := range m.CC {
		n += 8 + len(a.Name) + len(a.URI)
	}
	for _, s := range m.Subject {
		n += 24 + len(s.Lang) + len(s.Text)
	}
	for _, ns := range m.NS {
		n += 8 + len(ns.Prefix) + len(ns.URI)
	}
	for _, r := range m.Require {
		n += 12 + len(r)
	}
	for _, h := range m.Headers {
		n += 4 + len(h.Name) + len(h.Value)
		for _, p := range h.Params {
			n += 4 + len(p.Name) + len(p.Value)
		}
	}
	for _, f := range m.ContentHeaders {
		n += 4 + len(f.Name) + len(f.Value)
	}
	return n
}
