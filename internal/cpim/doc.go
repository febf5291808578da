// Package cpim encodes and decodes message/cpim (RFC 3862) and the Instant
// Message Disposition Notifications carried in it (RFC 5438).
//
// The IWF wraps pager text in message/cpim for MSRP SEND with IMDN headers
// (Wrap), unwraps message/cpim arriving on SIP MESSAGE and MSRP (Parse), and
// turns SMS delivery receipts into message/imdn+xml delivery notifications
// and back (Notification, NewNotification, NotificationMessage).
//
// It is a pure codec: bytes in, typed values out, and back. It opens no
// socket, starts no goroutine and logs nothing.
//
// # Wire rules
//
// Output uses CRLF line ends, one header a line, a single space after the
// colon, names in their registered case, DateTime in RFC 3339 with a
// numeric UTC offset, and RFC 3862 section 2.3 escapes for control
// characters and the backslash. Input is read liberally where that loses
// nothing: bare LF line ends, no space or several after the colon, core
// header names in any case, a body without a blank line before it when it
// is empty. Everything else that breaks the RFC 3862 grammar is rejected
// with a *ParseError naming the header and byte offset, and the header part
// is bounded (ParseOptions) when ParseStrict reads it. Parse reads further
// still, as ParseOptions.Tolerant, for a recipient that needs only the
// content and the IMDN headers, as both sides of the IWF are: message
// headers it cannot read are left out, never a reason to refuse a message.
//
// # Namespaces
//
// Extension headers such as imdn.Message-ID are kept as Header values in
// order. Their prefix means nothing by itself: it is resolved through the
// NS declarations (RFC 3862 section 3.4), so that foo.Message-ID under
// "NS: foo <urn:ietf:params:imdn>" is an IMDN Message-ID too. The IMDN
// accessors (Message.IMDN, Message.SetIMDN) do that resolution.
package cpim
