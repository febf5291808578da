package receipt

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SMPP 3.4 values a receipt involves.
const (
	// ESMClassReceipt is the esm_class message type "SMSC Delivery
	// Receipt" (SMPP 3.4 5.2.12, bits 5-2 = 0001).
	ESMClassReceipt byte = 0x04
	// esmClassIntermediate is "Intermediate Delivery Notification"
	// (bits 5-2 = 1000).
	esmClassIntermediate byte = 0x20
	// esmClassTypeMask selects the message type bits 5-2.
	esmClassTypeMask byte = 0x3C
	// TagReceiptedMessageID is receipted_message_id (5.3.2.12), a
	// C-octet string of up to 65 octets.
	TagReceiptedMessageID uint16 = 0x001E
	// TagMessageState is message_state (5.3.2.35), 1 octet.
	TagMessageState uint16 = 0x0427
	// TagNetworkErrorCode is network_error_code (5.3.2.31), 3 octets.
	TagNetworkErrorCode uint16 = 0x0423
	// maxTextRunes is the "first 20 characters of the short message" of
	// Appendix B's text: field.
	maxTextRunes = 20
	// maxIDOctets is the C-octet string limit of receipted_message_id
	// without its terminating NUL.
	maxIDOctets = 64
)

// IsReceipt reports whether esm_class marks a delivery receipt: an SMSC
// delivery receipt or an intermediate delivery notification.
func IsReceipt(esmClass byte) bool {
	t := esmClass & esmClassTypeMask
	return t == ESMClassReceipt || t == esmClassIntermediate
}

// Params are the receipt TLVs as raw values, nil when absent. The transport
// copies them from and to its PDU's optional parameters.
type Params struct {
	ReceiptedMessageID []byte
	MessageState       []byte
	NetworkErrorCode   []byte
}

// NetworkError is network_error_code (SMPP 3.4 5.3.2.31).
type NetworkError struct {
	// Type: 1 ANSI-136, 2 IS-95, 3 GSM, ...
	Type uint8
	Code uint16
}

// Receipt is a parsed delivery receipt.
type Receipt struct {
	// ID is the SMSC message id the receipt is about: receipted_message_id
	// when present, else the text's id: field. Correlate it with the
	// submit_sm_resp message_id.
	ID string
	// TextID is the id: field of the text, which some SMSCs write in
	// another base than the TLV (decimal against hex); it is ID when the
	// text has none and ID holds no white space.
	TextID string
	// State is message_state when present, else stat:, else Unknown.
	State State
	// ErrorCode is err: (network specific, decimal; hex accepted).
	ErrorCode int
	// Network is network_error_code when present.
	Network *NetworkError
	// Submitted and Delivered are sub: and dlvrd:.
	Submitted, Delivered int
	// SubmitDate and DoneDate are the text's dates in UTC (Appendix B
	// names no zone), zero when absent or invalid.
	SubmitDate, DoneDate time.Time
	// Text is text:, the start of the original message.
	Text string
}

// field keys of Appendix B, in the order Build writes them.
const (
	keyID = iota
	keySub
	keyDlvrd
	keySubmitDate
	keyDoneDate
	keyStat
	keyErr
	keyText
	numKeys
)

