package msrpsdp

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"iwf/session/msrp"
)

// BuildOffer returns a complete session description offering m: v=, o=,
// s=-, c=, t=0 0, one m=message line and its attributes, CRLF-terminated.
// m is written as given; an offer should normally set Setup to
// SetupActPass (RFC 6135 lets the answerer choose then) and CEMA when the
// connection layer supports RFC 6714. For a re-INVITE pass origin.Next().
// An m that Validate refuses is an *Error with Local set (SIP status 500):
// we never offer what we would reject.
func BuildOffer(origin Origin, m Media) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, asLocal(err)
	}
	if err := origin.validate(); err != nil {
		return nil, asLocal(err)
	}
	return marshal(origin, m, []*sdp.MediaDescription{mediaDescription(m)}), nil
}

// BuildAnswer answers a parsed offer with our media and returns the
// description and the outcome of the exchange. local carries our side:
// transport, addresses, path, the types we accept, our max-size, our
// fingerprints, whether we support CEMA, and in Setup our policy for an
// actpass offer (SetupActive or SetupPassive; anything else means
// passive). The answer
//   - keeps the offer's m= lines in order, ours with the MSRP media and
//     the others rejected with port 0 (RFC 3264 section 6);
//   - lists in a=accept-types what both sides accept, wildcards narrowed,
//     in our order (RFC 4975 section 8.6), and a=accept-wrapped-types only
//     when message/cpim is among them;
//   - answers active to passive, passive to active, our policy to actpass
//     (RFC 6135, RFC 4145 section 4.1), and refuses holdconn;
//   - carries a=msrp-cema only when the offer did and we support it (RFC
//     6714);
//   - states our own max-size, the largest message we accept: each side
//     announces its own limit (RFC 4975 section 8.6);
//   - mirrors the offered direction (RFC 3264 section 6.1);
//   - keeps our listening port in m= even when we are active: RFC 4145
//     section 4.1 suggests port 9 then, but some RCS clients refuse an
//     answer whose c=/m= differ from its a=path when CEMA is off.
//
// An offer we cannot take (other transport, no common type, holdconn)
// gives an *Error that matches ErrNotAcceptable.
func BuildAnswer(origin Origin, offer Description, local Media) ([]byte, Negotiated, error) {
	off := offer.Media
	if off.Secure != local.Secure {
		return nil, Negotiated{}, fail("m=", WarnIncompatibleTransport, "offer uses %s, we answer %s", off.proto(), local.proto())
	}
	setup, err := answerSetup(off.Setup, local.Setup)
	if err != nil {
		return nil, Negotiated{}, err
	}
	types := intersectTypes(local.AcceptTypes, off.AcceptTypes)
	if len(types) == 0 {
		return nil, Negotiated{}, fail("a=accept-types", WarnIncompatibleFormat, "no common type: offered %q, we accept %q",
			strings.Join(off.AcceptTypes, " "), strings.Join(local.AcceptTypes, " "))
	}
	ans := Media{
		Secure:      local.Secure,
		AddrType:    local.AddrType,
		Addr:        local.Addr,
		Port:        local.Port,
		Path:        local.Path,
		AcceptTypes: types,
		MaxSize:     local.MaxSize,
		Setup:       setup,
		CEMA:        local.CEMA && off.CEMA,
		Direction:   off.Direction.answer(),
	}
	if typeListed(types, cpimType) {
		offered := off.AcceptWrappedTypes
		if len(offered) == 0 {
			// Nothing offered to narrow with: we state what we take.
			offered = []string{"*"}
		}
		ans.AcceptWrappedTypes = intersectTypes(local.AcceptWrappedTypes, offered)
	}
	if ans.Secure {
		ans.Fingerprints = local.Fingerprints
	}
	if err := ans.Validate(); err != nil {
		return nil, Negotiated{}, asLocal(err)
	}
	if err := origin.validate(); err != nil {
		return nil, Negotiated{}, asLocal(err)
	}
	neg, err := Negotiate(Answerer, off, ans)
	if err != nil {
		return nil, Negotiated{}, err
	}

	lines := make([]*sdp.MediaDescription, 0, max(len(offer.MLines), 1))
	for i, ml := range offer.MLines {
		if i == offer.MediaIndex {
			lines = append(lines, mediaDescription(ans))
		} else {
			lines = append(lines, rejected(ml))
		}
	}
	if offer.MediaIndex < 0 || offer.MediaIndex >= len(offer.MLines) {
		// A Description built by hand rather than by Parse.
		lines = append(lines[:0], mediaDescription(ans))
	}
	return marshal(origin, ans, lines), neg, nil
}

