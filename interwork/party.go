package interwork

import (
	"fmt"
	"net/url"
	"strings"

	"iwf/internal/address"
)

// party is one side of a conversation, read once where it enters the IWF
// and carried parsed from there on.
type party struct {
	// id is the form conversation keys use: "+digits" for an E.164
	// number (routing matches its prefixes), the canonical URI for other
	// identities, and the identity as received when it could not be read.
	id string
	// addr is the parsed identity; zero when err is set.
	addr address.Address
	// err says why the identity could not be read. Such a party can
	// still be keyed and queued; what needs its address fails with err.
	err error
}

// readParty parses s (a URI, a From/To value or a number).
func readParty(s string) party {
	a, err := address.Parse(s, address.Options{})
	if err != nil {
		return party{id: s, err: err}
	}
	return partyOf(a)
}

func partyOf(a address.Address) party {
	if a.Kind == address.KindGlobal {
		return party{id: a.Number, addr: a}
	}
	return party{id: a.String(), addr: a}
}

// address is the parsed identity, or why there is none.
func (p party) address() (address.Address, error) { return p.addr, p.err }

// cpimIdentity is the party as a CPIM From/To value (RFC 3862 section
// 3.2): a tel URI for an E.164 number, else a SIP URI toward domain.
func (p party) cpimIdentity(domain string) string {
	if p.addr.Kind == address.KindGlobal {
		return "<tel:" + p.addr.Number + ">"
	}
	return "<" + p.addr.SIPURI(domain) + ">"
}

// convKey names a conversation: the partner, the SMS-side party and the
// RCS-side party. Both directions share it.
type convKey struct {
	Partner  string
	SMS, RCS party
}

func (k convKey) String() string {
	return url.QueryEscape(k.Partner) + "|" + url.QueryEscape(k.SMS.id) + "|" + url.QueryEscape(k.RCS.id)
}

// parseConvKey reads a key back (a conversation found queued in the
// store); its parties are parsed again, once.
func parseConvKey(s string) (convKey, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return convKey{}, fmt.Errorf("interwork: conversation key %q", s)
	}
	var out [3]string
	for i, p := range parts {
		v, err := url.QueryUnescape(p)
		if err != nil {
			return convKey{}, fmt.Errorf("interwork: conversation key %q: %w", s, err)
		}
		out[i] = v
	}
	return convKey{Partner: out[0], SMS: readParty(out[1]), RCS: readParty(out[2])}, nil
}