// Parse reads a receipt from short_message (or message_payload) text and
// the receipt TLVs. Unknown keys and malformed values are skipped rather
// than failing the receipt, since SMSC formats vary; only a message with no
// receipt field at all is an error (ErrNotReceipt).
func Parse(text []byte, p Params) (Receipt, error) {
	var vals [numKeys]string
	var seen [numKeys]bool
	// Many SMSCs end short_message with the NUL of a C string, counted in
	// sm_length; it would end up in the text: excerpt.
	text = bytes.TrimRight(text, "\x00")
	found := scan(string(text), &vals, &seen)
	hasTLV := p.ReceiptedMessageID != nil || p.MessageState != nil || p.NetworkErrorCode != nil
	if !found && !hasTLV {
		return Receipt{}, ErrNotReceipt
	}
	r := Receipt{
		TextID:     vals[keyID],
		State:      Unknown,
		Submitted:  number(vals[keySub]),
		Delivered:  number(vals[keyDlvrd]),
		ErrorCode:  number(vals[keyErr]),
		SubmitDate: date(vals[keySubmitDate]),
		DoneDate:   date(vals[keyDoneDate]),
		Text:       vals[keyText],
	}
	if st, ok := ParseStat(vals[keyStat]); ok {
		r.State = st
	}
	r.ID = r.TextID
	if p.ReceiptedMessageID != nil {
		id := p.ReceiptedMessageID
		if i := bytes.IndexByte(id, 0); i >= 0 {
			id = id[:i]
		}
		if len(id) > 0 && len(id) <= maxIDOctets {
			r.ID = string(id)
		}
	}
	if r.TextID == "" && textSafe(r.ID) {
		r.TextID = r.ID
	}
	// SMPP 3.4 5.3.2.35: message_state is one octet of 5.2.28's values.
	if len(p.MessageState) == 1 && State(p.MessageState[0]) >= Enroute && State(p.MessageState[0]) <= Rejected {
		r.State = State(p.MessageState[0])
	}
	if n := p.NetworkErrorCode; len(n) == 3 {
		r.Network = &NetworkError{Type: n[0], Code: uint16(n[1])<<8 | uint16(n[2])}
	}
	return r, nil
}

// Build writes r as Appendix B text and TLVs, for a deliver_sm with
// esm_class ESMClassReceipt toward a partner that asked for receipts
// (registered_delivery). The text: field keeps the first 20 characters of
// r.Text as GSM-7-safe ASCII (see excerpt); dates use the YYMMDDhhmm form
// of the appendix, zero dates as 0000000000. The whole text is then
// printable ASCII that every GSM 03.38 default alphabet carries in one
// septet a character, so the receipt always fits one data_coding 0
// message and parsers that read it as ASCII or GSM-7 agree.
func Build(r Receipt) ([]byte, Params) {
	b := AppendText(make([]byte, 0, 128+len(r.TextID)+len(r.ID)), r)
	_, p := AppendParams(nil, r)
	return b, p
}

// AppendText appends the text Build writes for r to dst.
func AppendText(dst []byte, r Receipt) []byte {
	id := r.TextID
	if id == "" && textSafe(r.ID) {
		id = r.ID
	}
	b := append(append(dst, "id:"...), id...)
	b = appendNumber(append(b, " sub:"...), r.Submitted)
	b = appendNumber(append(b, " dlvrd:"...), r.Delivered)
	b = appendDate(append(b, " submit date:"...), r.SubmitDate)
	b = appendDate(append(b, " done date:"...), r.DoneDate)
	b = append(append(b, " stat:"...), r.state().Stat()...)
	b = appendNumber(append(b, " err:"...), r.ErrorCode)
	return appendExcerpt(append(b, " text:"...), r.Text, maxTextRunes)
}

// AppendParams appends the TLV values Build makes for r to dst, and
// returns the Params, whose values are pieces of it (each capped, so
// that appending to one leaves the others alone): a caller with a
// buffer of its own makes them without an allocation each.
func AppendParams(dst []byte, r Receipt) ([]byte, Params) {
	var p Params
	// One growth for all: the pieces share one array.
	dst = growBytes(dst, len(r.ID)+1+1+3)
	piece := func(start int) []byte { return dst[start:len(dst):len(dst)] }
	// A C-octet string can hold neither a NUL nor more than 64 octets
	// (SMPP 3.4 5.3.2.12); such an id goes in the text only.
	if r.ID != "" && len(r.ID) <= maxIDOctets && !strings.Contains(r.ID, "\x00") {
		start := len(dst)
		dst = append(append(dst, r.ID...), 0)
		p.ReceiptedMessageID = piece(start)
	}
	start := len(dst)
	dst = append(dst, byte(r.state()))
	p.MessageState = piece(start)
	if r.Network != nil {
		start := len(dst)
		dst = append(dst, r.Network.Type, byte(r.Network.Code>>8), byte(r.Network.Code))
		p.NetworkErrorCode = piece(start)
	}
	return dst, p
}

