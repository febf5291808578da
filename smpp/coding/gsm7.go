package coding

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// escape is the septet that selects the extension table for the septet
// after it (TS 23.038 6.2.1.1).
const escape = 0x1B

// appendGSM7 encodes text as unpacked septets.
func appendGSM7(dst []byte, text string) ([]byte, error) {
	// Room for a few extension characters, which take two septets.
	dst = growBytes(dst, len(text)+16)
	for off := 0; off < len(text); {
		// ASCII letters, digits and most punctuation keep their code in the
		// default alphabet: take the fast path before the table.
		if o := text[off]; asciiSame(o) {
			dst = append(dst, o)
			off++
			continue
		}
		r, size, err := nextRune(text, off)
		if err != nil {
			return dst, err
		}
		if s, ok := basicSeptet(r); ok {
			dst = append(dst, s)
		} else if s, ok := extensionSeptet(r); ok {
			dst = append(dst, escape, s)
		} else {
			return dst, &RuneError{Coding: GSM7, Rune: r, Offset: off}
		}
		off += size
	}
	return dst, nil
}

// decodeGSM7 decodes unpacked septets with the default tables.
func decodeGSM7(b []byte) (string, error) {
	return decodeSeptets(b, defaultBasic, extensionRune)
}

// defaultBasic is basicRune with the ASCII-identical codes (most text)
// answered before the table switch.
func defaultBasic(s byte) rune {
	if asciiSame(s) {
		return rune(s)
	}
	return basicRune(s)
}

