package cpim

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The character classes of RFC 3862 section 3.6 (Collected Message Header
// Syntax).

// isNameChar reports whether c is a NAMECHAR: printable US-ASCII but for
// the specials ( ) < > @ , ; : \ " / [ ] ? = { } . and space.
func isNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isTokenChar reports whether c may appear in a Token: a NAMECHAR, the dot,
// or a byte of a multi-byte UTF-8 sequence (UCS-high); the caller checks
// that the sequence is valid.
func isTokenChar(c byte) bool { return isNameChar(c) || c == '.' || c >= utf8.RuneSelf }

// validName reports whether s is a Name: 1*NAMECHAR.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// validToken reports whether s is a Token: 1*TOKENCHAR.
func validToken(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// splitName splits a Header-name, [ Name-prefix "." ] Name (RFC 3862
// section 3.1), into prefix and name. ok is false when either part is not
// a Name.
func splitName(full string) (prefix, name string, ok bool) {
	prefix, name, dotted := strings.Cut(full, ".")
	if !dotted {
		return "", full, validName(full)
	}
	return prefix, name, validName(prefix) && validName(name)
}

// validHeaderName reports whether s is a Header-name.
func validHeaderName(s string) bool {
	_, _, ok := splitName(s)
	return ok
}

// validLang reports whether s looks like a Language-tag (RFC 3862 section
// 3.3 refers to RFC 3066): letters, digits and hyphens between them.
func validLang(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validURI reports whether s can stand between the angle brackets of a
// From, To, cc or NS header: an absolute URI (scheme ":" something) with no
// space, control character, quote or angle bracket. It does not check the
// scheme-specific part: the IWF relays URIs, it does not dereference them.
func validURI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || colon == len(s)-1 || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	for i := colon + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == 0x7f, c == '<', c == '>', c == '"':
			return false
		}
	}
	return true
}

// isCTL reports whether c is a control character other than HTAB. CPIM
// header lines may carry none (RFC 3862 section 2.2), MIME header lines
// none but HTAB; a stray HTAB is read as white space.
func isCTL(c byte) bool { return c < ' ' && c != '\t' || c == 0x7f }

// isSpace reports whether c is linear white space within a line.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// trimSpace trims SP and HTAB at both ends: RFC 3862 section 2.2 allows
// neither around a value, and senders that add some mean nothing by it.
func trimSpace(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	for s != "" && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s, escaping what RFC 3862 section 2.3 requires:
// control characters (U+0000 to U+001F and U+007F) and the backslash that
// introduces escapes. In a quoted String (inString) the double quote is
// escaped too, as Str-char excludes it. The short forms \b \t \n \r are
// used where they exist.
func appendEscaped(b []byte, s string, inString bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '"' && inString:
			b = append(b, '\\', '"')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendValue appends a Header-value. Besides the escapes of appendEscaped,
// a space at either end is written as \u0020: readers trim white space
// around a value, and the escape keeps a space that belongs to it.
func appendValue(b []byte, s string) []byte {
	const escapedSpace = `\u0020`
	if s == " " {
		return append(b, escapedSpace...)
	}
	lead := s != "" && s[0] == ' '
	trail := len(s) > 1 && s[len(s)-1] == ' '
	if lead {
		b = append(b, escapedSpace...)
		s = s[1:]
	}
	if trail {
		s = s[:len(s)-1]
	}
	b = appendEscaped(b, s, false)
	if trail {
		b = append(b, escapedSpace...)
	}
	return b
}

// appendString appends s as a quoted String.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s, true)
	return append(b, '"')
}

// unescape resolves the escapes of RFC 3862 section 2.3. \uXXXX names a
// UTF-16 code unit, so a surrogate pair written as two escapes is joined;
// a lone surrogate becomes U+FFFD. A backslash that starts no valid escape
// is kept as it is: senders that never heard of the rule write Windows
// paths and emoticons, and their text should survive.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case '\\', '"', '\'':
			b.WriteByte(e)
			i += 2
		case 'b', 't', 'n', 'r':
			b.WriteByte(shortEscape(e))
			i += 2
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				b.WriteByte(c)
				i++
				continue
			}
			i += 6
			if utf16.IsSurrogate(r) {
				var low rune
				if r < 0xdc00 { // a high surrogate: its pair may follow
					if l, ok := lowSurrogate(s[i:]); ok {
						low = l
						i += 6
					}
				}
				r = utf16.DecodeRune(r, low) // U+FFFD unless a valid pair
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func shortEscape(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 't':
		return '\t'
	case 'n':
		return '\n'
	}
	return '\r'
}

// lowSurrogate reads a \uXXXX escape naming a low surrogate at the start
// of s.
func lowSurrogate(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	r, ok := hex4(s[2:])
	return r, ok && 0xdc00 <= r && r <= 0xdfff
}

// hex4 reads exactly four hexadecimal digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// readString reads a quoted String at the start of s (s[0] is the opening
// quote) and returns its unescaped content and what follows the closing
// quote.
func readString(s string) (val, rest string, ok bool) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped character cannot close the string
		case '"':
			return unescape(s[1:i]), s[i+1:], true
		}
	}
	return "", "", false
}
