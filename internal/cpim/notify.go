package cpim

import (
	"fmt"
	"time"
)

// contentDisposition values the IMDN rules use.
const (
	contentDisposition = "Content-Disposition"
	// dispositionNotification marks a notification body (RFC 5438 section
	// 7.2.1): recipients must not answer it with notifications of their
	// own.
	dispositionNotification = "notification"
)

// NewNotification returns the notification of kind k and status s about
// the message orig, as its recipient builds it (RFC 5438 section 7.2.1): it
// quotes orig's imdn.Message-ID and DateTime, names orig's first To as the
// recipient, and imdn.Original-To, or else the same recipient, as the
// original recipient (the schema has the two together). It fails with
// ErrNoMessageID when orig carries no imdn.Message-ID.
func NewNotification(orig *Message, k Kind, s Status) (Notification, error) {
	i, err := orig.IMDN()
	if err != nil {
		return Notification{}, err
	}
	if i.MessageID == "" {
		return Notification{}, ErrNoMessageID
	}
	if orig.DateTime.IsZero() {
		return Notification{}, &FieldError{Field: hDateTime, Reason: "missing: a notification quotes it (RFC 5438 section 7.1.1.2)"}
	}
	n := Notification{MessageID: i.MessageID, DateTime: orig.DateTime, Kind: k, Status: s}
	if len(orig.To) > 0 {
		n.RecipientURI = orig.To[0].URI
		n.OriginalRecipientURI = n.RecipientURI
		if !i.OriginalTo.IsZero() {
			n.OriginalRecipientURI = i.OriginalTo.URI
		}
	}
	if err := n.Validate(); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// NotificationMessage builds the message/cpim document that carries n back
// to the sender of orig (RFC 5438 section 7.2.1): From is orig's first
// recipient (or n.RecipientURI when orig names none); To is orig's sender,
// or the first imdn.IMDN-Record-Route when intermediaries asked to see the
// notification, and every IMDN-Record-Route is copied to an IMDN-Route in
// order (sections 6.5 and 6.6). It carries its own imdn.Message-ID
// messageID, DateTime now (left out when zero), Content-Type
// message/imdn+xml and Content-Disposition: notification, and asks for no
// notification in turn.
func NotificationMessage(orig *Message, n Notification, messageID string, now time.Time) (*Message, error) {
	body, err := n.Marshal()
	if err != nil {
		return nil, err
	}
	i, err := orig.IMDN()
	if err != nil {
		return nil, err
	}
	m := &Message{
		DateTime:       now,
		ContentType:    NotificationType,
		ContentHeaders: []Field{{Name: contentDisposition, Value: dispositionNotification}},
		Body:           body,
	}
	switch {
	case len(orig.To) > 0:
		m.From = orig.To[0]
	case n.RecipientURI != "":
		m.From = Address{URI: n.RecipientURI}
	default:
		return nil, &FieldError{Field: hFrom, Reason: "no recipient to report as"}
	}
	switch {
	case len(i.RecordRoute) > 0:
		m.To = []Address{i.RecordRoute[0]}
	case !orig.From.IsZero():
		m.To = []Address{orig.From}
	default:
		return nil, &FieldError{Field: hTo, Reason: "the message has no sender to notify"}
	}
	if messageID == "" {
		return nil, &FieldError{Field: "imdn." + imdnMessageID, Reason: "required: a notification is a message of its own (RFC 5438 section 7.2.1)"}
	}
	if err := m.SetIMDN(IMDN{MessageID: messageID, Route: i.RecordRoute}); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// IsNotification reports whether m carries an IMDN: its content is
// message/imdn+xml.
func (m *Message) IsNotification() bool { return m.MediaType() == NotificationType }

// Notification reads the content of m as an IMDN. It fails with an error
// wrapping ErrNotNotification when the content is of another type.
func (m *Message) Notification() (Notification, error) {
	if !m.IsNotification() {
		return Notification{}, &NotificationError{
			Reason: fmt.Sprintf("content type %q, want %s", clip(m.ContentType), NotificationType),
			Err:    ErrNotNotification,
		}
	}
	return ParseNotification(m.Body)
}
