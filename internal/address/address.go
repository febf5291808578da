// Package address normalises the identities of pager messages: sip:, sips:
// and tel: URIs (as URIs or as From/To name-addr values) and bare numbers,
// into one canonical string that conversations are keyed by, so that
// "sip:+44-20-7946-0958@ims.example.net;user=phone", "tel:+442079460958"
// and the SMS originator "02079460958" (in the United Kingdom) are one
// party.
//
// Canonical forms (Address.String):
//
//	tel:+442079460958                    a global (E.164) number
//	tel:5550100;phone-context=example.com a local number with its context
//	tel:12345                            a short code or local number
//	sip:alice@example.com                any other SIP identity
//
// Telephone numbers drop visual separators (RFC 3966 section 5.1.1), a
// "(0)" after the country code, every URI parameter but phone-context and
// the host of a SIP URI that carries them: a number is the same party
// whichever network sent it. SIP identities keep the user part as sent
// (it is case-sensitive, RFC 3261 section 19.1.4) with percent escapes in
// one canonical form, and lower-case the host; port, parameters, headers
// and the sips scheme are dropped (an address of record, not a route).
//
// The package is pure: no I/O, no goroutines, no logging.
package address

import (
	"strconv"
	"strings"
)

// Kind says which canonical form an Address has.
type Kind uint8

// The kinds of Address.
const (
	// KindNone is the zero Address.
	KindNone Kind = iota
	// KindGlobal is an E.164 number: Number is "+" and 1 to 15 digits.
	KindGlobal
	// KindLocal is a number valid only in a context: Number holds its
	// digits (and * #), Context the domain, or is empty for a short code
	// or a number that Options could not make global.
	KindLocal
	// KindSIP is a SIP identity: User and Host.
	KindSIP
)

// Address is a normalised identity.
type Address struct {
	Kind Kind
	// Number is "+" and digits for KindGlobal, digits and * # for
	// KindLocal.
	Number string
	// Context is the phone-context domain of a KindLocal number.
	Context string
	// User is the user part of a KindSIP identity, unescaped.
	User string
	// Host is the lower-case host of a KindSIP identity.
	Host string
}

// String returns the canonical form: the key conversations use. Parse of
// it gives back the same Address.
func (a Address) String() string {
	switch a.Kind {
	case KindGlobal:
		return "tel:" + a.Number
	case KindLocal:
		// RFC 3966 section 3: '#' is escaped in a URI.
		number := strings.ReplaceAll(a.Number, "#", "%23")
		if a.Context != "" {
			return "tel:" + number + ";phone-context=" + a.Context
		}
		return "tel:" + number
	case KindSIP:
		return "sip:" + escapeUser(a.User) + "@" + a.Host
	}
	return ""
}

// IsNumber reports whether a is a telephone number, global or local.
func (a Address) IsNumber() bool { return a.Kind == KindGlobal || a.Kind == KindLocal }

// SIPURI returns a as a SIP URI toward host: a number becomes
// sip:+number@host;user=phone (RFC 3261 section 19.1.6), a local one
// with its phone-context in the user part; a SIP identity keeps its own
// host.
func (a Address) SIPURI(host string) string {
	switch a.Kind {
	case KindGlobal:
		return "sip:" + a.Number + "@" + host + ";user=phone"
	case KindLocal:
		user := escapeUser(a.Number)
		if a.Context != "" {
			user += ";phone-context=" + a.Context
		}
		return "sip:" + user + "@" + host + ";user=phone"
	case KindSIP:
		return a.String()
	}
	return ""
}

// Options say how national numbers become global ones. The zero Options
// leave every number without a "+" or an international prefix local.
type Options struct {
	// CountryCode is the E.164 country code (digits, no "+") of numbers
	// written in national form, "44" or "1".
	CountryCode string `yaml:"country_code"`
	// TrunkPrefix starts a national number ("0" in most of Europe, "1"
	// in North America); it is replaced by "+" CountryCode.
	TrunkPrefix string `yaml:"trunk_prefix"`
	// InternationalPrefix starts an international number ("00", "011");
	// it is replaced by "+".
	InternationalPrefix string `yaml:"international_prefix"`
	// NationalLength, when set, makes a number of exactly that many
	// digits and no prefix national: 10 in North America.
	NationalLength int `yaml:"national_length"`
	// KeepNumericUsers keeps sip:12345@host a SIP identity; by default a
	// SIP user that is a telephone number is one, user=phone or not,
	// as IMS and SMS gateways send them.
	KeepNumericUsers bool `yaml:"keep_numeric_users"`
}

// Limits of the number forms.
const (
	maxE164Digits  = 15 // ITU-T E.164 section 6
	maxLocalDigits = 32
	maxInput       = 1024
)

