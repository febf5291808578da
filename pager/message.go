package pager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"iwf/internal/address"
	"iwf/internal/cpim"
)

// Message is one pager message received over SIP, as the IWF keeps it.
type Message struct {
	// ID is the deduplication key: the same request sent again (a
	// retransmission, a retry after a lost 202) has the same ID. See
	// DedupID.
	ID string
	// Partner names the trunk the message came from.
	Partner string
	// From and To are the normalised sender and recipient; Partner plus
	// both keys the conversation.
	From, To address.Address
	// Text is the message text in UTF-8.
	Text string
	// ContentType is the media type of the MESSAGE body as received:
	// text/plain or message/cpim.
	ContentType string
	// IMDN holds the imdn.Message-ID, Disposition-Notification and
	// DateTime of a message/cpim body (RFC 5438), zero otherwise.
	IMDN cpim.IMDN
	// CPIM is the message/cpim body as received, nil for text/plain: a
	// delivery notification about the message quotes it (RFC 5438
	// section 7.2.1), possibly on another node, after a restart.
	CPIM []byte
	// Notification is set when the body was an IMDN (message/imdn+xml in
	// message/cpim) about a message sent earlier: it reports, it is not a
	// text to relay.
	Notification *cpim.Notification
	// SMS, for a MESSAGE of type application/vnd.3gpp.sms from a trunk
	// with sms_over_ip set, is its RP message; To is then the recipient
	// its SMS-SUBMIT names, Text empty.
	SMS *SMSOverIP
	// CallID, CSeq and FromTag identify the SIP request.
	CallID  string
	CSeq    uint32
	FromTag string
	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time
}

// DedupID is the ID of a request: a digest of partner, Call-ID, CSeq
// number and From tag. RFC 3261 section 8.2.2.2 identifies a request
// by the From tag, Call-ID and CSeq; the partner keeps two partners'
// equal values apart. A fixed-length hex string suits a Redis key.
func DedupID(partner, callID string, cseq uint32, fromTag string) string {
	h := sha256.New()
	for _, s := range []string{partner, callID, strconv.FormatUint(uint64(cseq), 10), fromTag} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Store is where an inbound MESSAGE is handed over before it is answered.
// The interwork side implements it on Redis; pagertest has a fake.
type Store interface {
	// Accept queues m durably, or returns an error matching ErrDuplicate
	// when a message with m.ID was accepted before. The MESSAGE is
	// answered 202 only after Accept returns nil or ErrDuplicate; an
	// error with a SIPStatus() int method chooses the failure answer
	// (*StatusError), any other is answered 500. The answer's Warning
	// carries no error text of the Store's, which may name hosts or
	// carry Go errors, unless the error has a SIPWarning() string method
	// that gives a text meant for peers ("partner rate limit").
	Accept(ctx context.Context, m *Message) error
}
