package coding

import "strings"

// Fold replaces the typographic characters that phones and RCS clients
// put in ordinary text (curly quotes, dashes, ellipsis, no-break and
// other fixed-width spaces) with the plain ASCII characters they stand
// for, and drops invisible format characters (soft hyphen, zero-width
// space and joiners, byte order mark). One such character outside the
// GSM 03.38 alphabet sends a whole text as UCS-2, at 70 characters an
// SMS instead of 160 (TS 23.038 6.2.1, 6.2.3). Every replacement is in
// the GSM 7 default alphabet, IA5 and Latin-1. Text with nothing to fold
// is returned as it is.
func Fold(text string) string {
	if strings.IndexFunc(text, func(r rune) bool { _, ok := foldRune(r); return ok }) < 0 {
		return text
	}
	var sb strings.Builder
	sb.Grow(len(text))
	for _, r := range text {
		if s, ok := foldRune(r); ok {
			sb.WriteString(s)
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// foldRune is the replacement of a typographic character.
func foldRune(r rune) (string, bool) {
	switch r {
	case '\u2018', '\u2019', '\u201A', '\u201B', '\u2032', '\u02BC', '\u2039', '\u203A':
		return "'", true
	case '\u201C', '\u201D', '\u201E', '\u201F', '\u2033', '\u00AB', '\u00BB':
		return `"`, true
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212':
		return "-", true
	case '\u2026':
		return "...", true
	case '\u00A0', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200A', '\u202F', '\u205F', '\u3000':
		return " ", true
	case '\u00AD', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
		return "", true
	case '\u2022':
		return "*", true
	}
	return "", false
}
