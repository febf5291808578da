// Package coding converts between UTF-8 text and the octets of an SMPP 3.4
// short_message for the data_coding values an SMS gateway meets: the GSM
// 03.38 default alphabet with its extension table (data_coding 0, unpacked
// one septet per octet as SMPP carries it, or packed seven bits per septet
// where a partner wants that), IA5/ASCII (1), Latin-1 (3), UCS-2 as UTF-16BE
// with surrogate pairs (8) and binary (4, passed through).
//
// Alphabet adds the national language shift tables of TS 23.038 annex A
// for Turkish, Spanish and Portuguese (A.2.1-A.2.3, A.3.1, A.3.3), which
// keep Turkish and Iberian text in 7 bits at the cost of a 3-octet UDH
// element each; ChooseTables picks them for a partner's languages.
//
// Every conversion is exact: Decode(c, Encode(c, s)) == s for every text s
// that fits c, and a character that does not fit is an error naming the rune
// and its byte offset, never a silent '?'. The package is pure: no I/O, no
// goroutines, no logging, no package-level state.
//
// References: 3GPP TS 23.038 section 6.2.1 (default alphabet and extension
// table), annex A (national language tables), section 6.1.2.1 (packing of septets), 3GPP TS 23.040 section
// 9.2.3.24 (fill bits after a user data header), SMPP 3.4 section 5.2.19
// (data_coding).
package coding
