package cpim

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Names of the IMDN headers within IMDNNamespace (RFC 5438 section 6).
const (
	imdnPrefix      = "imdn"
	imdnMessageID   = "Message-ID"
	imdnDisposition = "Disposition-Notification"
	imdnOriginalTo  = "Original-To"
	imdnRecordRoute = "IMDN-Record-Route"
	imdnRoute       = "IMDN-Route"
)

// Disposition is the set of notifications a sender asks for in
// imdn.Disposition-Notification (RFC 5438 section 6.2).
type Disposition uint8

// The notifications of RFC 5438 section 5.
const (
	// PositiveDelivery asks for a delivery notification on success.
	PositiveDelivery Disposition = 1 << iota
	// NegativeDelivery asks for a delivery notification on failure.
	NegativeDelivery
	// Processing asks for processing notifications from intermediaries.
	Processing
	// Display asks for a notification when the user has seen the message.
	Display
)

// dispositionName returns the token of a single Disposition bit.
func dispositionName(d Disposition) string {
	switch d {
	case PositiveDelivery:
		return "positive-delivery"
	case NegativeDelivery:
		return "negative-delivery"
	case Processing:
		return "processing"
	case Display:
		return "display"
	}
	return ""
}

// String formats d as the header value: "positive-delivery, display".
func (d Disposition) String() string { return dispositionStrings[d&allDispositions] }

// allDispositions are the bits String names.
const allDispositions = PositiveDelivery | NegativeDelivery | Processing | Display

// dispositionStrings are the values String returns, one per set of
// bits: every message asking for notifications carries one.
var dispositionStrings = func() (t [allDispositions + 1]string) {
	for d := range t {
		var parts []string
		for bit := PositiveDelivery; bit <= Display; bit <<= 1 {
			if Disposition(d)&bit != 0 {
				parts = append(parts, dispositionName(bit))
			}
		}
		t[d] = strings.Join(parts, ", ")
	}
	return t
}()

// ParseDisposition reads an imdn.Disposition-Notification value. Tokens it
// does not know, and the parameters after any token, are ignored: RFC 5438
// section 9 lets the list grow.
func ParseDisposition(s string) Disposition {
	var d Disposition
	for _, tok := range strings.Split(s, ",") {
		tok, _, _ = strings.Cut(tok, ";")
		tok = trimSpace(tok)
		for bit := PositiveDelivery; bit <= Display; bit <<= 1 {
			if strings.EqualFold(tok, dispositionName(bit)) {
				d |= bit
			}
		}
	}
	return d
}

// IMDN is what a message says about disposition notifications: its IMDN
// headers (RFC 5438 section 6) and its DateTime, which RFC 5438 section
// 7.1.1.2 makes part of the request.
type IMDN struct {
	// MessageID is imdn.Message-ID: the sender's identifier of the message,
	// globally unique (section 6.3). Notifications quote it.
	MessageID string
	// DateTime is the message's DateTime header.
	DateTime time.Time
	// Disposition is imdn.Disposition-Notification: what the sender asks
	// for.
	Disposition Disposition
	// OriginalTo is imdn.Original-To (section 6.4): the recipient before an
	// intermediary changed it; zero when absent.
	OriginalTo Address
	// RecordRoute lists imdn.IMDN-Record-Route (section 6.5) in order.
	RecordRoute []Address
	// Route lists imdn.IMDN-Route (section 6.6) in order.
	Route []Address
}

// IsZero reports whether i asks for nothing and identifies nothing.
func (i IMDN) IsZero() bool {
	return i.MessageID == "" && i.DateTime.IsZero() && i.Disposition == 0 && i.OriginalTo.IsZero() &&
		len(i.RecordRoute) == 0 && len(i.Route) == 0
}

// Wants reports whether the sender asked for a notification of kind k with
// status s: a positive delivery notification for delivered, a negative one
// for failed, forbidden and error (RFC 5438 section 5.1), and display or
// processing notifications of any status when asked for at all. A status
// the kind does not allow is never wanted.
func (i IMDN) Wants(k Kind, s Status) bool {
	if !k.Allows(s) {
		return false
	}
	switch k {
	case DeliveryNotification:
		if s == StatusDelivered {
			return i.Disposition&PositiveDelivery != 0
		}
		return i.Disposition&NegativeDelivery != 0
	case DisplayNotification:
		return i.Disposition&Display != 0
	case ProcessingNotification:
		return i.Disposition&Processing != 0
	}
	return false
}