// growBytes makes room for n more octets in one allocation
// (slices.Grow makes two under the race detector).
func growBytes(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([]byte, len(dst), len(dst)+n)
	copy(grown, dst)
	return grown
}

// state is the state Build writes: Unknown for one outside SMPP 3.4
// 5.2.28.
func (r Receipt) state() State {
	if r.State < Enroute || r.State > Rejected {
		return Unknown
	}
	return r.State
}

// scan finds the Appendix B keys in s and stores their trimmed values. A
// key counts at the start or after white space, in any case, followed by
// optional blanks and a colon; its value runs to the next key. text: takes
// the rest of the message, so message text that looks like a key stays
// text. The first occurrence of a key wins.
func scan(s string, vals *[numKeys]string, seen *[numKeys]bool) bool {
	found := false
	cur, start := -1, 0
	for i := 0; i < len(s); i++ {
		if i > 0 && !isSpace(s[i-1]) {
			continue
		}
		k, n := matchKey(s[i:])
		if k < 0 {
			continue
		}
		if cur >= 0 && !seen[cur] {
			vals[cur], seen[cur] = strings.TrimSpace(s[start:i]), true
		}
		found = true
		cur, start = k, i+n
		if k == keyText {
			break
		}
		i += n - 1
	}
	if cur >= 0 && !seen[cur] {
		v := s[start:]
		if cur == keyText {
			v = strings.TrimLeft(v, " ")
		} else {
			v = strings.TrimSpace(v)
		}
		vals[cur], seen[cur] = v, true
	}
	return found
}

// matchKey matches a key and its colon at the start of s, returning the
// key and the length matched, or -1.
func matchKey(s string) (int, int) {
	names := [...]struct {
		key  int
		word string
	}{
		{keyID, "id"}, {keySub, "sub"}, {keyDlvrd, "dlvrd"},
		{keySubmitDate, "submit date"}, {keySubmitDate, "submit_date"}, {keySubmitDate, "submitdate"},
		{keyDoneDate, "done date"}, {keyDoneDate, "done_date"}, {keyDoneDate, "donedate"},
		{keyStat, "stat"}, {keyStat, "status"}, {keyErr, "err"}, {keyText, "text"},
	}
	for _, nm := range names {
		if len(s) < len(nm.word) || !strings.EqualFold(s[:len(nm.word)], nm.word) {
			continue
		}
		j := len(nm.word)
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j < len(s) && s[j] == ':' {
			return nm.key, j + 1
		}
	}
	return -1, 0
}

// textSafe reports an id that reads back the same from receipt text: no
// white space, which would end it or start a key.
func textSafe(id string) bool {
	return id != "" && strings.TrimSpace(id) == id && !strings.ContainsAny(id, " \t\r\n")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// number reads a decimal count or error code, falling back to hex (some
// SMSCs write err: in hex); anything else is 0.
func number(v string) int {
	if v == "" || len(v) > 10 {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return int(n)
	}
	if n, err := strconv.ParseUint(v, 16, 32); err == nil {
		return int(n)
	}
	return 0
}

// date reads YYMMDDhhmm (Appendix B), YYMMDDhhmmss (seconds are a common
// extension) or YYYYMMDDhhmmss (SMSCs that write the full year) as UTC,
// the two-digit years in 2000-2099. Out-of-range fields give the zero
// time rather than a normalised wrong date.
func date(v string) time.Time {
	century := 20
	switch len(v) {
	case 10, 12:
	case 14:
		c, ok := twoDigits(v[:2])
		if !ok {
			return time.Time{}
		}
		century, v = c, v[2:]
	default:
		return time.Time{}
	}
	var f [6]int
	for i := 0; i < len(v)/2; i++ {
		n, ok := twoDigits(v[2*i:])
		if !ok {
			return time.Time{}
		}
		f[i] = n
	}
	year, month, day := century*100+f[0], time.Month(f[1]), f[2]
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}
	}
	return time.Date(year, month, day, f[3], f[4], f[5], 0, time.UTC)
}

