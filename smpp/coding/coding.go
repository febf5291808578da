package coding

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Coding is the alphabet of a short_message, named by its SMPP 3.4
// data_coding value (section 5.2.19). The values equal gosmpp's
// data.Encoding.DataCoding() for the same alphabets, so a Coding converts
// to and from a PDU field with a plain byte conversion.
type Coding byte

// The data_coding values this package converts.
const (
	// GSM7 is data_coding 0, "SMSC default alphabet", taken as the GSM
	// 03.38 default alphabet with the extension table (TS 23.038 6.2.1).
	GSM7 Coding = 0x00
	// IA5 is data_coding 1, IA5 (CCITT T.50), that is ASCII.
	IA5 Coding = 0x01
	// Latin1 is data_coding 3, ISO-8859-1.
	Latin1 Coding = 0x03
	// Binary is data_coding 4, octets passed through untouched.
	Binary Coding = 0x04
	// UCS2 is data_coding 8, carried as UTF-16BE with surrogate pairs so
	// that characters beyond the BMP (emoji) survive.
	UCS2 Coding = 0x08
)

// String names the coding for logs and errors.
func (c Coding) String() string {
	switch c {
	case GSM7:
		return "gsm7"
	case IA5:
		return "ia5"
	case Latin1:
		return "latin1"
	case Binary:
		return "binary"
	case UCS2:
		return "ucs2"
	}
	return fmt.Sprintf("data_coding(0x%02x)", byte(c))
}

// FromDataCoding maps a data_coding octet off the wire to the Coding that
// decodes it, taking data_coding 0 and the other default-alphabet schemes
// as GSM7: ParseScheme with GSM7, keeping the alphabet only.
func FromDataCoding(dc byte) (Coding, error) {
	s, err := ParseScheme(dc, GSM7)
	return s.Coding, err
}

// Encode converts UTF-8 text to short_message octets in coding c. GSM7
// gives unpacked septets, one per octet, extension characters as the
// escape 0x1B and their code; use Pack for the packed form. Binary returns
// the bytes of text unchanged.
func Encode(c Coding, text string) ([]byte, error) {
	return AppendEncode(nil, c, text)
}

// AppendEncode is Encode appending to dst, so a caller can reuse a buffer.
func AppendEncode(dst []byte, c Coding, text string) ([]byte, error) {
	switch c {
	case GSM7:
		return appendGSM7(dst, text)
	case IA5:
		return appendOctets(dst, c, text, 0x7F)
	case Latin1:
		return appendOctets(dst, c, text, 0xFF)
	case Binary:
		return append(dst, text...), nil
	case UCS2:
		return appendUCS2(dst, text)
	}
	return dst, fmt.Errorf("coding: encode %v: %w", c, ErrUnsupported)
}

// Decode converts short_message octets in coding c to UTF-8 text. GSM7
// expects unpacked septets; use Unpack first for the packed form. Binary
// returns the octets as a string unchanged (not necessarily UTF-8).
func Decode(c Coding, b []byte) (string, error) {
	switch c {
	case GSM7:
		return decodeGSM7(b)
	case IA5:
		return decodeOctets(c, b, 0x7F)
	case Latin1:
		return decodeOctets(c, b, 0xFF)
	case Binary:
		return string(b), nil
	case UCS2:
		return decodeUCS2(b)
	}
	return "", fmt.Errorf("coding: decode %v: %w", c, ErrUnsupported)
}

// Length is the size of text in the units that fill an SMS segment for
// coding c: septets for GSM7 (an extension character counts 2), UTF-16
// code units for UCS2 (a character beyond the BMP counts 2), octets for
// the others. A character that does not fit c is a *RuneError.
func Length(c Coding, text string) (int, error) {
	if c == Binary {
		return len(text), nil
	}
	n := 0
	for off := 0; off < len(text); {
		r, size, err := nextRune(text, off)
		if err != nil {
			return 0, err
		}
		u, ok := RuneLength(c, r)
		if !ok {
			return 0, &RuneError{Coding: c, Rune: r, Offset: off}
		}
		n += u
		off += size
	}
	return n, nil
}

// RuneLength is the number of units one rune takes in coding c (see
// Length), and false when the rune does not fit c. Splitters that cut at
// word or grapheme boundaries add these up.
func RuneLength(c Coding, r rune) (int, bool) {
	switch c {
	case GSM7:
		if _, ok := basicSeptet(r); ok {
			return 1, true
		}
		if _, ok := extensionSeptet(r); ok {
			return 2, true
		}
		return 0, false
	case IA5:
		return 1, r >= 0 && r <= 0x7F
	case Latin1:
		return 1, r >= 0 && r <= 0xFF
	case UCS2:
		if !utf8.ValidRune(r) {
			return 0, false
		}
		if r > 0xFFFF {
			return 2, true
		}
		return 1, true
	case Binary:
		return utf8.RuneLen(r), utf8.ValidRune(r)
	}
	return 0, false
}

// Choose picks the coding for text when the partner forces none: GSM7
// when every character fits the default alphabet or its extension table,
// else UCS2 (TS 23.038 6.2.1; a partner that forces a coding passes it to
// Encode directly and gets a *RuneError for what does not fit).
func Choose(text string) Coding {
	if _, err := Length(GSM7, text); err == nil {
		return GSM7
	}
	return UCS2
}

// appendOctets encodes runes up to max as one octet each (IA5, Latin-1).
func appendOctets(dst []byte, c Coding, text string, max rune) ([]byte, error) {
	dst = growBytes(dst, len(text))
	for off := 0; off < len(text); {
		r, size, err := nextRune(text, off)
		if err != nil {
			return dst, err
		}
		if r > max {
			return dst, &RuneError{Coding: c, Rune: r, Offset: off}
		}
		dst = append(dst, byte(r))
		off += size
	}
	return dst, nil
}

// decodeOctets maps each octet up to max to the rune of the same value:
// IA5 is ASCII and Latin-1 is the first 256 code points of Unicode.
func decodeOctets(c Coding, b []byte, max byte) (string, error) {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for i, o := range b {
		if o > max {
			return "", &OctetError{Coding: c, Offset: i, Reason: fmt.Sprintf("octet 0x%02x is out of range", o)}
		}
		if o < utf8.RuneSelf {
			sb.WriteByte(o)
		} else {
			sb.WriteRune(rune(o))
		}
	}
	return sb.String(), nil
}

// nextRune decodes the rune at off of text. Invalid UTF-8 (a one-byte
// RuneError) is an error: it has no exact form in any text coding.
func nextRune(text string, off int) (rune, int, error) {
	r, size := utf8.DecodeRuneInString(text[off:])
	if r == utf8.RuneError && size <= 1 {
		return r, size, fmt.Errorf("coding: byte offset %d: %w", off, ErrInvalidUTF8)
	}
	return r, size, nil
}