// validMessageID reports whether s can be an imdn.Message-ID. RFC 5438
// section 9 makes it a Token, but deployed clients put "@" in it: anything
// without white space or control characters is taken.
func validMessageID(s string) bool {
	if s == "" || checkText(s) != "" {
		return false
	}
	return !strings.ContainsAny(s, " \t")
}

// IMDN returns the IMDN headers of m, found under whatever prefix m binds
// to IMDNNamespace (an undeclared "imdn" prefix counts too). A message
// without any yields the zero IMDN but for DateTime. A malformed or
// repeated IMDN header is a *FieldError.
func (m *Message) IMDN() (IMDN, error) {
	i := IMDN{DateTime: m.DateTime}
	for _, h := range m.Headers {
		if err := m.readIMDN(&i, h); err != nil {
			return IMDN{}, err
		}
	}
	return i, nil
}

// dropBadIMDN leaves out the headers that make IMDN fail, keeping the
// first of a repeated imdn.Message-ID: a tolerant parse keeps what it can
// read.
func (m *Message) dropBadIMDN() {
	var i IMDN
	kept := m.Headers[:0]
	for _, h := range m.Headers {
		if m.readIMDN(&i, h) == nil {
			kept = append(kept, h)
		}
	}
	if len(kept) == 0 {
		kept = nil // as a parse without such headers leaves it
	}
	m.Headers = kept
}

// readIMDN adds h to i when it is an IMDN header. On a fault it returns a
// *FieldError and leaves i as it was.
func (m *Message) readIMDN(i *IMDN, h Header) error {
	fail := func(format string, args ...any) error {
		return &FieldError{Field: h.Name, Reason: fmt.Sprintf(format, args...)}
	}
	prefix, name := h.Split()
	if !strings.EqualFold(m.resolve(prefix), IMDNNamespace) {
		return nil
	}
	switch {
	case strings.EqualFold(name, imdnMessageID):
		if i.MessageID != "" {
			return fail("repeated (RFC 5438 section 6.3)")
		}
		if !validMessageID(h.Value) {
			return fail("malformed %q (RFC 5438 section 6.3)", clip(h.Value))
		}
		i.MessageID = h.Value
	case strings.EqualFold(name, imdnDisposition):
		i.Disposition |= ParseDisposition(h.Value)
	case strings.EqualFold(name, imdnOriginalTo):
		a, reason := parseAddress(h.Value)
		if reason != "" {
			return fail("%s (RFC 5438 section 6.4)", reason)
		}
		i.OriginalTo = a
	case strings.EqualFold(name, imdnRecordRoute), strings.EqualFold(name, imdnRoute):
		a, reason := parseAddress(h.Value)
		if reason != "" {
			return fail("%s", reason)
		}
		if strings.EqualFold(name, imdnRoute) {
			i.Route = append(i.Route, a)
		} else {
			i.RecordRoute = append(i.RecordRoute, a)
		}
	}
	return nil
}

// isIMDNHeader reports whether h is one of the headers SetIMDN owns.
func (m *Message) isIMDNHeader(h Header) bool {
	for _, n := range [...]string{imdnMessageID, imdnDisposition, imdnOriginalTo, imdnRecordRoute, imdnRoute} {
		if m.inNamespace(h.Name, IMDNNamespace, n) {
			return true
		}
	}
	return false
}

// declareIMDN returns the prefix m binds to IMDNNamespace, declaring "imdn"
// with an NS header when there is none (RFC 5438 section 6.1).
func (m *Message) declareIMDN() (string, error) {
	for _, ns := range m.NS {
		if ns.Prefix != "" && strings.EqualFold(ns.URI, IMDNNamespace) {
			return ns.Prefix, nil
		}
	}
	if uri, taken := m.Namespace(imdnPrefix); taken {
		return "", &FieldError{Field: hNS, Reason: fmt.Sprintf("prefix %q is bound to %q", imdnPrefix, clip(uri))}
	}
	m.NS = append(m.NS, Namespace{Prefix: imdnPrefix, URI: IMDNNamespace})
	return imdnPrefix, nil
}

