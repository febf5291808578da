// Package pager is the IWF's pager mode over SIP: MESSAGE requests (RFC
// 3428) in from partner trunks and out to them, the common pager message
// type, and the trunk table that says who may send, who owns which
// numbers and domains, and each partner's limits.
//
// Subpackages:
//
//   - pager/split cuts a text into parts that fit a limit (SIP bytes, SMS
//     septets or UCS-2 units), shared by every pager-side delivery.
//   - internal/address normalises sip:, sips:, tel: URIs and bare numbers
//     into the key conversations use.
//   - pager/body decodes MESSAGE bodies: text/plain in any charset,
//     message/cpim (read by internal/cpim) with its IMDN headers.
//   - internal/sipstack builds the process's one sipgo user agent and server
//     and its listeners; session registers INVITE/ACK/BYE/CANCEL on the
//     same server.
//   - pager/pagertest has a fake Store and a scripted partner for tests.
//
// # Inbound
//
// Inbound.Register installs the MESSAGE handler. A request is checked in
// this order, each failure answered at once: the process is draining (503
// with Retry-After), the source address belongs to no trunk (403), From,
// To, Call-ID or CSeq missing or the From tag absent (400), a Request-URI
// scheme other than sip, sips or tel (416), a Require header (420 with
// Unsupported), a content coding (415 with Accept-Encoding), a body over
// the trunk's max_body_bytes (413), an empty body or one without
// Content-Type (400), a media type other than text/plain or message/cpim
// (around text/plain or an IMDN, message/imdn+xml) or an unknown charset
// (415 with Accept), an undecodable body or identity (400). An IMDN comes
// to the Store as a Message with Notification set. The message is then handed to the Store and answered 202 Accepted
// only once Accept has returned. The deduplication key is the partner, the
// Call-ID, the CSeq number and the From tag: a copy is answered 202 without
// a second Accept (a node-local memory, plus the Store's ErrDuplicate
// across nodes). Every failure answer carries a Warning (399) saying why
// in our words, never the text of an internal error (a Store's error
// can name a Redis address).
//
// # Outbound
//
// Sender.Send sends one MESSAGE to the partner's next hop over the trunk's
// transport, switching a UDP request over 1300 bytes to TCP (RFC 3261
// section 18.1.1), and retries on timeout, transport error, 408, 5xx and
// 503 (after its Retry-After), per the trunk's RetryPolicy; the Result
// says delivered, rejected (with the status), timeout or failed.
// Sender.SendText first applies the trunk's overflow policy. A trunk of
// ProfileCPM (the RCS side's) sends OMA CPM standalone messages instead:
// message/cpim with the IMDN headers and the CPM ICSI, never split; a text
// too large for one is a *BodyTooLargeError for the caller to send in
// Large Message Mode, which is session business, not the pager's.
package pager
