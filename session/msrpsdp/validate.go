package msrpsdp

import (
	"strings"

	"iwf/session/msrp"
)

// Validate checks what RFC 4975 section 8 requires of MSRP media, the same
// rules for a peer's media (Parse calls it) and for ours (the builders call
// it, so we never send what we would refuse):
//   - a port in 1..65535 and a connection address;
//   - a=path with at least one URI, every URI valid, the last one (the
//     endpoint's own, RFC 4975 section 8.2) with a session-id, transport
//     tcp and the scheme of the m= protocol: msrps for TCP/TLS/MSRP, msrp
//     for TCP/MSRP (RFC 4975 section 8.1);
//   - a=accept-types present, every entry of the RFC 4975 section 9 form;
//   - well-formed a=fingerprint values (RFC 4572 section 5).
func (m Media) Validate() error {
	if m.Port < 1 || m.Port > 65535 {
		return fail("m=", WarnParameterNotUnderstood, "port %d out of range", m.Port)
	}
	if at := m.addrType(); at != "IP4" && at != "IP6" {
		return fail("c=", WarnIncompatibleAddress, "address type %q", at)
	}
	if !validHost(m.Addr) {
		return fail("c=", WarnIncompatibleAddress, "connection address %q", m.Addr)
	}
	if err := m.validatePath(); err != nil {
		return err
	}
	if len(m.AcceptTypes) == 0 {
		return fail("a=accept-types", WarnIncompatibleFormat, "missing")
	}
	for _, t := range m.AcceptTypes {
		if !validTypeEntry(t) {
			return fail("a=accept-types", WarnIncompatibleFormat, "invalid entry %q", t)
		}
	}
	for _, t := range m.AcceptWrappedTypes {
		if !validTypeEntry(t) {
			return fail("a=accept-wrapped-types", WarnIncompatibleFormat, "invalid entry %q", t)
		}
	}
	if m.MaxSize < 0 {
		return fail("a=max-size", WarnParameterNotUnderstood, "negative size %d", m.MaxSize)
	}
	if m.Setup > SetupHoldConn {
		return fail("a=setup", WarnParameterNotUnderstood, "unknown role %d", m.Setup)
	}
	if m.Direction > Inactive {
		return fail("a=sendrecv", WarnParameterNotUnderstood, "unknown direction %d", m.Direction)
	}
	for _, f := range m.Fingerprints {
		if !isMIMEToken(f.Hash) || !validDigest(f.Value) {
			return fail("a=fingerprint", WarnParameterNotUnderstood, "invalid value %q", f.String())
		}
	}
	return nil
}

func (m Media) validatePath() error {
	if len(m.Path) == 0 {
		return fail("a=path", WarnParameterNotUnderstood, "missing")
	}
	for _, u := range m.Path {
		// Re-parsing the formatted URI catches a hand-built msrp.URI with
		// an empty host or a bad session-id, and costs little for one
		// that came from ParsePath.
		if _, err := msrp.ParseURI(u.String()); err != nil {
			return failErr("a=path", WarnParameterNotUnderstood, "invalid uri", err)
		}
	}
	last := m.Path[len(m.Path)-1]
	if last.Secure != m.Secure {
		return fail("a=path", WarnIncompatibleTransport, "uri %s does not match the m= protocol %s", last.String(), m.proto())
	}
	if !strings.EqualFold(last.Transport, "tcp") {
		return fail("a=path", WarnIncompatibleTransport, "uri %s: transport %q, want tcp", last.String(), last.Transport)
	}
	if last.SessionID == "" {
		return fail("a=path", WarnParameterNotUnderstood, "uri %s has no session-id", last.String())
	}
	return nil
}

// validHost accepts what a c= line carries for us: an IPv4 or IPv6 address
// or a host name. Multicast TTL suffixes ("/127") have no place in MSRP.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}

// validDigest: fingerprint = 2UHEX *(":" 2UHEX) (RFC 4572 section 5).
// Lowercase hex is tolerated; some clients send it.
func validDigest(v string) bool {
	if len(v) < 2 || len(v)%3 != 2 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
