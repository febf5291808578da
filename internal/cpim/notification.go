package cpim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The message/imdn+xml format (RFC 5438, "IMDN Format" and its XML schema).
const (
	// NotificationNamespace is the XML namespace of an IMDN document.
	NotificationNamespace = "urn:ietf:params:xml:ns:imdn"
	// NotificationType is the media type of an IMDN body.
	NotificationType = "message/imdn+xml"
	// MaxNotificationBytes bounds the body ParseNotification reads: a
	// notification is a few hundred bytes.
	MaxNotificationBytes = 16 << 10
)

// Kind is the kind of a notification: the element that holds its status.
type Kind uint8

// The notification kinds of RFC 5438 section 5.
const (
	DeliveryNotification Kind = iota + 1
	DisplayNotification
	ProcessingNotification
)

// String returns the element name: "delivery-notification", ...
func (k Kind) String() string {
	switch k {
	case DeliveryNotification:
		return "delivery-notification"
	case DisplayNotification:
		return "display-notification"
	case ProcessingNotification:
		return "processing-notification"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Status is the disposition a notification reports.
type Status uint8

// The statuses of the RFC 5438 schema.
const (
	StatusDelivered Status = iota + 1
	StatusFailed
	StatusForbidden
	StatusError
	StatusDisplayed
	StatusProcessed
	StatusStored
)

// String returns the element name: "delivered", "failed", ...
func (s Status) String() string {
	switch s {
	case StatusDelivered:
		return "delivered"
	case StatusFailed:
		return "failed"
	case StatusForbidden:
		return "forbidden"
	case StatusError:
		return "error"
	case StatusDisplayed:
		return "displayed"
	case StatusProcessed:
		return "processed"
	case StatusStored:
		return "stored"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// parseStatus maps an element name to its Status, 0 when unknown.
func parseStatus(local string) Status {
	for s := StatusDelivered; s <= StatusStored; s++ {
		if s.String() == local {
			return s
		}
	}
	return 0
}

// Allows reports whether a notification of kind k may report s: the
// schema gives delivery notifications delivered, failed, forbidden and
// error; display notifications displayed, forbidden and error; processing
// notifications processed, stored, forbidden and error.
func (k Kind) Allows(s Status) bool {
	switch s {
	case StatusForbidden, StatusError:
		return k >= DeliveryNotification && k <= ProcessingNotification
	case StatusDelivered, StatusFailed:
		return k == DeliveryNotification
	case StatusDisplayed:
		return k == DisplayNotification
	case StatusProcessed, StatusStored:
		return k == ProcessingNotification
	}
	return false
}

// Notification is an IMDN document, the body of type message/imdn+xml.
// Extension elements from other namespaces are skipped when read and not
// kept.
type Notification struct {
	// MessageID is the imdn.Message-ID of the message reported on.
	MessageID string
	// DateTime is the DateTime of the message reported on, not the time of
	// the notification.
	DateTime time.Time
	// RecipientURI is the recipient that reports; may be empty.
	RecipientURI string
	// OriginalRecipientURI is the recipient the sender addressed, before
	// any intermediary changed it; may be empty.
	OriginalRecipientURI string
	// Subject is the subject of the message reported on; may be empty.
	Subject string
	// Kind is the kind of notification.
	Kind Kind
	// Status is the disposition reported; Kind must allow it.
	Status Status
}

// Validate reports the first field that Marshal cannot write so that
// ParseNotification reads it back the same.
func (n Notification) Validate() error {
	for _, f := range [...]struct{ name, value string }{
		{"message-id", n.MessageID}, {"recipient-uri", n.RecipientURI}, {"original-recipient-uri", n.OriginalRecipientURI},
	} {
		if f.value != strings.TrimSpace(f.value) || !xmlText(f.value) {
			return &FieldError{Field: f.name, Reason: fmt.Sprintf("white space around it or a character XML cannot carry in %q", clip(f.value))}
		}
	}
	switch y := n.DateTime.Year(); {
	case n.MessageID == "":
		return &FieldError{Field: "message-id", Reason: "missing"}
	case n.DateTime.IsZero():
		return &FieldError{Field: "datetime", Reason: "missing"}
	case y < 0 || y > 9999:
		return &FieldError{Field: "datetime", Reason: "year outside 0000-9999 (RFC 3339)"}
	case !xmlText(n.Subject):
		return &FieldError{Field: "subject", Reason: "a character XML cannot carry"}
	case !n.Kind.Allows(n.Status):
		return &FieldError{Field: "status", Reason: fmt.Sprintf("%v does not report %v", n.Kind, n.Status)}
	}
	return nil
}

// xmlText reports whether s is UTF-8 made of XML 1.0 Chars (section 2.2 of
// the XML recommendation): encoding/xml would replace the others.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xd7ff ||
			r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
		if !ok {
			return false
		}
	}
	return true
}

// The shape written: children inherit the default namespace of the root.
type imdnOut struct {
	XMLName              xml.Name   `xml:"urn:ietf:params:xml:ns:imdn imdn"`
	MessageID            string     `xml:"message-id"`
	DateTime             string     `xml:"datetime"`
	RecipientURI         string     `xml:"recipient-uri,omitempty"`
	OriginalRecipientURI string     `xml:"original-recipient-uri,omitempty"`
	Subject              string     `xml:"subject,omitempty"`
	Delivery             *statusOut `xml:"delivery-notification"`
	Display              *statusOut `xml:"display-notification"`
	Processing           *statusOut `xml:"processing-notification"`
}

type statusOut struct {
	Status struct{ Value element } `xml:"status"`
}

// element is an element known by its name only: a status value when
// written, anything when read.
type element struct{ XMLName xml.Name }

// Marshal encodes n as a message/imdn+xml body, UTF-8 with an XML
// declaration.
func (n Notification) Marshal() ([]byte, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	out := imdnOut{
		MessageID:            n.MessageID,
		DateTime:             n.DateTime.Format(dateTimeLayout),
		RecipientURI:         n.RecipientURI,
		OriginalRecipientURI: n.OriginalRecipientURI,
		Subject:              n.Subject,
	}
	st := &statusOut{}
	st.Status.Value.XMLName.Local = n.Status.String()
	switch n.Kind {
	case DeliveryNotification:
		out.Delivery = st
	case DisplayNotification:
		out.Display = st
	default:
		out.Processing = st
	}
	b := append(make([]byte, 0, 384), xml.Header...)
	w := bytes.NewBuffer(b)
	if err := xml.NewEncoder(w).Encode(out); err != nil {
		return nil, fmt.Errorf("cpim: imdn: %w", err)
	}
	return w.Bytes(), nil
}

// The shape read: every IMDN element qualified by the namespace, so that
// same-named elements of extensions fall to Other; repeated elements are
// collected to be refused.
type imdnIn struct {
	MessageID            []string   `xml:"urn:ietf:params:xml:ns:imdn message-id"`
	DateTime             []string   `xml:"urn:ietf:params:xml:ns:imdn datetime"`
	RecipientURI         []string   `xml:"urn:ietf:params:xml:ns:imdn recipient-uri"`
	OriginalRecipientURI []string   `xml:"urn:ietf:params:xml:ns:imdn original-recipient-uri"`
	Subject              []string   `xml:"urn:ietf:params:xml:ns:imdn subject"`
	Delivery             []statusIn `xml:"urn:ietf:params:xml:ns:imdn delivery-notification"`
	Display              []statusIn `xml:"urn:ietf:params:xml:ns:imdn display-notification"`
	Processing           []statusIn `xml:"urn:ietf:params:xml:ns:imdn processing-notification"`
	Other                []element  `xml:",any"`
}

type statusIn struct {
	Status []struct {
		Values []element `xml:",any"`
	} `xml:"urn:ietf:params:xml:ns:imdn status"`
	Other []element `xml:",any"`
}

// ParseNotification reads a message/imdn+xml body. A document whose root is
// not <imdn> in NotificationNamespace fails with an error wrapping
// ErrNotNotification; any other fault is a *NotificationError naming the
// element, or a *LimitError beyond MaxNotificationBytes.
func ParseNotification(b []byte) (Notification, error) {
	return parseNotification(b, MaxNotificationBytes)
}

func parseNotification(b []byte, limit int) (Notification, error) {
	if len(b) > limit {
		return Notification{}, &LimitError{What: "notification bytes", Limit: limit}
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.CharsetReader = asciiReader
	root, err := rootElement(d)
	if err != nil {
		return Notification{}, err
	}
	if root.Name.Space != NotificationNamespace || root.Name.Local != "imdn" {
		return Notification{}, &NotificationError{
			Reason: fmt.Sprintf("root element <%s> in namespace %q, want <imdn> in %q",
				clip(root.Name.Local), clip(root.Name.Space), NotificationNamespace),
			Err: ErrNotNotification,
		}
	}
	var in imdnIn
	if err := d.DecodeElement(&in, &root); err != nil {
		return Notification{}, &NotificationError{Reason: "malformed XML", Err: err}
	}
	if err := afterRoot(d); err != nil {
		return Notification{}, err
	}
	return in.notification()
}

// asciiReader lets a document declared US-ASCII through (it is UTF-8);
// encoding/xml refuses every declared encoding but UTF-8 without one.
func asciiReader(label string, r io.Reader) (io.Reader, error) {
	if strings.EqualFold(label, "us-ascii") || strings.EqualFold(label, "ascii") {
		return r, nil
	}
	return nil, fmt.Errorf("encoding %q not supported", label)
}

// rootElement reads up to the root element, letting through the XML
// declaration, comments, processing instructions and white space. A
// DOCTYPE is refused: an IMDN has none, and entity declarations are a
// door for expansion attacks.
func rootElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		switch {
		case errors.Is(err, io.EOF):
			return xml.StartElement{}, &NotificationError{Reason: "no root element", Err: ErrNotNotification}
		case err != nil:
			return xml.StartElement{}, &NotificationError{Reason: "malformed XML", Err: err}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.Directive:
			return xml.StartElement{}, &NotificationError{Reason: "directive (DOCTYPE) not allowed"}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, &NotificationError{Reason: "text before the root element", Err: ErrNotNotification}
			}
		}
	}
}

