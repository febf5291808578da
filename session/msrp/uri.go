package msrp

import (
	"strconv"
	"strings"
)

// URI is an MSRP or MSRPS URI (RFC 4975 section 9):
//
//	msrp://host:port/session-id;tcp
type URI struct {
	// Secure is true for the msrps scheme (TLS).
	Secure bool
	// User is the optional userinfo before '@' (rare; kept for round trips).
	User string
	// Host is a hostname, an IPv4 address or an IPv6 address without brackets.
	Host string
	// Port is 0 when the URI carries no port.
	Port int
	// SessionID is the path component after '/', empty for a relay URI.
	SessionID string
	// Transport is the mandatory transport parameter, "tcp" in practice.
	Transport string
	// Params holds further ";name[=value]" parameters verbatim, without
	// the leading ';', in order.
	Params []string
}

// DefaultPort is the MSRP port registered with IANA (RFC 4975 section 15.4).
const DefaultPort = 2855

// ParseURI parses one MSRP URI.
func ParseURI(s string) (URI, error) {
	var u URI
	rest, ok := cutPrefixFold(s, "msrps://")
	if ok {
		u.Secure = true
	} else if rest, ok = cutPrefixFold(s, "msrp://"); !ok {
		return URI{}, &URIError{URI: s, Reason: "scheme is not msrp or msrps"}
	}
	semi := strings.IndexByte(rest, ';')
	if semi < 0 {
		return URI{}, &URIError{URI: s, Reason: "missing transport parameter"}
	}
	hostPart, params := rest[:semi], rest[semi+1:]
	if slash := strings.IndexByte(hostPart, '/'); slash >= 0 {
		u.SessionID = hostPart[slash+1:]
		hostPart = hostPart[:slash]
		if u.SessionID == "" {
			return URI{}, &URIError{URI: s, Reason: "empty session-id"}
		}
		for i := 0; i < len(u.SessionID); i++ {
			if !isSessionIDChar(u.SessionID[i]) {
				return URI{}, &URIError{URI: s, Reason: "invalid character in session-id"}
			}
		}
	}
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		u.User = hostPart[:at]
		hostPart = hostPart[at+1:]
	}
	if err := u.parseHostPort(hostPart); err != nil {
		return URI{}, &URIError{URI: s, Reason: err.Error()}
	}
	transport, more, _ := strings.Cut(params, ";")
	if transport == "" || !isToken(transport) {
		return URI{}, &URIError{URI: s, Reason: "invalid transport parameter"}
	}
	u.Transport = transport
	for more != "" {
		var p string
		p, more, _ = strings.Cut(more, ";")
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return URI{}, &URIError{URI: s, Reason: "invalid URI parameter"}
		}
		u.Params = append(u.Params, p)
	}
	return u, nil
}

func (u *URI) parseHostPort(hp string) error {
	var portStr string
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return errString("unterminated IPv6 reference")
		}
		u.Host = hp[1:end]
		rest := hp[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return errString("junk after IPv6 reference")
			}
			portStr = rest[1:]
			if portStr == "" {
				return errString("empty port")
			}
		}
		if u.Host == "" || strings.IndexFunc(u.Host, func(r rune) bool {
			return !(r == ':' || r == '.' || isHexRune(r))
		}) >= 0 {
			return errString("invalid IPv6 address")
		}
	} else {
		host, port, hasPort := strings.Cut(hp, ":")
		u.Host = host
		if hasPort {
			if port == "" {
				return errString("empty port")
			}
			portStr = port
		}
		if host == "" {
			return errString("empty host")
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(isAlnum(c) || c == '-' || c == '.' || c == '_') {
				return errString("invalid character in host")
			}
		}
	}
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p <= 0 || p > 65535 || portStr[0] == '+' || portStr[0] == '0' {
			return errString("invalid port")
		}
		u.Port = p
	}
	return nil
}

// String formats the URI; ParseURI(u.String()) yields u again.
func (u URI) String() string {
	var b strings.Builder
	b.Grow(len(u.Host) + len(u.SessionID) + 32)
	u.appendTo(&b)
	return b.String()
}

func (u URI) appendTo(b *strings.Builder) {
	if u.Secure {
		b.WriteString("msrps://")
	} else {
		b.WriteString("msrp://")
	}
	if u.User != "" {
		b.WriteString(u.User)
		b.WriteByte('@')
	}
	if strings.IndexByte(u.Host, ':') >= 0 {
		b.WriteByte('[')
		b.WriteString(u.Host)
		b.WriteByte(']')
	} else {
		b.WriteString(u.Host)
	}
	if u.Port != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(u.Port))
	}
	if u.SessionID != "" {
		b.WriteByte('/')
		b.WriteString(u.SessionID)
	}
	b.WriteByte(';')
	b.WriteString(u.Transport)
	for _, p := range u.Params {
		b.WriteByte(';')
		b.WriteString(p)
	}
}

// Addr is the host:port to connect to, with the default MSRP port when the
// URI has none.
func (u URI) Addr() string {
	port := u.Port
	if port == 0 {
		port = DefaultPort
	}
	if strings.IndexByte(u.Host, ':') >= 0 {
		return "[" + u.Host + "]:" + strconv.Itoa(port)
	}
	return u.Host + ":" + strconv.Itoa(port)
}

// Equal compares two URIs by the rules of RFC 4975 section 6.1: scheme,
// host and transport case-insensitively, port exactly (an explicit port never
// equals an absent one), session-id case-sensitively; userinfo and other
// parameters are ignored.
func (u URI) Equal(o URI) bool {
	return u.Secure == o.Secure &&
		strings.EqualFold(u.Host, o.Host) &&
		u.Port == o.Port &&
		u.SessionID == o.SessionID &&
		strings.EqualFold(u.Transport, o.Transport)
}

// ParsePath parses a space-separated list of MSRP URIs, as in To-Path,
// From-Path, Use-Path and SDP a=path.
func ParsePath(s string) ([]URI, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, &URIError{URI: s, Reason: "empty path"}
	}
	out := make([]URI, 0, len(fields))
	for _, f := range fields {
		u, err := ParseURI(f)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// FormatPath joins URIs with single spaces.
func FormatPath(path []URI) string {
	var b strings.Builder
	for i, u := range path {
		if i > 0 {
			b.WriteByte(' ')
		}
		u.appendTo(&b)
	}
	return b.String()
}

// PathEqual reports whether two paths have the same length and pairwise
// equal URIs.
func PathEqual(a, b []URI) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// isSessionIDChar: session-id = 1*( unreserved / "+" / "=" / "/" ), with
// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986). Percent
// escapes are accepted as well since RFC 4975 section 9 allows them.
func isSessionIDChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~+=/%", c) >= 0
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHexRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
