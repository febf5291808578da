package msrpsdp

import (
	"strconv"
	"strings"

	"iwf/session/msrp"
)

// Role is our part in an offer/answer exchange.
type Role uint8

// Roles.
const (
	Offerer Role = iota + 1
	Answerer
)

// String returns "offerer" or "answerer".
func (r Role) String() string {
	switch r {
	case Offerer:
		return "offerer"
	case Answerer:
		return "answerer"
	}
	return "invalid"
}

// Negotiated is the outcome of an offer/answer exchange from our side:
// who connects, whether CEMA is in effect, where to connect and which paths
// to put in requests.
type Negotiated struct {
	// Role is ours.
	Role Role
	// Local is the media we sent, Remote the media the peer sent.
	Local, Remote Media
	// Active is true when we open the TCP/TLS connection; when false we
	// wait for the peer's connection and its first request.
	Active bool
	// CEMA is true when both sides announced a=msrp-cema (RFC 6714).
	CEMA bool
}

// Negotiate checks an answer against its offer and settles the
// connection: the transport must be the same, the a=setup roles must fit
// (RFC 6135, and its section 5 defaults for peers that send none, see
// [Setup.Effective]), and CEMA is in effect only when both sides announced
// it (RFC 6714: the answerer may include a=msrp-cema only if the offer
// did). role says which of the two media is ours. The offerer calls it
// with its offer and the parsed answer; BuildAnswer calls it for the
// answerer.
func Negotiate(role Role, offer, answer Media) (Negotiated, error) {
	if role != Offerer && role != Answerer {
		return Negotiated{}, fail("", WarnMiscellaneous, "role %d is neither offerer nor answerer", role)
	}
	if offer.Secure != answer.Secure {
		return Negotiated{}, fail("m=", WarnIncompatibleTransport, "answer uses %s for an offer of %s", answer.proto(), offer.proto())
	}
	offererActive, err := offererConnects(offer.Setup, answer.Setup)
	if err != nil {
		return Negotiated{}, err
	}
	n := Negotiated{Role: role, CEMA: offer.CEMA && answer.CEMA}
	if role == Offerer {
		n.Local, n.Remote, n.Active = offer, answer, offererActive
	} else {
		n.Local, n.Remote, n.Active = answer, offer, !offererActive
	}
	return n, nil
}

// offererConnects applies RFC 6135 (the rules of RFC 4145
// section 4.1): the answer takes the role opposite the offer, and an
// actpass offer lets the answerer pick. The answer itself may not say
// actpass, and holdconn leaves MSRP without a connection.
func offererConnects(offered, answered Setup) (bool, error) {
	o, a := offered.Effective(true), answered.Effective(false)
	switch {
	case a == SetupActPass || a == SetupHoldConn:
		return false, fail("a=setup", WarnParameterNotUnderstood, "answer role %q is not active or passive", a.String())
	case o == SetupHoldConn:
		return false, fail("a=setup", WarnParameterNotUnderstood, "offered role %q leaves no connection for MSRP", o.String())
	case a == SetupPassive && (o == SetupActive || o == SetupActPass):
		return true, nil
	case a == SetupActive && (o == SetupPassive || o == SetupActPass):
		return false, nil
	}
	return false, fail("a=setup", WarnParameterNotUnderstood, "offer %q and answer %q do not fit", o.String(), a.String())
}

// ToPath is the To-Path of the requests we send: our own relays, nearest
// first, then the peer's a=path as received. A path lists the URIs in the
// order a request visits them, leftmost first (RFC 4975 section 7.1), and
// our a=path lists our relays as the peer reaches them, farthest from us
// first, then our own URI (RFC 4976). The IWF has no relays of its own, so
// in practice this is the peer's a=path.
func (n Negotiated) ToPath() []msrp.URI {
	if len(n.Local.Path) == 0 {
		return n.Remote.Path
	}
	relays := n.Local.Path[:len(n.Local.Path)-1]
	out := make([]msrp.URI, 0, len(relays)+len(n.Remote.Path))
	for i := len(relays) - 1; i >= 0; i-- {
		out = append(out, relays[i])
	}
	return append(out, n.Remote.Path...)
}

// LocalURI is our own URI, the last of our a=path: the requests we
// receive are addressed to it and their session is found by it (RFC 4975
// section 7.3).
func (n Negotiated) LocalURI() msrp.URI { return lastURI(n.Local.Path) }

// RemoteURI is the peer's own URI, the last of its a=path, which our
// requests address and its From-Path names (RFC 4975 sections 7.1 and 7.3).
func (n Negotiated) RemoteURI() msrp.URI { return lastURI(n.Remote.Path) }

func lastURI(p []msrp.URI) msrp.URI {
	if len(p) == 0 {
		return msrp.URI{}
	}
	return p[len(p)-1]
}

// ConnectAddr is the host:port the active side opens its connection to;
// it means nothing when Active is false.
//
// Without CEMA it is the first hop of the To-Path: the leftmost URI of the
// peer's a=path, because a path is visited left to right (RFC 4975 section
// 7.1) and the peer lists its relays before its own URI (RFC 4976); with no
// relays that is the peer's only URI. The c= and m= lines are not used:
// plain MSRP connects by URI, which is what CEMA changes. When we have
// relays of our own, the first hop is our nearest relay.
//
// With CEMA (RFC 6714) and no relays of ours, it is the address of the
// peer's c= line and the port of its m= line instead: a middlebox that
// anchors the media rewrites those and leaves a=path alone, so the
// connection goes through the middlebox while To-Path still names the
// peer's URI.
func (n Negotiated) ConnectAddr() string {
	if n.CEMA && len(n.Local.Path) <= 1 {
		return hostPort(n.Remote.Addr, n.Remote.Port)
	}
	hop := n.ToPath()
	if len(hop) == 0 {
		return ""
	}
	return hop[0].Addr()
}

// SendLimit is the largest message we may send, the peer's a=max-size
// (RFC 4975 section 8.6), or 0 when it stated none.
func (n Negotiated) SendLimit() int64 { return n.Remote.MaxSize }

// CanSend reports whether the peer accepts contentType, directly or, when
// wrapped is true, inside message/cpim (RFC 4975 section 8.6).
func (n Negotiated) CanSend(contentType string, wrapped bool) bool {
	if wrapped {
		return n.Remote.AcceptsWrapped(contentType)
	}
	return n.Remote.Accepts(contentType)
}

func hostPort(host string, port int) string {
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}