// decodeSeptets decodes unpacked septets with a basic table (the default
// alphabet or a locking shift table) and an extension table (the default
// one or a single shift table).
func decodeSeptets(b []byte, basic func(byte) rune, ext func(byte) (rune, bool)) (string, error) {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for i := 0; i < len(b); i++ {
		s := b[i]
		if s > 0x7F {
			return "", &OctetError{Coding: GSM7, Offset: i, Reason: fmt.Sprintf("octet 0x%02x is not a septet", s)}
		}
		if s != escape {
			if r := basic(s); r < utf8.RuneSelf {
				sb.WriteByte(byte(r))
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		// TS 23.038 6.2.1.1: a second escape is reserved for another
		// extension table and "shall display a space"; a lone escape at
		// the end is shown the same way.
		if i+1 >= len(b) || b[i+1] == escape {
			sb.WriteByte(' ')
			i++
			continue
		}
		i++
		if b[i] > 0x7F {
			return "", &OctetError{Coding: GSM7, Offset: i, Reason: fmt.Sprintf("octet 0x%02x is not a septet", b[i])}
		}
		if r, ok := ext(b[i]); ok {
			sb.WriteRune(r)
		} else {
			// TS 23.038 6.2.1.1: an escape sequence with no extension
			// character is shown as the character of the main table.
			sb.WriteRune(basic(b[i]))
		}
	}
	return sb.String(), nil
}

// asciiSame reports an ASCII octet whose GSM 03.38 default-alphabet code is
// the same value: letters, digits and the punctuation of 0x20-0x3F except
// '$' (0x02 in GSM) and the currency sign 0x24.
func asciiSame(o byte) bool {
	switch {
	case o >= 'a' && o <= 'z', o >= 'A' && o <= 'Z', o >= '%' && o <= '?':
		return true
	}
	return o == ' ' || o == '!' || o == '"' || o == '#'
}

// basicRune is the TS 23.038 6.2.1 default alphabet, septet to character.
// Codes not listed are the ASCII character of the same value.
func basicRune(s byte) rune {
	switch s {
	case 0x00:
		return '@'
	case 0x01:
		return '£'
	case 0x02:
		return '$'
	case 0x03:
		return '¥'
	case 0x04:
		return 'è'
	case 0x05:
		return 'é'
	case 0x06:
		return 'ù'
	case 0x07:
		return 'ì'
	case 0x08:
		return 'ò'
	case 0x09:
		// The 1998+ table has capital C cedilla here (TS 23.038 6.2.1).
		return 'Ç'
	case 0x0A:
		return '\n'
	case 0x0B:
		return 'Ø'
	case 0x0C:
		return 'ø'
	case 0x0D:
		return '\r'
	case 0x0E:
		return 'Å'
	case 0x0F:
		return 'å'
	case 0x10:
		return 'Δ'
	case 0x11:
		return '_'
	case 0x12:
		return 'Φ'
	case 0x13:
		return 'Γ'
	case 0x14:
		return 'Λ'
	case 0x15:
		return 'Ω'
	case 0x16:
		return 'Π'
	case 0x17:
		return 'Ψ'
	case 0x18:
		return 'Σ'
	case 0x19:
		return 'Θ'
	case 0x1A:
		return 'Ξ'
	case 0x1B:
		// Only reached for a bare escape; callers handle the sequence.
		return ' '
	case 0x1C:
		return 'Æ'
	case 0x1D:
		return 'æ'
	case 0x1E:
		return 'ß'
	case 0x1F:
		return 'É'
	case 0x24:
		return '¤'
	case 0x40:
		return '¡'
	case 0x5B:
		return 'Ä'
	case 0x5C:
		return 'Ö'
	case 0x5D:
		return 'Ñ'
	case 0x5E:
		return 'Ü'
	case 0x5F:
		return '§'
	case 0x60:
		return '¿'
	case 0x7B:
		return 'ä'
	case 0x7C:
		return 'ö'
	case 0x7D:
		return 'ñ'
	case 0x7E:
		return 'ü'
	case 0x7F:
		return 'à'
	}
	return rune(s)
}

// basicSeptet is the inverse of basicRune.
func basicSeptet(r rune) (byte, bool) {
	if r < 0x80 && asciiSame(byte(r)) {
		return byte(r), true
	}
	switch r {
	case '@':
		return 0x00, true
	case '£':
		return 0x01, true
	case '$':
		return 0x02, true
	case '¥':
		return 0x03, true
	case 'è':
		return 0x04, true
	case 'é':
		return 0x05, true
	case 'ù':
		return 0x06, true
	case 'ì':
		return 0x07, true
	case 'ò':
		return 0x08, true
	case 'Ç':
		return 0x09, true
	case '\n':
		return 0x0A, true
	case 'Ø':
		return 0x0B, true
	case 'ø':
		return 0x0C, true
	case '\r':
		return 0x0D, true
	case 'Å':
		return 0x0E, true
	case 'å':
		return 0x0F, true
	case 'Δ':
		return 0x10, true
	case '_':
		return 0x11, true
	case 'Φ':
		return 0x12, true
	case 'Γ':
		return 0x13, true
	case 'Λ':
		return 0x14, true
	case 'Ω':
		return 0x15, true
	case 'Π':
		return 0x16, true
	case 'Ψ':
		return 0x17, true
	case 'Σ':
		return 0x18, true
	case 'Θ':
		return 0x19, true
	case 'Ξ':
		return 0x1A, true
	case 'Æ':
		return 0x1C, true
	case 'æ':
		return 0x1D, true
	case 'ß':
		return 0x1E, true
	case 'É':
		return 0x1F, true
	case '¤':
		return 0x24, true
	case '¡':
		return 0x40, true
	case 'Ä':
		return 0x5B, true
	case 'Ö':
		return 0x5C, true
	case 'Ñ':
		return 0x5D, true
	case 'Ü':
		return 0x5E, true
	case '§':
		return 0x5F, true
	case '¿':
		return 0x60, true
	case 'ä':
		return 0x7B, true
	case 'ö':
		return 0x7C, true
	case 'ñ':
		return 0x7D, true
	case 'ü':
		return 0x7E, true
	case 'à':
		return 0x7F, true
	}
	return 0, false
}

// extensionRune is the TS 23.038 6.2.1.1 extension table: the character
// of the septet after an escape.
func extensionRune(s byte) (rune, bool) {
	switch s {
	case 0x0A:
		// Page break, shown as a form feed.
		return '\f', true
	case 0x14:
		return '^', true
	case 0x28:
		return '{', true
	case 0x29:
		return '}', true
	case 0x2F:
		return '\\', true
	case 0x3C:
		return '[', true
	case 0x3D:
		return '~', true
	case 0x3E:
		return ']', true
	case 0x40:
		return '|', true
	case 0x65:
		return '€', true
	}
	return 0, false
}

// extensionSeptet is the inverse of extensionRune.
func extensionSeptet(r rune) (byte, bool) {
	switch r {
	case '\f':
		return 0x0A, true
	case '^':
		return 0x14, true
	case '{':
		return 0x28, true
	case '}':
		return 0x29, true
	case '\\':
		return 0x2F, true
	case '[':
		return 0x3C, true
	case '~':
		return 0x3D, true
	case ']':
		return 0x3E, true
	case '|':
		return 0x40, true
	case '€':
		return 0x65, true
	}
	return 0, false
}

// growBytes makes room for n more bytes in one allocation.
func growBytes(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([]byte, len(dst), len(dst)+n)
	copy(grown, dst)
	return grown
}
