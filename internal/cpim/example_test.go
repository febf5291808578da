package cpim_test

import (
	"fmt"
	"strings"
	"time"

	"iwf/internal/cpim"
)

// show prints a document with its CRLF line ends as plain newlines.
func show(b []byte) { fmt.Println(strings.ReplaceAll(string(b), "\r\n", "\n")) }

// Wrap an SMS text for an MSRP SEND, asking for delivery notifications.
func ExampleWrap() {
	m, err := cpim.Wrap("tel:+15551234567", `"Bob" <sip:bob@rcs.example.com>`, "text/plain; charset=utf-8",
		[]byte("Hello from SMS"), cpim.IMDN{
			MessageID:   "Gz0cXvK1hN",
			DateTime:    time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
			Disposition: cpim.PositiveDelivery | cpim.NegativeDelivery,
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := m.Marshal()
	show(b)
	// Output:
	// From: <tel:+15551234567>
	// To: "Bob" <sip:bob@rcs.example.com>
	// DateTime: 2024-03-01T10:00:00+00:00
	// NS: imdn <urn:ietf:params:imdn>
	// imdn.Message-ID: Gz0cXvK1hN
	// imdn.Disposition-Notification: positive-delivery, negative-delivery
	//
	// Content-Type: text/plain; charset=utf-8
	//
	// Hello from SMS
}

// Unwrap a message/cpim body received in a SIP MESSAGE or MSRP SEND.
func ExampleParse() {
	body := "From: Alice <im:alice@example.com>\r\n" +
		"To: Bob <im:bob@example.com>\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\n" +
		"imdn.Message-ID: 34jk324j\r\n" +
		"DateTime: 2006-04-04T12:16:49-05:00\r\n" +
		"imdn.Disposition-Notification: positive-delivery, negative-delivery\r\n" +
		"\r\n" +
		"Content-type: text/plain\r\n" +
		"\r\n" +
		"Hello World"
	m, err := cpim.Parse([]byte(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	i, err := m.IMDN()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.From.Name, m.From.URI, "->", m.To[0].URI)
	fmt.Println(m.MediaType(), string(m.Body))
	fmt.Println(i.MessageID, i.DateTime.UTC(), i.Disposition)
	fmt.Println("delivered wanted:", i.Wants(cpim.DeliveryNotification, cpim.StatusDelivered))
	fmt.Println("displayed wanted:", i.Wants(cpim.DisplayNotification, cpim.StatusDisplayed))
	// Output:
	// Alice im:alice@example.com -> im:bob@example.com
	// text/plain Hello World
	// 34jk324j 2006-04-04 17:16:49 +0000 UTC positive-delivery, negative-delivery
	// delivered wanted: true
	// displayed wanted: false
}

// ParseStrict reports where the input is wrong.
func ExampleParseStrict() {
	_, err := cpim.ParseStrict([]byte("From: <sip:a@example.com>\r\nDateTime: yesterday\r\n\r\nContent-Type: text/plain\r\n\r\n"))
	fmt.Println(err)
	// Output:
	// cpim: header DateTime at byte 27: not an RFC 3339 date-time: "yesterday"
}

// Parse keeps a chat message whose optional headers are malformed, and
// leaves those headers out.
func ExampleParse_malformedOptionalHeaders() {
	m, err := cpim.Parse([]byte("From: <sip:a@example.com>\r\n" +
		"DateTime: 2024-03-01T10:00:00+0100\r\n" +
		"NS: imdn\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\n" +
		"imdn.Message-ID: 34jk324j\r\n" +
		"\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	i, _ := m.IMDN()
	fmt.Println(m.From.URI, m.DateTime.IsZero(), len(m.NS), i.MessageID, string(m.Body))
	// Output:
	// sip:a@example.com true 1 34jk324j Hello
}

// Answer a message with a delivery notification once the SMS side has
// confirmed delivery.
func ExampleNotificationMessage() {
	orig, _ := cpim.Parse([]byte("From: <sip:alice@rcs.example.com>\r\n" +
		"To: <tel:+15551234567>\r\n" +
		"DateTime: 2024-03-01T10:00:00Z\r\n" +
		"NS: imdn <urn:ietf:params:imdn>\r\n" +
		"imdn.Message-ID: Gz0cXvK1hN\r\n" +
		"imdn.Disposition-Notification: positive-delivery\r\n" +
		"\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Hi"))
	n, err := cpim.NewNotification(orig, cpim.DeliveryNotification, cpim.StatusDelivered)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := cpim.NotificationMessage(orig, n, "r9Q2xk", time.Date(2024, 3, 1, 10, 0, 5, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := m.Marshal()
	show(b)
	// Output:
	// From: <tel:+15551234567>
	// To: <sip:alice@rcs.example.com>
	// DateTime: 2024-03-01T10:00:05+00:00
	// NS: imdn <urn:ietf:params:imdn>
	// imdn.Message-ID: r9Q2xk
	//
	// Content-Type: message/imdn+xml
	// Content-Disposition: notification
	//
	// <?xml version="1.0" encoding="UTF-8"?>
	// <imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>Gz0cXvK1hN</message-id><datetime>2024-03-01T10:00:00+00:00</datetime><recipient-uri>tel:+15551234567</recipient-uri><original-recipient-uri>tel:+15551234567</original-recipient-uri><delivery-notification><status><delivered></delivered></status></delivery-notification></imdn>
}

// Read a notification and map it back to an SMS delivery receipt state.
func ExampleParseNotification() {
	n, err := cpim.ParseNotification([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
  <message-id>34jk324j</message-id>
  <datetime>2008-04-04T12:16:49-05:00</datetime>
  <display-notification><status><displayed/></status></display-notification>
</imdn>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.MessageID, n.Kind, n.Status)
	_, err = cpim.ParseNotification([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`))
	fmt.Println(err)
	// Output:
	// 34jk324j display-notification displayed
	// cpim: imdn: root element <presence> in namespace "urn:ietf:params:xml:ns:pidf", want <imdn> in "urn:ietf:params:xml:ns:imdn"
}

// Extension headers are found through their namespace, whatever prefix
// the sender chose.
func ExampleMessage_Get() {
	m, _ := cpim.Parse([]byte("NS: foo <urn:ietf:params:imdn>\r\n" +
		"foo.Message-ID: abc123\r\n" +
		"\r\n" +
		"Content-Type: text/plain\r\n\r\n"))
	id, _ := m.Get(cpim.IMDNNamespace, "Message-ID")
	i, _ := m.IMDN()
	fmt.Println(id, i.MessageID)
	// Output:
	// abc123 abc123
}
