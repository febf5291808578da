package coding

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Language is a national language identifier (TS 23.038 6.2.1.2.4). It
// names a locking shift table, which replaces the default alphabet, and a
// single shift table, which replaces the extension table; a message says
// which it uses with the UDH elements IEI 0x25 and 0x24 (TS 23.040
// 9.2.3.24.15-16).
type Language uint8

// The national languages this package has tables for. Spanish has only a
// single shift table. The Indic tables (4-13) are not provided.
const (
	Default    Language = 0
	Turkish    Language = 1
	Spanish    Language = 2
	Portuguese Language = 3
)

// String names the language for logs and config.
func (l Language) String() string {
	switch l {
	case Default:
		return "default"
	case Turkish:
		return "turkish"
	case Spanish:
		return "spanish"
	case Portuguese:
		return "portuguese"
	}
	return fmt.Sprintf("language(%d)", uint8(l))
}

// ParseLanguage reads the config spelling of a language (see String).
func ParseLanguage(s string) (Language, error) {
	for l := Default; l <= Portuguese; l++ {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("coding: unknown national language %q (want turkish, spanish or portuguese)", s)
}

// Tables picks the GSM 7-bit tables of a message. The zero value is the
// default alphabet and extension table, which need no UDH element.
type Tables struct {
	Locking, Single Language
}

// IsDefault reports the default alphabet with the default extension table.
func (t Tables) IsDefault() bool { return t == Tables{} }

// The national tables of TS 23.038 annex A, as pairs of a septet (one
// octet below 0x80) and the character it stands for. A locking shift table
// lists only the codes where it differs from the default alphabet (6.2.1);
// a single shift table lists every code it defines.
const (
	// A.3.1 Turkish locking shift.
	turkishLocking = "\x04€" + "\x07ı" + "\x0BĞ" + "\x0Cğ" + "\x1CŞ" + "\x1Dş" + "\x40İ" + "\x60ç"
	// A.3.3 Portuguese locking shift.
	portugueseLocking = "\x04ê" + "\x06ú" + "\x07í" + "\x08ó" + "\x09ç" + "\x0BÔ" + "\x0Cô" + "\x0EÁ" + "\x0Fá" +
		"\x12ª" + "\x13Ç" + "\x14À" + "\x15∞" + "\x16^" + "\x17\\" + "\x18€" + "\x19Ó" + "\x1A|" +
		"\x1CÂ" + "\x1Dâ" + "\x1EÊ" + "\x24º" + "\x40Í" + "\x5BÃ" + "\x5CÕ" + "\x5DÚ" +
		"\x60~" + "\x7Bã" + "\x7Cõ" + "\x7D`"
	// The part every single shift table shares with the default
	// extension table (6.2.1.1): page break, ^ { } \ [ ~ ] | and €.
	commonSingle = "\x0A\f" + "\x14^" + "\x28{" + "\x29}" + "\x2F\\" + "\x3C[" + "\x3D~" + "\x3E]" + "\x40|" + "\x65€"
	// A.2.1 Turkish single shift.
	turkishSingle = commonSingle + "\x47Ğ" + "\x49İ" + "\x53Ş" + "\x63ç" + "\x67ğ" + "\x69ı" + "\x73ş"
	// A.2.2 Spanish single shift.
	spanishSingle = commonSingle + "\x09ç" + "\x41Á" + "\x49Í" + "\x4FÓ" + "\x55Ú" + "\x61á" + "\x69í" + "\x6Fó" + "\x75ú"
	// A.2.3 Portuguese single shift.
	portugueseSingle = commonSingle + "\x05ê" + "\x09ç" + "\x0BÔ" + "\x0Cô" + "\x0EÁ" + "\x0Fá" +
		"\x12Φ" + "\x13Γ" + "\x15Ω" + "\x16Π" + "\x17Ψ" + "\x18Σ" + "\x19Θ" + "\x1FÊ" +
		"\x41À" + "\x49Í" + "\x4FÓ" + "\x55Ú" + "\x5BÃ" + "\x5CÕ" + "\x61Â" + "\x69í" + "\x6Fó" + "\x75ú" +
		"\x7Bã" + "\x7Cõ" + "\x7Fâ"
)

// lockingPairs returns the locking shift table of l as overrides of the
// default alphabet.
func lockingPairs(l Language) (string, bool) {
	switch l {
	case Default:
		return "", true
	case Turkish:
		return turkishLocking, true
	case Portuguese:
		return portugueseLocking, true
	}
	return "", false
}

// singlePairs returns the single shift table of l; Default is the
// extension table of 6.2.1.1.
func singlePairs(l Language) (string, bool) {
	switch l {
	case Default:
		return commonSingle, true
	case Turkish:
		return turkishSingle, true
	case Spanish:
		return spanishSingle, true
	case Portuguese:
		return portugueseSingle, true
	}
	return "", false
}

// eachPair calls fn for every septet/character pair of a table string.
func eachPair(pairs string, fn func(s byte, r rune)) {
	for i := 0; i < len(pairs); {
		r, n := utf8.DecodeRuneInString(pairs[i+1:])
		fn(pairs[i], r)
		i += 1 + n
	}
}

// Alphabet is the GSM 7-bit coding with a chosen pair of tables. Build one
// per partner configuration with NewAlphabet and reuse it: it is read-only
// and safe for concurrent use. The package-level Encode and Decode are the
// Default tables without the construction cost.
type Alphabet struct {
	tables Tables
	basic  [128]rune
	// ext holds the single shift table; 0 marks an undefined code.
	ext [128]rune
	// enc maps a character to its septet, or escape<<8|septet.
	enc map[rune]uint16
}

// NewAlphabet builds the alphabet for t. A language without the table asked
// for (Spanish has no locking shift table) is ErrUnsupported.
func NewAlphabet(t Tables) (*Alphabet, error) {
	a := &Alphabet{tables: t, enc: make(map[rune]uint16, 160)}
	if err := fillTables(t, &a.basic, &a.ext); err != nil {
		return nil, err
	}
	// Extension first, so that a character in both tables (Portuguese
	// has several) takes the one-septet form.
	for s, r := range a.ext {
		if r != 0 {
			a.enc[r] = escape<<8 | uint16(s)
		}
	}
	for s, r := range a.basic {
		if s != escape {
			a.enc[r] = uint16(s)
		}
	}
	return a, nil
}

// fillTables writes the decoding tables of t.
func fillTables(t Tables, basic, ext *[128]rune) error {
	lock, okL := lockingPairs(t.Locking)
	single, okS := singlePairs(t.Single)
	if !okL || !okS {
		return fmt.Errorf("coding: tables locking=%v single=%v: %w", t.Locking, t.Single, ErrUnsupported)
	}
	for s := range basic {
		basic[s] = basicRune(byte(s))
	}
	eachPair(lock, func(s byte, r rune) { basic[s] = r })
	eachPair(single, func(s byte, r rune) { ext[s] = r })
	return nil
}

// DecodeGSM7 decodes unpacked septets with tables t, as the UDH of a
// received message names them (concat.Inbound.Tables). It builds no
// encoding map, so it suits one-off decoding better than NewAlphabet.
func DecodeGSM7(septets []byte, t Tables) (string, error) {
	if t.IsDefault() {
		return decodeGSM7(septets)
	}
	var basic, ext [128]rune
	if err := fillTables(t, &basic, &ext); err != nil {
		return "", err
	}
	return decodeSeptets(septets, func(s byte) rune { return basic[s] }, func(s byte) (rune, bool) {
		return ext[s], ext[s] != 0
	})
}

// Tables returns the tables a was built for.
func (a *Alphabet) Tables() Tables { return a.tables }

// AppendEncode appends the unpacked septets of text.
func (a *Alphabet) AppendEncode(dst []byte, text string) ([]byte, error) {
	dst = growBytes(dst, len(text)+16)
	for off := 0; off < len(text); {
		r, size, err := nextRune(text, off)
		if err != nil {
			return dst, err
		}
		code, ok := a.enc[r]
		switch {
		case !ok:
			return dst, &RuneError{Coding: GSM7, Rune: r, Offset: off}
		case code > 0xFF:
			dst = append(dst, escape, byte(code))
		default:
			dst = append(dst, byte(code))
		}
		off += size
	}
	return dst, nil
}

// Decode converts unpacked septets to text, with the escape rules of
// decodeGSM7.
func (a *Alphabet) Decode(septets []byte) (string, error) {
	return decodeSeptets(septets, func(s byte) rune { return a.basic[s] }, func(s byte) (rune, bool) {
		return a.ext[s], a.ext[s] != 0
	})
}

// RuneLength is the septets r takes (1, 2 with an escape), false when r is
// in neither table.
func (a *Alphabet) RuneLength(r rune) (int, bool) {
	code, ok := a.enc[r]
	if !ok {
		return 0, false
	}
	if code > 0xFF {
		return 2, true
	}
	return 1, true
}

// Length is the septets of text, a *RuneError for a character that does
// not fit.
func (a *Alphabet) Length(text string) (int, error) {
	n := 0
	for off := 0; off < len(text); {
		r, size, err := nextRune(text, off)
		if err != nil {
			return 0, err
		}
		u, ok := a.RuneLength(r)
		if !ok {
			return 0, &RuneError{Coding: GSM7, Rune: r, Offset: off}
		}
		n += u
		off += size
	}
	return n, nil
}

// ChooseTables picks GSM 7-bit tables for text among the partner's
// languages: the default tables when they fit (no UDH element needed),
// else for each language in order its single shift table alone, then its
// locking and single shift tables together. false means none fits: send
// UCS2.
func ChooseTables(text string, langs []Language) (Tables, bool) {
	if _, err := Length(GSM7, text); err == nil {
		return Tables{}, true
	}
	for _, l := range langs {
		for _, t := range []Tables{{Single: l}, {Locking: l, Single: l}} {
			a, err := NewAlphabet(t)
			if err != nil {
				continue
			}
			if _, err := a.Length(text); err == nil {
				return t, true
			}
		}
	}
	return Tables{}, false
}
