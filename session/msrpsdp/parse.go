package msrpsdp

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"iwf/session/msrp"
)

// MaxDescriptionSize bounds the session descriptions Parse reads. An MSRP
// offer is a few hundred bytes; RCS clients with many accept-types stay
// under 2 KB.
const MaxDescriptionSize = 16 << 10

// The two m= protocols of RFC 4975 section 8.1, compared exactly: SDP
// protocol names are case-sensitive.
const (
	protoTCP = "TCP/MSRP"
	protoTLS = "TCP/TLS/MSRP"
)

// Parse reads a peer's session description (an offer or an answer) and
// returns it with its MSRP media: the first m=message line with a non-zero
// port and a protocol we speak. Other m= lines (audio, a disabled MSRP
// stream) are kept in MLines for the answer to reject (RFC 3264 section 6).
// The MSRP media is validated: protocol TCP/MSRP or TCP/TLS/MSRP, format
// "*", a=path present with valid URIs, the last one matching the
// transport, a=accept-types present. Every failure is an *Error that
// matches ErrNotAcceptable.
func Parse(b []byte) (Description, error) {
	if len(b) > MaxDescriptionSize {
		return Description{}, fail("", WarnMiscellaneous, "description of %d bytes over the limit of %d", len(b), MaxDescriptionSize)
	}
	s := string(b)
	// pion/sdp wants every line terminated; a body that ends without its
	// last CRLF is common enough to forgive.
	if !strings.HasSuffix(s, "\n") {
		s += "\r\n"
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return Description{}, failErr("", WarnParameterNotUnderstood, "malformed session description", err)
	}
	d := Description{Origin: originFrom(sd.Origin), MediaIndex: -1}
	var unsupported string
	for i, md := range sd.MediaDescriptions {
		ml := MLine{
			Media:   md.MediaName.Media,
			Port:    md.MediaName.Port.Value,
			Proto:   strings.Join(md.MediaName.Protos, "/"),
			Formats: append([]string(nil), md.MediaName.Formats...),
		}
		d.MLines = append(d.MLines, ml)
		// RFC 3264 section 8.2: port 0 marks a stream that is off; it is
		// not ours to use, only to answer with port 0 again.
		if d.MediaIndex >= 0 || ml.Media != "message" || ml.Port == 0 {
			continue
		}
		if ml.Proto == protoTCP || ml.Proto == protoTLS {
			d.MediaIndex = i
		} else if unsupported == "" {
			unsupported = ml.Proto
		}
	}
	if d.MediaIndex < 0 {
		if unsupported != "" {
			return Description{}, fail("m=", WarnIncompatibleTransport, "protocol %q is not %s or %s", unsupported, protoTCP, protoTLS)
		}
		return Description{}, fail("m=", WarnMediaNotAvailable, "no m=message line with a non-zero port")
	}
	m, err := mediaFrom(&sd, sd.MediaDescriptions[d.MediaIndex])
	if err != nil {
		return Description{}, err
	}
	d.Media = m
	return d, nil
}

func originFrom(o sdp.Origin) Origin {
	u := o.Username
	if u == "" {
		u = "-"
	}
	return Origin{
		Username:  u,
		SessionID: o.SessionID,
		Version:   o.SessionVersion,
		AddrType:  o.AddressType,
		Addr:      o.UnicastAddress,
	}
}

// mediaFrom reads the MSRP attributes of one m=message line. a=setup,
// a=fingerprint and the direction may also stand at session level (RFC
// 4145 section 4, RFC 4572 section 5, RFC 4566 section 6); a media-level
// attribute wins. Of a repeated single-valued attribute the first counts.
func mediaFrom(sd *sdp.SessionDescription, md *sdp.MediaDescription) (Media, error) {
	m := Media{
		Secure: strings.Join(md.MediaName.Protos, "/") == protoTLS,
		Port:   md.MediaName.Port.Value,
	}
	if md.MediaName.Port.Range != nil {
		return Media{}, fail("m=", WarnParameterNotUnderstood, "port range %d/%d: MSRP uses one port", m.Port, *md.MediaName.Port.Range)
	}
	// RFC 4975 section 8.1: the format list of an MSRP m-line is "*";
	// the content types are in a=accept-types.
	if f := md.MediaName.Formats; len(f) != 1 || f[0] != "*" {
		return Media{}, fail("m=", WarnIncompatibleFormat, "format list %q, want \"*\"", strings.Join(f, " "))
	}
	c := md.ConnectionInformation
	if c == nil {
		c = sd.ConnectionInformation
	}
	if c == nil || c.Address == nil {
		return Media{}, fail("c=", WarnIncompatibleAddress, "no connection address for the m=message line")
	}
	m.AddrType, m.Addr = c.AddressType, c.Address.Address

	var seen attrSet
	for _, a := range md.Attributes {
		if err := m.setAttr(a, &seen, false); err != nil {
			return Media{}, err
		}
	}
	if !seen.has(attrPath) {
		return Media{}, fail("a=path", WarnParameterNotUnderstood, "missing")
	}
	if !seen.has(attrAcceptTypes) {
		return Media{}, fail("a=accept-types", WarnIncompatibleFormat, "missing")
	}
	for _, a := range sd.Attributes {
		if inheritable(a.Key) {
			if err := m.setAttr(a, &seen, true); err != nil {
				return Media{}, err
			}
		}
	}
	if err := m.Validate(); err != nil {
		return Media{}, err
	}
	return m, nil
}

