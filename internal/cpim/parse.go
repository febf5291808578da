package cpim

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Default bounds of ParseOptions.
const (
	// DefaultMaxHeaderBytes bounds the header part: message headers,
	// content headers and the blank lines after them.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxHeaders bounds the message and content headers together.
	DefaultMaxHeaders = 128
)

// ParseOptions bound what Parse accepts from a peer and say how strictly
// it reads. The body is not bounded here: the transport already bounds it
// (MSRP max-size, SIP MESSAGE size). Zero fields take the defaults.
type ParseOptions struct {
	// MaxHeaderBytes bounds the header part, blank lines included.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of headers, message and content.
	MaxHeaders int
	// Tolerant reads the message headers as a recipient that needs only
	// the content and the IMDN headers: a message header whose value
	// breaks its grammar (a From, To or cc that is no address, a DateTime
	// that is not RFC 3339, a malformed NS, Require or parameter), a
	// second From or DateTime, and an IMDN header that Message.IMDN would
	// reject are left out instead of failing the parse, and bytes that are
	// not UTF-8 in a header value read as U+FFFD. Pager clients write
	// such envelopes, and what they break is nothing the IWF relays. The
	// line structure, header names, control characters and the content's
	// Content-Type are checked as without it. A tolerant parse always
	// yields a Message that Marshal writes and whose IMDN method succeeds.
	Tolerant bool
}

// Parse reads a received message/cpim document as its recipient does:
// with the default bounds and Tolerant. A malformed optional header (a
// DateTime whose offset lacks its colon, an NS line without a URI, a From
// that is no address) is left out and the message kept: the IWF relays
// the content and reads the IMDN headers, and a chat message must never
// be refused for an envelope detail it does not use. Faults of the line
// structure and of the content's Content-Type are still errors.
func Parse(b []byte) (*Message, error) { return ParseOptions{Tolerant: true}.Parse(b) }

// ParseStrict reads a message/cpim document with the default bounds and
// every RFC 3862 rule enforced (ParseOptions without Tolerant): for
// checking what a sender writes, not for reading what peers send.
func ParseStrict(b []byte) (*Message, error) { return ParseOptions{}.Parse(b) }

// Parse reads a message/cpim document: message headers, a blank line,
// the content's MIME headers, a blank line, the body (RFC 3862 section 2).
// A fault is reported as a *ParseError naming the header and byte offset,
// a bound as a *LimitError. The Body of the result aliases b.
func (o ParseOptions) Parse(b []byte) (*Message, error) {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxHeaders <= 0 {
		o.MaxHeaders = DefaultMaxHeaders
	}
	p := parser{src: b, opt: o}
	m := &Message{}
	if err := p.messageHeaders(m); err != nil {
		return nil, err
	}
	if o.Tolerant {
		m.dropBadIMDN()
	}
	if err := p.content(m); err != nil {
		return nil, err
	}
	return m, nil
}

type parser struct {
	src          []byte
	off          int
	opt          ParseOptions
	headers      int
	seenFrom     bool
	seenDateTime bool
}