// SetIMDN replaces the IMDN headers of m by those of i, declaring the
// namespace when needed, and sets DateTime when i has one. A sender that
// asks for notifications must identify the message and date it (RFC 5438
// section 7.1.1): a Disposition without MessageID or DateTime is an error,
// and so is anything Validate would reject.
func (m *Message) SetIMDN(i IMDN) error {
	switch {
	case i.MessageID != "" && !validMessageID(i.MessageID):
		return &FieldError{Field: "imdn." + imdnMessageID, Reason: fmt.Sprintf("malformed %q", clip(i.MessageID))}
	case i.Disposition != 0 && i.MessageID == "":
		return &FieldError{Field: "imdn." + imdnMessageID, Reason: "required with Disposition-Notification (RFC 5438 section 7.1.1.1)"}
	case i.Disposition != 0 && i.DateTime.IsZero() && m.DateTime.IsZero():
		return &FieldError{Field: hDateTime, Reason: "required with Disposition-Notification (RFC 5438 section 7.1.1.2)"}
	}
	if !i.OriginalTo.IsZero() {
		if r := i.OriginalTo.check(); r != "" {
			return &FieldError{Field: "imdn." + imdnOriginalTo, Reason: r}
		}
	}
	if err := checkAddresses("imdn."+imdnRecordRoute, i.RecordRoute); err != nil {
		return err
	}
	if err := checkAddresses("imdn."+imdnRoute, i.Route); err != nil {
		return err
	}
	// One allocation for the headers kept and added.
	kept := make([]Header, 0, len(m.Headers)+2+len(i.RecordRoute)+len(i.Route))
	for _, h := range m.Headers {
		if !m.isIMDNHeader(h) {
			kept = append(kept, h)
		}
	}
	prefix, err := m.declareIMDN()
	if err != nil {
		return err
	}
	m.Headers = kept
	add := func(name, value string) {
		m.Headers = append(m.Headers, Header{Name: prefix + "." + name, Value: value})
	}
	// The usual prefix names its headers without a concatenation each.
	if i.MessageID != "" {
		if prefix == imdnPrefix {
			m.Headers = append(m.Headers, Header{Name: imdnPrefix + "." + imdnMessageID, Value: i.MessageID})
		} else {
			add(imdnMessageID, i.MessageID)
		}
	}
	if i.Disposition != 0 {
		if prefix == imdnPrefix {
			m.Headers = append(m.Headers, Header{Name: imdnPrefix + "." + imdnDisposition, Value: i.Disposition.String()})
		} else {
			add(imdnDisposition, i.Disposition.String())
		}
	}
	if !i.OriginalTo.IsZero() {
		add(imdnOriginalTo, i.OriginalTo.String())
	}
	for _, a := range i.RecordRoute {
		add(imdnRecordRoute, a.String())
	}
	for _, a := range i.Route {
		add(imdnRoute, a.String())
	}
	if !i.DateTime.IsZero() {
		m.DateTime = i.DateTime
	}
	return nil
}

// Wrap builds the message/cpim document that carries body of type
// contentType from one party to another, with the IMDN headers of i when i
// is not zero. from and to are URIs or name-addresses as ParseAddress
// reads them.
func Wrap(from, to, contentType string, body []byte, i IMDN) (*Message, error) {
	fa, reason := parseAddress(from)
	if reason != "" {
		return nil, &FieldError{Field: hFrom, Reason: reason}
	}
	ta, reason := parseAddress(to)
	if reason != "" {
		return nil, &FieldError{Field: hTo, Reason: reason}
	}
	m := &Message{From: fa, To: []Address{ta}, ContentType: contentType, Body: body}
	if !i.IsZero() {
		if err := m.SetIMDN(i); err != nil {
			return nil, err
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// NewMessageID returns a fresh imdn.Message-ID: 128 random bits in base32,
// well over the 32 bits of randomness RFC 5438 section 6.3 asks for, and a
// valid Token.
func NewMessageID() string { return rand.Text() }
