// Package pctenc percent-encodes chosen bytes of a string (RFC 3986
// section 2.1 style, upper-case hex), for names that must not contain a
// separator: Redis key tags and the members of stored sets.
package pctenc

import "strings"

// Escape percent-encodes every byte of s found in special, which should
// hold '%' itself so that the encoding reads back unambiguously
// (url.PathUnescape reads it).
func Escape(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(special, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
