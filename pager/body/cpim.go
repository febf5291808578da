package body

import (
	"bytes"
	"strings"
)

// IMDNNamespace is the namespace of the IMDN CPIM headers (RFC 5438
// section 6.2).
const IMDNNamespace = "urn:ietf:params:imdn"

// Limits of a message/cpim header part: a MESSAGE body is small, and the
// bounds keep a hostile one from costing more than its size.
const (
	maxCPIMHeaders    = 64
	maxCPIMHeaderLine = 4096
)

// Header is one header line of message/cpim: the name as written, the
// value without surrounding white space.
type Header struct {
	Name  string
	Value string
}

// CPIM is a message/cpim body (RFC 3862 section 2): message headers, the
// MIME headers of the content, and the content.
type CPIM struct {
	// Headers are the message headers in order (From, To, DateTime, NS,
	// imdn.Message-ID, ...).
	Headers []Header
	// ContentHeaders are the MIME headers of the encapsulated content
	// (Content-Type, Content-ID, ...).
	ContentHeaders []Header
	// Body is the encapsulated content.
	Body []byte
}

// IMDN holds the Instant Message Disposition Notification headers of a
// message (RFC 5438 section 6): what a later notification must quote.
type IMDN struct {
	// MessageID is imdn.Message-ID.
	MessageID string
	// DispositionNotification is imdn.Disposition-Notification, the
	// notifications asked for ("positive-delivery", "display", ...).
	DispositionNotification []string
	// DateTime is the DateTime header the notification quotes back.
	DateTime string
}

// ParseCPIM reads a message/cpim body (RFC 3862 section 3): message
// headers, an empty line, content headers, an empty line, the content.
// Lines may end in CRLF or a bare LF. Errors are *ParseError.
func ParseCPIM(b []byte) (*CPIM, error) {
	c := &CPIM{}
	off, err := readHeaders(b, 0, &c.Headers)
	if err != nil {
		return nil, err
	}
	if off >= len(b) {
		return nil, &ParseError{Offset: off, Reason: "no content headers after the message headers"}
	}
	off, err = readHeaders(b, off, &c.ContentHeaders)
	if err != nil {
		return nil, err
	}
	c.Body = b[off:]
	return c, nil
}

// readHeaders reads header lines from b at off up to and including the
// empty line that ends them, appending to hs; it returns the offset after
// the empty line.
func readHeaders(b []byte, off int, hs *[]Header) (int, error) {
	for {
		if off >= len(b) {
			return off, &ParseError{Offset: off, Reason: "header part without an empty line"}
		}
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			return off, &ParseError{Offset: off, Reason: "header line without a line end"}
		}
		line := b[off : off+end]
		next := off + end + 1
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			return next, nil
		}
		if len(line) > maxCPIMHeaderLine {
			return off, &ParseError{Offset: off, Reason: "header line over 4096 bytes"}
		}
		if len(*hs) == maxCPIMHeaders {
			return off, &ParseError{Offset: off, Reason: "more than 64 headers"}
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !isToken(name) {
			return off, &ParseError{Offset: off, Reason: "not a header line"}
		}
		v := strings.Trim(string(value), " \t")
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 && v[i] != '\t' || v[i] == 0x7F {
				return off, &ParseError{Offset: off + len(name) + 1 + i, Header: string(name), Reason: "control character in the value"}
			}
		}
		*hs = append(*hs, Header{Name: string(name), Value: v})
		off = next
	}
}

// isToken reports whether b is a header name: RFC 3862 section 3.1 Name,
// token characters with the namespace prefix's '.' among them.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= 0x20 || c >= 0x7F || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// Bytes writes the body in the form ParseCPIM reads, with CRLF line ends.
func (c *CPIM) Bytes() []byte {
	var b bytes.Buffer
	for _, h := range c.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	for _, h := range c.ContentHeaders {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(c.Body)
	return b.Bytes()
}

// ContentType returns the content's Content-Type (any case of the name),
// or "".
func (c *CPIM) ContentType() string { return get(c.ContentHeaders, "Content-Type") }

func get(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// IMDN returns the IMDN headers. Their prefix is the one an NS header
// binds to urn:ietf:params:imdn (RFC 3862 section 3.4), "imdn" when none
// does: senders that omit the declaration still mean it.
func (c *CPIM) IMDN() IMDN {
	prefix := "imdn"
	for _, h := range c.Headers {
		if !strings.EqualFold(h.Name, "NS") {
			continue
		}
		// NS: prefix <urn>
		p, urn, ok := strings.Cut(h.Value, "<")
		if ok && strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(urn), ">"), IMDNNamespace) {
			prefix = strings.TrimSpace(p)
		}
	}
	name := func(local string) string {
		if prefix == "" { // the default namespace: names carry no prefix
			return local
		}
		return prefix + "." + local
	}
	var m IMDN
	m.MessageID = get(c.Headers, name("Message-ID"))
	if dn := get(c.Headers, name("Disposition-Notification")); dn != "" {
		for v := range strings.SplitSeq(dn, ",") {
			if v = strings.TrimSpace(v); v != "" {
				m.DispositionNotification = append(m.DispositionNotification, strings.ToLower(v))
			}
		}
	}
	m.DateTime = get(c.Headers, "DateTime")
	return m
}
