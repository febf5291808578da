package msrpsdp

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"

	"iwf/session/msrp"
)

// Setup is the a=setup attribute of COMEDIA (RFC 4145 section 4), which
// RFC 6135 adopts for MSRP to say which side opens the TCP connection.
type Setup uint8

// Setup values. SetupUnspecified means the attribute is absent; see
// [Setup.Effective] for what that means.
const (
	SetupUnspecified Setup = iota
	SetupActive            // opens the connection
	SetupPassive           // accepts the connection
	SetupActPass           // either; offers only (RFC 4145 section 4.1)
	SetupHoldConn          // no connection for now; refused for MSRP
)

var setupNames = [...]string{"", "active", "passive", "actpass", "holdconn"}

// String returns the attribute value, "" for SetupUnspecified.
func (s Setup) String() string {
	if int(s) < len(setupNames) {
		return setupNames[s]
	}
	return "invalid"
}

// Effective applies the defaults for an absent a=setup. RFC 4975 section
// 5.4 makes the endpoint that sent the offer the one that connects, and
// RFC 6135 section 5 keeps that model for peers that send no a=setup: an
// offer without the attribute is "active", an answer without it "passive"
// (the same defaults as RFC 4145 section 4.1).
func (s Setup) Effective(inOffer bool) Setup {
	if s != SetupUnspecified {
		return s
	}
	if inOffer {
		return SetupActive
	}
	return SetupPassive
}

// parseSetup reads the value of a=setup (RFC 4145 section 4).
func parseSetup(v string) (Setup, error) {
	if i := indexFold(setupNames[:], v); i > 0 {
		return Setup(i), nil
	}
	return SetupUnspecified, fail("a=setup", WarnParameterNotUnderstood, "unknown role %q", v)
}