// afterRoot checks that nothing but comments, processing instructions and
// white space follows the root element.
func afterRoot(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return &NotificationError{Reason: "malformed XML after the root element", Err: err}
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &NotificationError{Reason: "text after the root element"}
			}
		default:
			return &NotificationError{Reason: "content after the root element"}
		}
	}
}

// single returns the only value of an element that may appear once.
func single(name string, vals []string, required bool) (string, error) {
	switch {
	case len(vals) > 1:
		return "", &NotificationError{Element: name, Reason: "repeated"}
	case len(vals) == 1:
		return vals[0], nil
	case required:
		return "", &NotificationError{Element: name, Reason: "missing"}
	}
	return "", nil
}

// notification checks what was read against the schema and converts it.
func (in *imdnIn) notification() (Notification, error) {
	var n Notification
	for _, o := range in.Other {
		if o.XMLName.Space == NotificationNamespace {
			return n, &NotificationError{Element: clip(o.XMLName.Local), Reason: "unknown element"}
		}
	}
	var err error
	fields := [...]struct {
		name     string
		vals     []string
		dst      *string
		required bool
	}{
		{"message-id", in.MessageID, &n.MessageID, true},
		{"recipient-uri", in.RecipientURI, &n.RecipientURI, false},
		{"original-recipient-uri", in.OriginalRecipientURI, &n.OriginalRecipientURI, false},
		{"subject", in.Subject, &n.Subject, false},
	}
	for _, f := range fields {
		if *f.dst, err = single(f.name, f.vals, f.required); err != nil {
			return Notification{}, err
		}
		if f.name != "subject" {
			// Identifiers and URIs hold no white space: what surrounds
			// them is indentation.
			*f.dst = strings.TrimSpace(*f.dst)
		}
	}
	if n.MessageID == "" {
		return Notification{}, &NotificationError{Element: "message-id", Reason: "empty"}
	}
	dt, err := single("datetime", in.DateTime, true)
	if err != nil {
		return Notification{}, err
	}
	if n.DateTime, err = parseDateTime(strings.TrimSpace(dt)); err != nil {
		return Notification{}, &NotificationError{Element: "datetime", Reason: fmt.Sprintf("not an RFC 3339 date-time: %q", clip(dt))}
	}
	if n.Kind, n.Status, err = in.disposition(); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// disposition finds the one notification element and its one status.
func (in *imdnIn) disposition() (Kind, Status, error) {
	var (
		kind  Kind
		found []statusIn
	)
	for _, c := range [...]struct {
		k    Kind
		list []statusIn
	}{{DeliveryNotification, in.Delivery}, {DisplayNotification, in.Display}, {ProcessingNotification, in.Processing}} {
		if k, list := c.k, c.list; len(list) > 0 {
			if found != nil || len(list) > 1 {
				return 0, 0, &NotificationError{Reason: "more than one notification element"}
			}
			kind, found = k, list
		}
	}
	if found == nil {
		return 0, 0, &NotificationError{Reason: "no delivery-, display- or processing-notification element"}
	}
	holder := found[0]
	for _, o := range holder.Other {
		if o.XMLName.Space == NotificationNamespace {
			return 0, 0, &NotificationError{Element: clip(o.XMLName.Local), Reason: "unknown element in <" + kind.String() + ">"}
		}
	}
	if len(holder.Status) != 1 {
		return 0, 0, &NotificationError{Element: "status", Reason: fmt.Sprintf("%d in <%v>, want one", len(holder.Status), kind)}
	}
	var status Status
	for _, v := range holder.Status[0].Values {
		if v.XMLName.Space != NotificationNamespace {
			continue // an extension status value
		}
		s := parseStatus(v.XMLName.Local)
		switch {
		case s == 0 || !kind.Allows(s):
			return 0, 0, &NotificationError{Element: "status", Reason: fmt.Sprintf("<%s> is not a status of <%v>", clip(v.XMLName.Local), kind)}
		case status != 0:
			return 0, 0, &NotificationError{Element: "status", Reason: "more than one value"}
		}
		status = s
	}
	if status == 0 {
		return 0, 0, &NotificationError{Element: "status", Reason: "empty"}
	}
	return kind, status, nil
}
