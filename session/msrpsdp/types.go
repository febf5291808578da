package msrpsdp

import "strings"

// cpimType is the wrapper RCS and RFC 4975 section 8.6 use for
// accept-wrapped-types (RFC 3862).
const cpimType = "message/cpim"

// splitType returns the type and subtype of a format entry, parameters
// dropped: "*" gives ("*", "").
func splitType(s string) (typ, sub string) {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	typ, sub, _ = strings.Cut(s, "/")
	return typ, sub
}

// MatchType reports whether the accept-types entry pattern ("*",
// "text/*", "text/plain") covers the content type t. Types and subtypes
// compare case-insensitively (RFC 2045 section 5.1); parameters are
// ignored.
func MatchType(pattern, t string) bool {
	pt, ps := splitType(pattern)
	if pt == "*" {
		return true
	}
	tt, ts := splitType(t)
	if !strings.EqualFold(pt, tt) {
		return false
	}
	return ps == "*" || strings.EqualFold(ps, ts)
}

func typeListed(list []string, t string) bool {
	for _, p := range list {
		if MatchType(p, t) {
			return true
		}
	}
	return false
}

// meet returns the narrower of two accept-types entries when they overlap:
// "*" and "text/plain" meet in "text/plain", "text/*" and "text/html" in
// "text/html". Equal entries give a.
func meet(a, b string) (string, bool) {
	at, as := splitType(a)
	bt, bs := splitType(b)
	switch {
	case at == "*":
		return b, true
	case bt == "*":
		return a, true
	case !strings.EqualFold(at, bt):
		return "", false
	case as == "*":
		return b, true
	case bs == "*":
		return a, true
	case strings.EqualFold(as, bs):
		return a, true
	}
	return "", false
}

// intersectTypes lists what both sides accept, in our order of preference:
// for each local entry, the offered entries it overlaps, narrowed by meet.
// Duplicates (case-insensitively) are dropped.
func intersectTypes(local, offered []string) []string {
	var out []string
	for _, l := range local {
		for _, o := range offered {
			m, ok := meet(l, o)
			if !ok || containsFold(out, m) {
				continue
			}
			out = append(out, m)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// validTypeEntry checks one accept-types entry against RFC 4975 section 9:
// format-entry = "*" / (type "/" subtype) / (type "/" "*"). Parameters
// after ';' are tolerated, since some clients send them.
func validTypeEntry(s string) bool {
	if s == "*" {
		return true
	}
	base, params, _ := strings.Cut(s, ";")
	typ, sub, ok := strings.Cut(base, "/")
	if !ok || typ == "*" || !isMIMEToken(typ) || (sub != "*" && !isMIMEToken(sub)) {
		return false
	}
	for i := 0; i < len(params); i++ {
		if params[i] <= ' ' || params[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isMIMEToken: token of RFC 2045 section 5.1, any CHAR but SPACE, CTLs and
// tspecials.
func isMIMEToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
