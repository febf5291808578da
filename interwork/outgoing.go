package interwork

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"iwf/session/msrpsdp"
)

// The content types a text goes into a session as.
const (
	typeCPIM = "message/cpim"
	typeText = "text/plain"
	// typeTextUTF8 is what the text inside CPIM, or bare, is labelled.
	typeTextUTF8 = "text/plain;charset=UTF-8"
)

// msrpMessageID is the MSRP Message-ID a message with id goes with. RFC
// 4975 section 9 makes it an ident:
//
//	Message-ID = "Message-ID:" SP ident
//	ident      = ALPHANUM 3*31ident-char
//	ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
//
// An id that is one already (ours are) goes as it is. Any other (a UUID
// is 36 characters, client ids carry "@" or "_", some are longer than 32)
// is replaced by a hash of it, 32 hex digits, which a strict peer takes
// where it would answer 400 to the original. The hash, not a fresh id,
// because the same message is sent again with the same MSRP Message-ID:
// after a restart by the next owner of its queue, into a new session
// after the last one was lost. The original stays in the CPIM
// imdn.Message-ID (RFC 5438), which IMDNs name.
func msrpMessageID(id string) string {
	if isIdent(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// isIdent reports whether s is an RFC 4975 ident (see msrpMessageID).
func isIdent(s string) bool {
	if len(s) < 4 || len(s) > 32 || !isAlphaNum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case isAlphaNum(c), c == '.', c == '-', c == '+', c == '%', c == '=':
		default:
			return false
		}
	}
	return true
}

func isAlphaNum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// textForm is how a text goes to a peer, from what its SDP accepts
// (RFC 4975 section 8.6): wrapped in message/cpim when the peer takes
// text/plain in it (in a=accept-types or a=accept-wrapped-types), which
// carries the IMDN headers; else bare text/plain, which carries none.
// errNoTextForm when the peer takes neither: the session cannot carry the
// conversation's texts. A session with no SDP known (no accept-types)
// gets CPIM.
func textForm(n msrpsdp.Negotiated) (wrapped bool, err error) {
	r := n.Remote
	switch {
	case len(r.AcceptTypes) == 0, r.AcceptsWrapped(typeText):
		return true, nil
	case r.Accepts(typeText):
		return false, nil
	}
	return false, fmt.Errorf("%w (accept-types %q, accept-wrapped-types %q)", errNoTextForm, r.AcceptTypes, r.AcceptWrappedTypes)
}