// answerSetup picks the answer's a=setup (RFC 6135, RFC 4145
// section 4.1): the opposite of an active or passive offer, our policy
// against actpass, passive unless the policy says active. An offer without
// a=setup is an RFC 4975 offerer, which connects (RFC 4975 section 5.4),
// so the answer is passive. holdconn would leave the session without a
// connection; we refuse it.
func answerSetup(offered, policy Setup) (Setup, error) {
	switch offered.Effective(true) {
	case SetupActive:
		return SetupPassive, nil
	case SetupPassive:
		return SetupActive, nil
	case SetupActPass:
		if policy == SetupActive {
			return SetupActive, nil
		}
		return SetupPassive, nil
	}
	return SetupUnspecified, fail("a=setup", WarnParameterNotUnderstood, "offered role %q leaves no connection for MSRP", offered.String())
}

func (m Media) proto() string {
	if m.Secure {
		return protoTLS
	}
	return protoTCP
}

func (o Origin) validate() error {
	if strings.ContainsAny(o.Username, " \t\r\n") || strings.ContainsAny(o.Addr, " \t\r\n") {
		return fail("o=", WarnMiscellaneous, "whitespace in username %q or address %q", o.Username, o.Addr)
	}
	return nil
}

func addrTypeOf(addr string) string {
	if strings.IndexByte(addr, ':') >= 0 {
		return "IP6"
	}
	return "IP4"
}

// marshal writes the session description. The c= line stands at session
// level, so it also covers rejected m= lines.
func marshal(o Origin, m Media, lines []*sdp.MediaDescription) []byte {
	username := o.Username
	if username == "" {
		username = "-"
	}
	oAddr, oType := o.Addr, o.AddrType
	if oAddr == "" {
		oAddr, oType = m.Addr, m.AddrType
	}
	if oType == "" {
		oType = addrTypeOf(oAddr)
	}
	d := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       username,
			SessionID:      o.SessionID,
			SessionVersion: o.Version,
			NetworkType:    "IN",
			AddressType:    oType,
			UnicastAddress: oAddr,
		},
		SessionName: "-",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: m.addrType(),
			Address:     &sdp.Address{Address: m.Addr},
		},
		TimeDescriptions:  []sdp.TimeDescription{{}},
		MediaDescriptions: lines,
	}
	b, _ := d.Marshal() // pion's Marshal has no failure path
	return b
}

func mediaDescription(m Media) *sdp.MediaDescription {
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:   "message",
			Port:    sdp.RangedPort{Value: m.Port},
			Protos:  strings.Split(m.proto(), "/"),
			Formats: []string{"*"},
		},
	}
	add := func(k, v string) { md.Attributes = append(md.Attributes, sdp.Attribute{Key: k, Value: v}) }
	add("path", msrp.FormatPath(m.Path))
	add("accept-types", strings.Join(m.AcceptTypes, " "))
	if len(m.AcceptWrappedTypes) > 0 {
		add("accept-wrapped-types", strings.Join(m.AcceptWrappedTypes, " "))
	}
	if m.MaxSize > 0 {
		add("max-size", strconv.FormatInt(m.MaxSize, 10))
	}
	if m.Setup != SetupUnspecified {
		add("setup", m.Setup.String())
	}
	if m.CEMA {
		add("msrp-cema", "")
	}
	for _, f := range m.Fingerprints {
		add("fingerprint", f.String())
	}
	if m.Direction != DirectionUnspecified {
		add(m.Direction.String(), "")
	}
	return md
}

// rejected is an m= line turned down: same media, protocol and formats,
// port 0, no attributes (RFC 3264 section 6).
func rejected(ml MLine) *sdp.MediaDescription {
	formats := ml.Formats
	if len(formats) == 0 {
		formats = []string{"*"}
	}
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:   ml.Media,
			Protos:  strings.Split(ml.Proto, "/"),
			Formats: formats,
		},
	}
}
