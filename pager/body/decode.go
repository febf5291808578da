// Package body decodes the bodies of SIP MESSAGE requests (RFC 3428) into
// UTF-8 text: text/plain in any charset golang.org/x/text knows, and
// message/cpim (RFC 3862) around text/plain, keeping the IMDN headers
// (RFC 5438) a later delivery notification needs, or around
// message/imdn+xml: a disposition notification about a message we sent
// (OMA CPM standalone messaging sends them as pager-mode MESSAGEs).
//
// It is a pure codec: no I/O, no goroutines, no logging. message/cpim is
// read by the IWF's one CPIM/IMDN codec, internal/cpim, in its tolerant
// mode; this package adds the charsets and maps every fault to the answer
// a MESSAGE gets.
package body

import (
	"errors"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"

	"iwf/internal/cpim"
)

// The media types a MESSAGE may carry, in the order of an Accept header
// on a 415 (RFC 3261 section 21.4.13).
const (
	TextPlain = "text/plain"
	CPIMType  = "message/cpim"
	// Accept is the Accept header value of a 415.
	Accept = TextPlain + ", " + CPIMType
)

// Bounds of a message/cpim header part: a MESSAGE body is small (RFC 3428
// section 8), and the bounds keep a hostile one from costing more than its
// size.
const (
	maxCPIMHeaderBytes = 4096
	maxCPIMHeaders     = 64
)

// cpimOptions is how Decode reads message/cpim: tolerant, because pager
// clients write envelopes (From, DateTime, ...) that break RFC 3862 in
// ways that do not matter to the IWF, which relays only the content and
// the IMDN headers.
func cpimOptions() cpim.ParseOptions {
	return cpim.ParseOptions{MaxHeaderBytes: maxCPIMHeaderBytes, MaxHeaders: maxCPIMHeaders, Tolerant: true}
}

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
	// CPIM is the wrapper when the body was message/cpim, else nil. Its
	// Body aliases the input.
	CPIM *cpim.Message
	// IMDN holds the wrapper's IMDN headers and DateTime, zero without a
	// wrapper.
	IMDN cpim.IMDN
	// Notification is the IMDN document when the wrapper carried
	// message/imdn+xml (MediaType says so too); Text is then empty.
	Notification *cpim.Notification
}

// Decode reads a body of the given Content-Type. A type other than
// text/plain or message/cpim (or inside message/cpim something other
// than text/plain), an unknown charset or a transfer encoding is an
// *UnsupportedError (415); a malformed Content-Type, CPIM or text is a
// *ParseError (400).
func Decode(contentType string, b []byte) (Content, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Content{}, &ParseError{Offset: -1, Header: "Content-Type", Reason: err.Error(), Err: err}
	}
	switch mt {
	case TextPlain:
		return decodeText(params["charset"], b)
	case CPIMType:
		return decodeCPIM(b, cpimOptions())
	}
	return Content{}, &UnsupportedError{What: "media type", Value: mt}
}

func decodeCPIM(b []byte, o cpim.ParseOptions) (Content, error) {
	m, err := o.Parse(b)
	if err != nil {
		return Content{}, cpimError(err)
	}
	if te := m.ContentHeader("Content-Transfer-Encoding"); te != "" {
		switch strings.ToLower(te) {
		case "7bit", "8bit", "binary":
		default:
			return Content{}, &UnsupportedError{What: "content-transfer-encoding", Value: te}
		}
	}
	// The codec lets broken media type parameters through (it routes on
	// the type); the charset is one, so they are an error here.
	mt, params, err := mime.ParseMediaType(m.ContentType)
	if err != nil {
		return Content{}, &ParseError{Offset: -1, Header: "Content-Type", Reason: err.Error(), Err: err}
	}
	if mt == cpim.NotificationType {
		return decodeNotification(m)
	}
	if mt != TextPlain {
		return Content{}, &UnsupportedError{What: "media type", Value: CPIMType + " around " + mt}
	}
	out, err := decodeText(params["charset"], m.Body)
	if err != nil {
		return Content{}, err
	}
	i, err := m.IMDN()
	if err != nil {
		// Not after a tolerant parse, which leaves such headers out.
		return Content{}, cpimError(err)
	}
	out.CPIM, out.IMDN = m, i
	return out, nil
}

// decodeNotification reads the IMDN document a message/cpim wrapper
// carries (RFC 5438 section 7.2.1.1).
func decodeNotification(m *cpim.Message) (Content, error) {
	n, err := m.Notification()
	if err != nil {
		return Content{}, &ParseError{Offset: -1, Reason: "imdn: " + err.Error(), Err: err}
	}
	i, err := m.IMDN()
	if err != nil {
		return Content{}, cpimError(err)
	}
	return Content{MediaType: cpim.NotificationType, CPIM: m, IMDN: i, Notification: &n}, nil
}

// cpimError turns a fault the CPIM codec found into a *ParseError: a
// MESSAGE whose message/cpim cannot be read is answered 400, also when its
// header part is over the bounds (413 is for the body as a whole, which
// the trunk bounds).
func cpimError(err error) error {
	pe := &ParseError{Offset: -1, Reason: err.Error(), Err: err}
	var ce *cpim.ParseError
	if errors.As(err, &ce) {
		pe.Offset, pe.Header, pe.Reason = ce.Offset, ce.Header, ce.Reason
	}
	return pe
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