// twoDigits reads the two decimal digits at the start of v.
func twoDigits(v string) (int, bool) {
	hi, lo := v[0], v[1]
	if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
		return 0, false
	}
	return int(hi-'0')*10 + int(lo-'0'), true
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// appendDate writes YYMMDDhhmm in UTC; the zero time and years outside
// 2000-2099, which the form cannot hold, as 0000000000.
func appendDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.IsZero() || t.Year() < 2000 || t.Year() > 2099 {
		return append(b, "0000000000"...)
	}
	return t.AppendFormat(b, "0601021504")
}

// appendNumber writes n in decimal with at least three digits, as
// Appendix B shows sub:, dlvrd: and err:.
func appendNumber(b []byte, n int) []byte {
	if n >= 0 && n < 100 {
		b = append(b, '0')
		if n < 10 {
			b = append(b, '0')
		}
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// appendExcerpt writes the first n characters of s as GSM-7-safe ASCII:
// the printable ASCII characters of the default alphabet's basic table
// (TS 23.038 6.2.1) stay, typographic ones fold to them (coding.Fold's
// table: quotes, dashes, spaces), white space and control characters
// become a blank and everything else a '?'. ASCII characters that GSM-7
// has only in its extension table ([ ] { } \ ^ ~ |) or not at all (`)
// are replaced as well, so the excerpt costs one septet a character and
// reads the same to ASCII and GSM-7 parsers.
func appendExcerpt(b []byte, s string, n int) []byte {
	for _, r := range s {
		if n == 0 {
			break
		}
		n--
		switch f, ok := foldASCII(r); {
		case ok:
			b = append(b, f)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			b = append(b, ' ')
		default:
			b = append(b, '?')
		}
	}
	return b
}

// latinBase is the base letter of each Latin-1 letter U+00C0-U+00FF, '?'
// for the two signs among them (× ÷) and the letters without one.
const latinBase = "AAAAAAACEEEEIIIIDNOOOOO?OUUUUY?saaaaaaaceeeeiiiidnooooo?ouuuuy?y"

// foldASCII maps r to its GSM-7-safe ASCII character, if it has one.
func foldASCII(r rune) (byte, bool) {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return byte(r), true
	case r < utf8.RuneSelf && strings.ContainsRune(" !\"#%&'()*+,-./:;<=>?", r):
		// The ASCII characters with the same code in the GSM 7 default
		// alphabet: '@' would be septet 0x00, a NUL to a C-string parser,
		// and '$', '_' have other codes.
		return byte(r), true
	case r >= 0xC0 && r <= 0xFF:
		if b := latinBase[r-0xC0]; b != '?' {
			return b, true
		}
		return 0, false
	}
	switch r {
	case '\u2018', '\u2019', '\u201A', '\u201B', '\u2032', '\u02BC':
		return '\'', true
	case '\u201C', '\u201D', '\u201E', '\u201F', '\u2033', '\u00AB', '\u00BB':
		return '"', true
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212':
		return '-', true
	case '\u00A0', '\u202F', '\u2007', '\u2009':
		return ' ', true
	}
	return 0, false
}

// IDForms lists the spellings under which a message id may have been
// recorded: the id itself and, when it reads as a number, its decimal and
// hexadecimal (lower and upper case) forms. Many SMSCs answer submit_sm
// with a hex message_id and write the receipt id: in decimal, or the
// reverse; a caller that stored the submit_sm_resp id looks each form up.
func IDForms(id string) []string {
	forms := []string{id}
	add := func(s string) {
		for _, f := range forms {
			if f == s {
				return
			}
		}
		forms = append(forms, s)
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		add(strconv.FormatUint(n, 16))
		add(strings.ToUpper(strconv.FormatUint(n, 16)))
	}
	if n, err := strconv.ParseUint(id, 16, 64); err == nil {
		add(strconv.FormatUint(n, 10))
	}
	return forms
}