// indexFold returns the index of name in names, case-insensitively, or -1.
func indexFold(names []string, name string) int {
	for i, n := range names {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// Direction is the SDP direction attribute (RFC 4566 section 6). RFC 4975
// section 8.9 lets MSRP endpoints use it like any other media; we tolerate
// it and mirror it in answers as RFC 3264 section 6.1 requires.
type Direction uint8

// Direction values; DirectionUnspecified means no attribute (sendrecv).
const (
	DirectionUnspecified Direction = iota
	SendRecv
	SendOnly
	RecvOnly
	Inactive
)

var directionNames = [...]string{"", "sendrecv", "sendonly", "recvonly", "inactive"}

// String returns the attribute name, "" for DirectionUnspecified.
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "invalid"
}

// answer is the direction an answerer puts against an offered one (RFC
// 3264 section 6.1): sendonly against recvonly and the reverse, the rest
// unchanged.
func (d Direction) answer() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

func parseDirection(key string) (Direction, bool) {
	if i := indexFold(directionNames[:], key); i > 0 {
		return Direction(i), true
	}
	return DirectionUnspecified, false
}

// Fingerprint is one a=fingerprint attribute (RFC 4572 section 5, which
// MSRP over TLS uses to tie the certificate to the SIP session): the hash function
// ("sha-256") and the colon-separated hex digest, both as received.
type Fingerprint struct {
	Hash  string
	Value string
}

// String is the attribute value: hash-func SP fingerprint.
func (f Fingerprint) String() string { return f.Hash + " " + f.Value }

// Media is the MSRP media of one side of an offer/answer exchange: the
// m=message line (RFC 4975 section 8.1) and the attributes of RFC 4975
// section 8, RFC 6135, RFC 6714 and RFC 4572 that go with it.
type Media struct {
	// Secure selects TCP/TLS/MSRP and msrps URIs; else TCP/MSRP and msrp.
	Secure bool
	// AddrType is "IP4" or "IP6" for the c= line; empty means derived from
	// Addr (IP6 when it holds a ':').
	AddrType string
	// Addr is the c= connection address: an IP address or a host name.
	Addr string
	// Port is the m= port. The path URI, not this port, is where a peer
	// connects unless CEMA is in effect (see [Negotiated.ConnectAddr]).
	Port int
	// Path is a=path: the URIs of the relays this side uses, leftmost
	// first, then its own URI last (RFC 4975 section 8.2, RFC 4976).
	Path []msrp.URI
	// AcceptTypes is a=accept-types (RFC 4975 section 8.6): the media
	// types this side accepts, "*" and "type/*" allowed.
	AcceptTypes []string
	// AcceptWrappedTypes is a=accept-wrapped-types: types accepted only
	// inside a wrapper such as message/cpim (RFC 4975 section 8.6).
	AcceptWrappedTypes []string
	// MaxSize is a=max-size in octets, the largest message this side
	// accepts (RFC 4975 section 8.6); 0 when absent (no stated limit).
	MaxSize int64
	// Setup is a=setup (RFC 6135, RFC 4145); SetupUnspecified when absent.
	Setup Setup
	// CEMA is a=msrp-cema (RFC 6714): this side supports Connection
	// Establishment for Media Anchoring.
	CEMA bool
	// Fingerprints are the a=fingerprint attributes for TLS, media level
	// or else session level (RFC 4572 section 5).
	Fingerprints []Fingerprint
	// Direction is sendrecv/sendonly/recvonly/inactive when present.
	Direction Direction
}

// Accepts reports whether contentType may be sent to this side unwrapped,
// matching wildcards of a=accept-types (RFC 4975 section 8.6).
func (m Media) Accepts(contentType string) bool {
	return typeListed(m.AcceptTypes, contentType)
}

// AcceptsWrapped reports whether contentType may be sent to this side
// inside a message/cpim wrapper: the wrapper must be accepted, and the
// content listed in a=accept-wrapped-types or in a=accept-types (RFC 4975
// section 8.6: accept-wrapped-types adds types accepted only when wrapped
// to those accepted anyway).
func (m Media) AcceptsWrapped(contentType string) bool {
	if !m.Accepts(cpimType) {
		return false
	}
	return m.Accepts(contentType) || typeListed(m.AcceptWrappedTypes, contentType)
}

// Equal reports whether two Media describe the same thing. Path URIs are
// compared field by field (including userinfo and parameters, which
// msrp.URI.Equal ignores) so a round trip is checked exactly.
func (m Media) Equal(o Media) bool {
	return m.Secure == o.Secure &&
		m.addrType() == o.addrType() &&
		m.Addr == o.Addr &&
		m.Port == o.Port &&
		slices.EqualFunc(m.Path, o.Path, uriIdentical) &&
		slices.Equal(m.AcceptTypes, o.AcceptTypes) &&
		slices.Equal(m.AcceptWrappedTypes, o.AcceptWrappedTypes) &&
		m.MaxSize == o.MaxSize &&
		m.Setup == o.Setup &&
		m.CEMA == o.CEMA &&
		slices.Equal(m.Fingerprints, o.Fingerprints) &&
		m.Direction == o.Direction
}

func uriIdentical(a, b msrp.URI) bool {
	return a.Equal(b) && a.User == b.User && slices.Equal(a.Params, b.Params)
}

func (m Media) addrType() string {
	if m.AddrType != "" {
		return m.AddrType
	}
	if strings.IndexByte(m.Addr, ':') >= 0 {
		return "IP6"
	}
	return "IP4"
}

// Origin is the o= line (RFC 4566 section 5.2).
type Origin struct {
	// Username is "-" when there is none.
	Username string
	// SessionID stays the same for the life of the SIP session.
	SessionID uint64
	// Version changes, by one, with every changed description (RFC 3264
	// section 8).
	Version uint64
	// AddrType is "IP4" or "IP6"; empty means derived from Addr.
	AddrType string
	// Addr is the address of the machine that made the description.
	Addr string
}

// NewOrigin returns an origin for a new SIP session: a random session id
// (kept below 2^62 so every SDP stack reads it as a positive number) and
// version 1.
func NewOrigin(addr string) (Origin, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Origin{}, err
	}
	return Origin{
		Username:  "-",
		SessionID: binary.BigEndian.Uint64(b[:]) >> 2,
		Version:   1,
		Addr:      addr,
	}, nil
}

// Next returns the origin for a changed description in the same session,
// a re-INVITE or UPDATE: same session id, version plus one (RFC 3264
// section 8).
func (o Origin) Next() Origin {
	o.Version++
	return o
}

// MLine is one m= line of a description as received, kept so an answer can
// carry the same number of m= lines in the same order, rejecting the ones
// it does not take with port 0 (RFC 3264 section 6).
type MLine struct {
	Media   string   // "message", "audio", ...
	Port    int      // 0 for a stream the sender disabled
	Proto   string   // "TCP/MSRP", "RTP/AVP", ...
	Formats []string // "*" for MSRP
}

// Description is a parsed session description with its MSRP media.
type Description struct {
	Origin Origin
	// Media is the first usable m=message line with its attributes.
	Media Media
	// MediaIndex is the position of Media among MLines.
	MediaIndex int
	// MLines lists every m= line in order.
	MLines []MLine
}