// text makes a header value valid UTF-8 when the parser is tolerant; a
// strict parser has rejected invalid UTF-8 already (checkLine).
func (p *parser) text(s string) string {
	if p.opt.Tolerant {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// line returns the next line without its end (CRLF, or a bare LF, which is
// accepted on input), the offset where it starts, and whether a line end
// was found. At the end of the input line is "" and ended false.
func (p *parser) line() (line string, start int, ended bool, err error) {
	start = p.off
	room := p.opt.MaxHeaderBytes - start
	window := p.src[start:]
	if len(window) > room {
		window = window[:room]
	}
	i := bytes.IndexByte(window, '\n')
	if i < 0 {
		if len(p.src)-start > room {
			return "", start, false, &LimitError{What: "header bytes", Limit: p.opt.MaxHeaderBytes}
		}
		i, p.off = len(window), len(p.src)
	} else {
		ended, p.off = true, start+i+1
	}
	ln := window[:i]
	if n := len(ln); n > 0 && ln[n-1] == '\r' {
		ln = ln[:n-1]
	}
	return string(ln), start, ended, nil
}

// count counts one more header against MaxHeaders.
func (p *parser) count() error {
	p.headers++
	if p.headers > p.opt.MaxHeaders {
		return &LimitError{What: "header count", Limit: p.opt.MaxHeaders}
	}
	return nil
}

// checkLine rejects a header line with a control character other than HTAB
// or, unless the parser is tolerant, with bytes that are not UTF-8 (RFC
// 3862 section 2.2: headers are UTF-8 text, one line each), and one that
// starts with white space. The error names the header when the line starts
// with a well-formed name.
func (p *parser) checkLine(line string, off int, folded bool) error {
	fault := func(at int, reason string) error {
		pe := &ParseError{Offset: off + at, Reason: reason}
		if name, _, ok := strings.Cut(line, ":"); ok && !folded && validFieldName(name) {
			pe.Header = name
		}
		return pe
	}
	if !folded && isSpace(line[0]) {
		return fault(0, "line starts with white space: message headers are never folded (RFC 3862 section 2.2)")
	}
	for i := 0; i < len(line); {
		c := line[i]
		if c < utf8.RuneSelf {
			if isCTL(c) {
				return fault(i, fmt.Sprintf("control character %#02x", c))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(line[i:])
		if r == utf8.RuneError && n <= 1 && !p.opt.Tolerant {
			return fault(i, "invalid UTF-8")
		}
		i += n
	}
	return nil
}

// messageHeaders reads the message headers up to and including the blank
// line that ends them.
func (p *parser) messageHeaders(m *Message) error {
	if len(p.src) == 0 {
		return &ParseError{Reason: "empty message"}
	}
	for {
		line, start, ended, err := p.line()
		if err != nil {
			return err
		}
		if !ended {
			return &ParseError{Offset: start, Reason: "input ends before the blank line after the message headers (RFC 3862 section 2)"}
		}
		if line == "" {
			return nil
		}
		if err := p.checkLine(line, start, false); err != nil {
			return err
		}
		if err := p.count(); err != nil {
			return err
		}
		if err := p.messageHeader(m, line, start); err != nil {
			return err
		}
	}
}

// messageHeader reads one header: Header-name ":" *( ";" Parameter ) SP
// Header-value (RFC 3862 section 3).
func (p *parser) messageHeader(m *Message, line string, off int) error {
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return &ParseError{Offset: off, Reason: fmt.Sprintf("no colon in %q", clip(line))}
	}
	name := line[:colon]
	if !validHeaderName(name) {
		return &ParseError{Offset: off, Reason: fmt.Sprintf("malformed header name %q (RFC 3862 section 3.1)", clip(name))}
	}
	params, value, reason, at := readParams(line[colon+1:])
	if reason != "" {
		if p.opt.Tolerant {
			return nil // the header is left out
		}
		return &ParseError{Offset: off + colon + 1 + at, Header: name, Reason: reason}
	}
	for i := range params {
		params[i].Value = p.text(params[i].Value)
	}
	value = trimSpace(value)
	// fail reports a value that breaks its header's grammar; a tolerant
	// parser leaves the header out instead.
	fail := func(format string, args ...any) error {
		if p.opt.Tolerant {
			return nil
		}
		return &ParseError{Offset: off, Header: name, Reason: fmt.Sprintf(format, args...)}
	}

	core := ""
	if !strings.Contains(name, ".") {
		core = coreName(name)
	}
	if core != "" && core != hSubject && len(params) > 0 {
		return fail("parameters not allowed here")
	}
	switch core {
	case hFrom:
		if p.seenFrom {
			return fail("repeated: a message has one sender (RFC 3862 section 4.1)")
		}
		a, reason := parseAddress(value)
		if reason != "" {
			return fail("%s", reason)
		}
		p.seenFrom = true
		a.Name = p.text(a.Name)
		m.From = a
	case hTo, hCC:
		a, reason := parseAddress(value)
		if reason != "" {
			return fail("%s", reason)
		}
		a.Name = p.text(a.Name)
		if core == hTo {
			m.To = append(m.To, a)
		} else {
			m.CC = append(m.CC, a)
		}
	case hDateTime:
		if p.seenDateTime {
			return fail("repeated (RFC 3862 section 4.4)")
		}
		t, err := parseDateTime(value)
		if err != nil {
			return fail("not an RFC 3339 date-time: %q", clip(value))
		}
		p.seenDateTime = true
		m.DateTime = t
	case hSubject:
		s := Subject{Text: p.text(unescape(value))}
		for _, prm := range params {
			if !strings.EqualFold(prm.Name, hLang) || s.Lang != "" || !validLang(prm.Value) {
				return fail("parameter %q: only one lang=Language-tag (RFC 3862 section 4.5)", clip(prm.Name))
			}
			s.Lang = prm.Value
		}
		m.Subject = append(m.Subject, s)
	case hNS:
		ns, reason := parseNamespace(value)
		if reason != "" {
			return fail("%s (RFC 3862 section 4.6)", reason)
		}
		m.NS = append(m.NS, ns)
	case hRequire:
		var names []string
		for _, r := range strings.Split(value, ",") {
			r = trimSpace(r)
			if !validHeaderName(r) {
				return fail("malformed header name %q (RFC 3862 section 4.7)", clip(r))
			}
			names = append(names, r)
		}
		m.Require = append(m.Require, names...)
	default:
		m.Headers = append(m.Headers, Header{Name: name, Params: params, Value: p.text(unescape(value))})
	}
	return nil
}

// readParams reads *( ";" Parameter ) at the start of s, where Parameter is
// Param-name "=" ( Token / Number / String ) (RFC 3862 section 3.1), and
// returns what follows. On a fault reason says why and at where in s.
func readParams(s string) (params []Param, rest string, reason string, at int) {
	i := 0
	for i < len(s) && s[i] == ';' {
		i++
		j := i
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		if j == i {
			return nil, "", "malformed parameter name", i
		}
		name := s[i:j]
		if j == len(s) || s[j] != '=' {
			return nil, "", fmt.Sprintf("parameter %q without a value", clip(name)), j
		}
		j++
		var val string
		if j < len(s) && s[j] == '"' {
			v, after, ok := readString(s[j:])
			if !ok {
				return nil, "", fmt.Sprintf("parameter %q: unterminated quoted string", clip(name)), j
			}
			val, j = v, len(s)-len(after)
		} else {
			k := j
			for k < len(s) && isTokenChar(s[k]) {
				k++
			}
			if k == j {
				return nil, "", fmt.Sprintf("parameter %q without a value", clip(name)), j
			}
			val, j = s[j:k], k
		}
		params = append(params, Param{Name: name, Value: val})
		i = j
		if i < len(s) && s[i] != ';' && !isSpace(s[i]) {
			return nil, "", fmt.Sprintf("unexpected %q after parameter %q", s[i], clip(name)), i
		}
	}
	return params, s[i:], "", 0
}

// parseDateTime reads an RFC 3339 date-time (RFC 3862 section 4.4). The
// "T" and "Z" may be lower case (RFC 3339 section 5.6). The result carries
// the sender's offset as a fixed zone, whatever the local zone of this
// machine is.
func parseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, err
	}
	if _, off := t.Zone(); off != 0 {
		return t.In(time.FixedZone("", off)), nil
	}
	return t.UTC(), nil
}

// content reads the MIME headers of the encapsulated content, the blank
// line after them and the body. Unlike message headers these follow RFC
// 5322: names are case-insensitive and lines may be folded.
func (p *parser) content(m *Message) error {
	start := p.off
	type field struct {
		Field
		off int
	}
	var fields []field
	for {
		line, at, ended, err := p.line()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		if isSpace(line[0]) {
			if len(fields) == 0 {
				return &ParseError{Offset: at, Reason: "content headers start with a continuation line"}
			}
			if err := p.checkLine(line, at, true); err != nil {
				return err
			}
			// RFC 5322 section 2.2.3: unfolding drops the line break and
			// keeps the white space.
			fields[len(fields)-1].Value += line
		} else {
			if err := p.checkLine(line, at, false); err != nil {
				return err
			}
			if err := p.count(); err != nil {
				return err
			}
			colon := strings.IndexByte(line, ':')
			if colon < 0 || !validFieldName(line[:colon]) {
				return &ParseError{Offset: at, Reason: fmt.Sprintf("malformed content header %q", clip(line))}
			}
			fields = append(fields, field{Field{Name: line[:colon], Value: line[colon+1:]}, at})
		}
		if !ended {
			break // the input ends after the last content header: no body
		}
	}
	for _, f := range fields {
		f.Value = p.text(trimSpace(f.Value))
		if !strings.EqualFold(f.Name, contentType) {
			m.ContentHeaders = append(m.ContentHeaders, f.Field)
			continue
		}
		switch {
		case m.ContentType != "":
			return &ParseError{Offset: f.off, Header: contentType, Reason: "repeated"}
		case !validMediaType(f.Value):
			return &ParseError{Offset: f.off, Header: contentType, Reason: fmt.Sprintf("malformed media type %q", clip(f.Value))}
		}
		m.ContentType = f.Value
	}
	if m.ContentType == "" {
		return &ParseError{Offset: start, Header: contentType, Reason: "missing: the encapsulated content needs one (RFC 3862 section 2.4)"}
	}
	if p.off < len(p.src) {
		m.Body = p.src[p.off:]
	}
	return nil
}
