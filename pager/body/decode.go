// Package body decodes the bodies of SIP MESSAGE requests (RFC 3428) into
// UTF-8 text: text/plain in any charset golang.org/x/text knows, and
// message/cpim (RFC 3862) around text/plain, keeping the IMDN headers
// (RFC 5438) a later delivery notification needs.
//
// It is a pure codec: no I/O, no goroutines, no logging. The session side
// has a full CPIM/IMDN codec; pager must not depend on it (pager knows
// nothing of MSRP), so this is the small subset a pager MESSAGE needs.
package body

import (
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
)

// The media types a MESSAGE may carry, in the order of an Accept header
// on a 415 (RFC 3261 section 21.4.13).
const (
	TextPlain = "text/plain"
	CPIMType  = "message/cpim"
	// Accept is the Accept header value of a 415.
	Accept = TextPlain + ", " + CPIMType
)

// Content is a decoded MESSAGE body.
type Content struct {
	// Text is the message text in UTF-8.
	Text string
	// MediaType is the media type of the text, without parameters:
	// text/plain (also when it came inside message/cpim).
	MediaType string
	// Charset is the charset the text was in, lower case; "" when none
	// was declared (read as UTF-8, of which US-ASCII is a subset).
	Charset string
	// CPIM is the wrapper when the body was message/cpim, else nil.
	CPIM *CPIM
	// IMDN holds the wrapper's IMDN headers, empty without one.
	IMDN IMDN
}

// Decode reads a body of the given Content-Type. A type other than
// text/plain or message/cpim (or inside message/cpim something other
// than text/plain), an unknown charset or a transfer encoding is an
// *UnsupportedError (415); a malformed Content-Type, CPIM or text is a
// *ParseError (400).
func Decode(contentType string, b []byte) (Content, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Content{}, &ParseError{Offset: -1, Header: "Content-Type", Reason: err.Error()}
	}
	switch mt {
	case TextPlain:
		return decodeText(params["charset"], b)
	case CPIMType:
		return decodeCPIM(b)
	}
	return Content{}, &UnsupportedError{What: "media type", Value: mt}
}

func decodeCPIM(b []byte) (Content, error) {
	c, err := ParseCPIM(b)
	if err != nil {
		return Content{}, err
	}
	if te := get(c.ContentHeaders, "Content-Transfer-Encoding"); te != "" {
		switch strings.ToLower(te) {
		case "7bit", "8bit", "binary":
		default:
			return Content{}, &UnsupportedError{What: "content-transfer-encoding", Value: te}
		}
	}
	ct := c.ContentType()
	if ct == "" {
		return Content{}, &ParseError{Offset: -1, Header: "Content-Type", Reason: "message/cpim content without a Content-Type"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return Content{}, &ParseError{Offset: -1, Header: "Content-Type", Reason: err.Error()}
	}
	if mt != TextPlain {
		return Content{}, &UnsupportedError{What: "media type", Value: CPIMType + " around " + mt}
	}
	out, err := decodeText(params["charset"], c.Body)
	if err != nil {
		return Content{}, err
	}
	out.CPIM = c
	out.IMDN = c.IMDN()
	return out, nil
}

// decodeText converts text in charset to UTF-8. RFC 2046 section 4.1.2
// makes US-ASCII the default; it is read as UTF-8, its superset, which is
// what SIP clients mean when they omit the parameter.
func decodeText(charset string, b []byte) (Content, error) {
	cs := strings.ToLower(strings.TrimSpace(charset))
	out := Content{MediaType: TextPlain, Charset: cs}
	switch cs {
	case "", "utf-8", "utf8", "us-ascii":
		if !utf8.Valid(b) {
			off := 0
			for off < len(b) {
				r, n := utf8.DecodeRune(b[off:])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				off += n
			}
			return Content{}, &ParseError{Offset: off, Reason: "text is not valid utf-8"}
		}
		out.Text = string(b)
		return out, nil
	}
	enc, err := ianaindex.MIME.Encoding(cs)
	if err != nil || enc == nil {
		return Content{}, &UnsupportedError{What: "charset", Value: charset}
	}
	text, err := decodeWith(enc, b)
	if err != nil {
		return Content{}, &ParseError{Offset: 0, Reason: "text is not valid " + cs + ": " + err.Error()}
	}
	out.Text = text
	return out, nil
}

func decodeWith(enc encoding.Encoding, b []byte) (string, error) {
	d, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", err
	}
	// Decoders write U+FFFD for bytes the charset does not define; the
	// text stays valid UTF-8 either way.
	return strings.ToValidUTF8(string(d), "\uFFFD"), nil
}