// attrSet remembers which single-valued attributes were taken.
type attrSet uint16

const (
	attrPath attrSet = 1 << iota
	attrAcceptTypes
	attrWrapped
	attrMaxSize
	attrSetup
	attrDirection
	attrFingerprint
)

func (s attrSet) has(a attrSet) bool { return s&a != 0 }

// first marks a as seen and reports whether it was not seen before.
func (s *attrSet) first(a attrSet) bool {
	if s.has(a) {
		return false
	}
	*s |= a
	return true
}

func inheritable(key string) bool {
	_, dir := parseDirection(key)
	return dir || strings.EqualFold(key, "setup") || strings.EqualFold(key, "fingerprint")
}

// setAttr applies one attribute. Attribute names are matched
// case-insensitively to forgive sloppy peers; unknown attributes
// (a=file-selector, a=connection, a=chatroom ...) are ignored, as RFC 4566
// section 5.13 asks of attributes a receiver does not understand.
func (m *Media) setAttr(a sdp.Attribute, seen *attrSet, session bool) error {
	key, val := strings.ToLower(a.Key), strings.TrimSpace(a.Value)
	switch key {
	case "path":
		return takeFirst(seen, attrPath, &m.Path, val, parsePath)
	case "accept-types":
		return takeFirst(seen, attrAcceptTypes, &m.AcceptTypes, val, fields)
	case "accept-wrapped-types":
		return takeFirst(seen, attrWrapped, &m.AcceptWrappedTypes, val, fields)
	case "max-size":
		return takeFirst(seen, attrMaxSize, &m.MaxSize, val, parseMaxSize)
	case "setup":
		return takeFirst(seen, attrSetup, &m.Setup, val, parseSetup)
	case "msrp-cema":
		m.CEMA = true
	case "fingerprint":
		// Several fingerprints may stand together (RFC 8122 section 5);
		// session-level ones count only when the media level has none.
		if session && seen.has(attrFingerprint) {
			return nil
		}
		if !session {
			*seen |= attrFingerprint
		}
		hash, value, _ := strings.Cut(val, " ")
		m.Fingerprints = append(m.Fingerprints, Fingerprint{Hash: hash, Value: strings.TrimSpace(value)})
	default:
		if d, ok := parseDirection(key); ok && seen.first(attrDirection) {
			m.Direction = d
		}
	}
	return nil
}

// takeFirst parses the value of a single-valued attribute into dst the
// first time the attribute is seen; later ones are ignored.
func takeFirst[T any](seen *attrSet, a attrSet, dst *T, val string, parse func(string) (T, error)) error {
	if !seen.first(a) {
		return nil
	}
	v, err := parse(val)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func parsePath(v string) ([]msrp.URI, error) {
	p, err := msrp.ParsePath(v)
	if err != nil {
		return nil, failErr("a=path", WarnParameterNotUnderstood, "invalid uri", err)
	}
	return p, nil
}

func fields(v string) ([]string, error) { return strings.Fields(v), nil }

// parseMaxSize reads max-size-value = 1*DIGIT (RFC 4975 section 9). Zero
// would announce a session that accepts nothing, which we refuse.
func parseMaxSize(v string) (int64, error) {
	digits := v != ""
	for i := 0; i < len(v); i++ {
		digits = digits && v[i] >= '0' && v[i] <= '9'
	}
	if digits {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fail("a=max-size", WarnParameterNotUnderstood, "%q is not a positive number of octets", v)
}