// Validate checks the option values, naming fields by YAML key.
func (o Options) Validate() error {
	check := func(field, v string, max int) error {
		if len(v) > max || strings.Trim(v, "0123456789") != "" {
			return &OptionError{Field: field, Reason: "must be up to " + strconv.Itoa(max) + " digits"}
		}
		return nil
	}
	if err := check("country_code", o.CountryCode, 3); err != nil {
		return err
	}
	if o.CountryCode != "" && o.CountryCode[0] == '0' {
		return &OptionError{Field: "country_code", Reason: "country codes do not start with 0"}
	}
	if err := check("trunk_prefix", o.TrunkPrefix, 4); err != nil {
		return err
	}
	if err := check("international_prefix", o.InternationalPrefix, 4); err != nil {
		return err
	}
	if o.NationalLength < 0 || o.NationalLength > maxE164Digits {
		return &OptionError{Field: "national_length", Reason: "must be 0 to 15"}
	}
	if o.CountryCode == "" && (o.TrunkPrefix != "" || o.NationalLength != 0) {
		return &OptionError{Field: "country_code", Reason: "required by trunk_prefix and national_length"}
	}
	return nil
}

// Normalize returns the canonical form of s (see Address.String).
func Normalize(s string, o Options) (string, error) {
	a, err := Parse(s, o)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// Parse reads a sip:, sips: or tel: URI, a From/To value with a display
// name and angle brackets, a user@host without scheme, or a bare number,
// and normalises it. Errors are *Error.
func Parse(s string, o Options) (Address, error) {
	in := s
	if len(s) > maxInput {
		return Address{}, invalid(in, "longer than "+strconv.Itoa(maxInput)+" bytes")
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		// name-addr (RFC 3261 section 20.10): the URI is between the
		// brackets, display name and header parameters are not identity.
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return Address{}, invalid(in, "'<' without '>'")
		}
		s = strings.TrimSpace(s[i+1 : i+j])
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if ok {
		switch strings.ToLower(scheme) {
		case "tel":
			return parseTel(in, rest, o)
		case "sip", "sips":
			return parseSIP(in, rest, o)
		}
	}
	if strings.Contains(s, "@") {
		return parseSIP(in, s, o)
	}
	// A bare number: an SMS originator or destination address.
	return parseNumber(in, s, "", o, true)
}

// parseTel reads the part of a tel URI after the scheme (RFC 3966
// section 3).
func parseTel(in, s string, o Options) (Address, error) {
	number, params, _ := strings.Cut(s, ";")
	number, err := unescape(number)
	if err != nil {
		return Address{}, invalid(in, err.Error())
	}
	return parseNumber(in, number, phoneContext(params), o, false)
}

// phoneContext returns the phone-context of telephone-subscriber
// parameters: of them all, only it changes which party a number is.
func phoneContext(params string) string {
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "phone-context") {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// parseNumber normalises a telephone number with an optional
// phone-context. lenient allows spaces, which bare numbers carry and URIs
// may not.
func parseNumber(in, number, context string, o Options, lenient bool) (Address, error) {
	digits, global, err := cleanNumber(number, lenient)
	if err != nil {
		return Address{}, invalid(in, err.Error())
	}
	if global {
		return globalNumber(in, digits)
	}
	if context != "" {
		// RFC 3966 section 5.1.5: a context that is a global number
		// prefix makes the local number global; a domain keeps it local.
		if strings.HasPrefix(context, "+") {
			cdigits, _, err := cleanNumber(context, false)
			if err != nil || strings.ContainsAny(digits, "*#") {
				return Address{}, invalid(in, "bad phone-context")
			}
			return globalNumber(in, cdigits+digits)
		}
		host, err := cleanHost(context)
		if err != nil {
			return Address{}, invalid(in, "phone-context: "+err.Error())
		}
		return Address{Kind: KindLocal, Number: digits, Context: host}, nil
	}
	if !strings.ContainsAny(digits, "*#") {
		switch {
		case o.InternationalPrefix != "" && strings.HasPrefix(digits, o.InternationalPrefix):
			return globalNumber(in, digits[len(o.InternationalPrefix):])
		case o.CountryCode != "" && o.TrunkPrefix != "" && strings.HasPrefix(digits, o.TrunkPrefix):
			return globalNumber(in, o.CountryCode+digits[len(o.TrunkPrefix):])
		case o.CountryCode != "" && o.NationalLength > 0 && len(digits) == o.NationalLength:
			return globalNumber(in, o.CountryCode+digits)
		}
	}
	return Address{Kind: KindLocal, Number: digits}, nil
}

func globalNumber(in, digits string) (Address, error) {
	switch {
	case digits == "" || strings.ContainsAny(digits, "*#"):
		return Address{}, invalid(in, "a global number has digits only")
	case len(digits) > maxE164Digits:
		return Address{}, invalid(in, "a global number has at most 15 digits (E.164)")
	case digits[0] == '0':
		return Address{}, invalid(in, "no country code starts with 0")
	}
	return Address{Kind: KindGlobal, Number: "+" + digits}, nil
}

// numberError is a reason string of cleanNumber.
type numberError string

func (e numberError) Error() string { return string(e) }

// cleanNumber drops visual separators (RFC 3966 section 5.1.1: - . ( ),
// and spaces when lenient) and returns the digits (and * # for a local
// number), and whether the number was global ("+").
func cleanNumber(s string, lenient bool) (string, bool, error) {
	s = strings.TrimSpace(s)
	global := strings.HasPrefix(s, "+")
	if global {
		s = s[1:]
		// "+44 (0)20 ..." writes the trunk prefix that callers from
		// abroad leave out; it is not part of the E.164 number.
		s = strings.Replace(s, "(0)", "", 1)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == '*' || c == '#':
			b.WriteByte(c)
		case c == '-' || c == '.' || c == '(' || c == ')':
		case lenient && (c == ' ' || c == '\t'):
		default:
			return "", false, numberError("unexpected " + quoteByte(c) + " in a number")
		}
	}
	digits := b.String()
	if digits == "" {
		return "", false, numberError("no digits")
	}
	if len(digits) > maxLocalDigits {
		return "", false, numberError("more than " + strconv.Itoa(maxLocalDigits) + " digits")
	}
	return digits, global, nil
}

// parseSIP reads the part of a sip or sips URI after the scheme (RFC 3261
// section 19.1.1): userinfo@hostport;params?headers.
func parseSIP(in, s string, o Options) (Address, error) {
	// The first '@' ends the user part: one inside it must be escaped,
	// one in a parameter or header comes after the host.
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return Address{}, invalid(in, "no user part")
	}
	userinfo, hostpart := s[:at], s[at+1:]
	hostpart, _, _ = strings.Cut(hostpart, "?")
	hostport, params, _ := strings.Cut(hostpart, ";")
	userPhone := false
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "user") && strings.EqualFold(strings.TrimSpace(value), "phone") {
			userPhone = true
		}
	}
	host, err := cleanHost(stripPort(hostport))
	if err != nil {
		return Address{}, invalid(in, err.Error())
	}
	user, _, _ := strings.Cut(userinfo, ":") // a password is not identity
	user, err = unescape(user)
	if err != nil {
		return Address{}, invalid(in, err.Error())
	}
	if user == "" {
		return Address{}, invalid(in, "empty user part")
	}
	if userPhone {
		// RFC 3261 section 19.1.6: the user part is a telephone-
		// subscriber (RFC 3966), parameters included.
		number, tparams, _ := strings.Cut(user, ";")
		return parseNumber(in, number, phoneContext(tparams), o, false)
	}
	if !o.KeepNumericUsers && looksNumeric(user) {
		if a, err := parseNumber(in, user, "", o, false); err == nil {
			return a, nil
		}
	}
	if !validUser(user) {
		return Address{}, invalid(in, "control character in the user part")
	}
	return Address{Kind: KindSIP, User: user, Host: host}, nil
}

