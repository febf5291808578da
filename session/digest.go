package session

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
)

// digestChallenge is a parsed "Digest ..." WWW-Authenticate value
// (RFC 2617 section 3.2.1, as RFC 4976 section 5.1 uses it).
type digestChallenge struct {
	Realm, Nonce, Opaque, Algorithm string
	QOP                             []string
	Stale                           bool
}

// parseDigestParams splits `Digest a="b", c=d` into its parameters.
func parseDigestParams(v string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("session: auth scheme %q is not Digest", scheme)
	}
	params := make(map[string]string)
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimLeft(rest, " ,\t") {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("session: digest parameter without '=' in %q", v)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimLeft(after, " ")
		var val string
		if strings.HasPrefix(after, `"`) {
			end := 1
			var b strings.Builder
			for ; end < len(after) && after[end] != '"'; end++ {
				if after[end] == '\\' && end+1 < len(after) {
					end++
				}
				b.WriteByte(after[end])
			}
			if end >= len(after) {
				return nil, fmt.Errorf("session: unterminated quoted digest parameter %s", name)
			}
			val, rest = b.String(), after[end+1:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		params[name] = val
	}
	return params, nil
}

func parseDigestChallenge(v string) (digestChallenge, error) {
	p, err := parseDigestParams(v)
	if err != nil {
		return digestChallenge{}, err
	}
	ch := digestChallenge{Realm: p["realm"], Nonce: p["nonce"], Opaque: p["opaque"], Algorithm: p["algorithm"],
		Stale: strings.EqualFold(p["stale"], "true")}
	if ch.Nonce == "" {
		return digestChallenge{}, fmt.Errorf("session: digest challenge without nonce")
	}
	if ch.Algorithm != "" && !strings.EqualFold(ch.Algorithm, "MD5") {
		return digestChallenge{}, fmt.Errorf("session: digest algorithm %q not supported", ch.Algorithm)
	}
	for _, q := range strings.Split(p["qop"], ",") {
		if q = strings.TrimSpace(q); q != "" {
			ch.QOP = append(ch.QOP, q)
		}
	}
	return ch, nil
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestResponse computes the request-digest of RFC 2617 section 3.2.2.1;
// for MSRP the method is AUTH and the uri the relay's URI (RFC 4976
// section 5.1). qop is "auth" or empty.
func digestResponse(username, realm, password, method, uri, nonce, nc, cnonce, qop string) string {
	ha1 := md5hex(username + ":" + realm + ":" + password)
	ha2 := md5hex(method + ":" + uri)
	if qop == "" {
		return md5hex(ha1 + ":" + nonce + ":" + ha2)
	}
	return md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

// authorization builds the Authorization value answering ch.
func authorization(ch digestChallenge, username, password, uri, cnonce string, nc int) string {
	qop := ""
	for _, q := range ch.QOP {
		if strings.EqualFold(q, "auth") {
			qop = "auth"
		}
	}
	ncs := fmt.Sprintf("%08x", nc)
	resp := digestResponse(username, ch.Realm, password, "AUTH", uri, ch.Nonce, ncs, cnonce, qop)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s"`,
		quoteEscape(username), quoteEscape(ch.Realm), quoteEscape(ch.Nonce), uri, resp)
	if qop != "" {
		fmt.Fprintf(&b, `, qop=auth, nc=%s, cnonce="%s"`, ncs, cnonce)
	}
	if ch.Opaque != "" {
		fmt.Fprintf(&b, `, opaque="%s"`, quoteEscape(ch.Opaque))
	}
	b.WriteString(", algorithm=MD5")
	return b.String()
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// VerifyDigest checks an Authorization value against the password, for
// relays (the test relay uses it). It returns the nonce it answered.
func VerifyDigest(authz, password, method string) (username, nonce string, ok bool) {
	p, err := parseDigestParams(authz)
	if err != nil {
		return "", "", false
	}
	want := digestResponse(p["username"], p["realm"], password, method, p["uri"], p["nonce"], p["nc"], p["cnonce"], p["qop"])
	return p["username"], p["nonce"], p["response"] != "" && subtleEqual(want, strings.ToLower(p["response"]))
}
