package coding

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// appendUCS2 encodes text as UTF-16BE. SMPP 3.4 names the coding UCS-2,
// but handsets and SMSCs carry UTF-16 surrogate pairs in it, which is the
// only way characters beyond the BMP (emoji) survive.
func appendUCS2(dst []byte, text string) ([]byte, error) {
	dst = growBytes(dst, 2*len(text))
	for off := 0; off < len(text); {
		r, size, err := nextRune(text, off)
		if err != nil {
			return dst, err
		}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			dst = append(dst, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
		} else {
			dst = append(dst, byte(r>>8), byte(r))
		}
		off += size
	}
	return dst, nil
}

// decodeUCS2 decodes UTF-16BE. An odd length or an unpaired surrogate has
// no exact UTF-8 form and is an *OctetError.
func decodeUCS2(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", &OctetError{Coding: UCS2, Offset: len(b) - 1, Reason: "odd number of octets"}
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i])<<8 | rune(b[i+1])
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+3 < len(b):
			lo := rune(b[i+2])<<8 | rune(b[i+3])
			r := utf16.DecodeRune(u, lo)
			if r == utf8.RuneError {
				return "", &OctetError{Coding: UCS2, Offset: i, Reason: fmt.Sprintf("high surrogate 0x%04X without its low half", u)}
			}
			sb.WriteRune(r)
			i += 2
		case utf16.IsSurrogate(u):
			return "", &OctetError{Coding: UCS2, Offset: i, Reason: fmt.Sprintf("unpaired surrogate 0x%04X", u)}
		default:
			sb.WriteRune(u)
		}
	}
	return sb.String(), nil
}