// looksNumeric reports whether a SIP user is written as a telephone
// number: an optional "+", digits and visual separators, at least one
// digit.
func looksNumeric(user string) bool {
	digit := false
	for i := 0; i < len(user); i++ {
		c := user[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' && i == 0, c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digit
}

// validUser refuses control characters: an identity is printed in logs
// and headers.
func validUser(u string) bool {
	for i := 0; i < len(u); i++ {
		if u[i] < 0x20 || u[i] == 0x7F {
			return false
		}
	}
	return true
}

func stripPort(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			return hostport[:i+1]
		}
		return hostport
	}
	host, _, _ := strings.Cut(hostport, ":")
	return host
}

// cleanHost lower-cases a host name or IPv4 address (RFC 3261 section
// 19.1.4: hosts compare case-insensitively), drops a trailing dot, and
// checks the characters of RFC 3261 section 25.1 hostname / IPv4address /
// IPv6reference.
func cleanHost(h string) (string, error) {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if len(h) < 3 || h[len(h)-1] != ']' || strings.Trim(h[1:len(h)-1], "0123456789abcdef:.") != "" {
			return "", numberError("bad ipv6 reference")
		}
		return h, nil
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", numberError("empty host")
	}
	if strings.Trim(h, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" || strings.Contains(h, "..") || h[0] == '.' || h[0] == '-' {
		return "", numberError("bad host " + h)
	}
	return h, nil
}

// unescape decodes %XX escapes (RFC 3261 section 19.1.4: an escaped and
// an unescaped character compare equal).
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", numberError("bad percent escape")
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", numberError("bad percent escape")
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeUser writes a user part with every character outside unreserved
// and user-unreserved (RFC 3261 section 25.1) as an upper-case %XX.
func escapeUser(u string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if userChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// userChar reports whether c may appear unescaped in a SIP user part:
// alphanum, mark (- _ . ! ~ * ' ( )) and user-unreserved (& = + $ , ; ? /).
func userChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7F {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string(hex[c>>4]) + string(hex[c&15])
}
