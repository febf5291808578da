package smpp

import (
	"errors"
	"fmt"
	"strings"

	"iwf/smpp/coding"
)

// Types of number (SMPP 3.4 5.2.5) read by Numbering.
const (
	TONUnknown         = 0
	TONNational        = 2
	TONNetworkSpecific = 3
	TONSubscriber      = 4
	TONAbbreviated     = 6
)

// Numbering limits.
const (
	// DefaultInternationalPrefix is the international call prefix of
	// ITU-T E.164 Annex A used by most countries.
	DefaultInternationalPrefix = "00"
	// DefaultShortCodeMax is the longest TON 0 number read as a short code.
	DefaultShortCodeMax = 6
	// maxAlphanumeric is the most GSM-7 characters an alphanumeric
	// originator holds (TS 23.040 9.1.2.5: 20 semi-octets, 11 septets).
	maxAlphanumeric = 11
	maxE164         = 15
)

// Numbering is a partner's numbering plan: how the TON, NPI and digits of
// its addresses become the one conversation key the IWF files a party
// under ("+" and E.164 digits, "tel:" and a short code, or the
// alphanumeric text), and back (AddressOf). The zero value takes the
// defaults; README "Numbering rules" has the table.
type Numbering struct {
	// CountryCode (E.164 digits, no "+") makes national numbers global:
	// TON 2, and TON 0 numbers starting with TrunkPrefix.
	CountryCode string `yaml:"country_code"`
	// TrunkPrefix starts a national number written for a domestic
	// caller ("0" in most of Europe); it is dropped before CountryCode
	// goes in front.
	TrunkPrefix string `yaml:"trunk_prefix"`
	// InternationalPrefix starts an international number written for a
	// domestic caller; default DefaultInternationalPrefix.
	InternationalPrefix string `yaml:"international_prefix"`
	// ShortCodeMax is the longest TON 0 number taken as a short code
	// rather than an E.164 number without its "+"; default
	// DefaultShortCodeMax.
	ShortCodeMax int `yaml:"short_code_max"`
}

func (n Numbering) withDefaults() Numbering {
	setDefault(&n.InternationalPrefix, DefaultInternationalPrefix)
	setDefault(&n.ShortCodeMax, DefaultShortCodeMax)
	return n
}

// Validate checks the plan; errors name the field ("country_code").
func (n Numbering) Validate() error {
	var f fieldErrs
	digitsOnly := func(path, v string, max int) {
		if len(v) > max || (v != "" && !allDigits(v)) {
			f.add(path, "%q: want up to %d digits", v, max)
		}
	}
	digitsOnly("country_code", n.CountryCode, 3)
	if strings.HasPrefix(n.CountryCode, "0") {
		f.add("country_code", "%q: no country code starts with 0", n.CountryCode)
	}
	digitsOnly("trunk_prefix", n.TrunkPrefix, 4)
	digitsOnly("international_prefix", n.InternationalPrefix, 4)
	if n.TrunkPrefix != "" && n.CountryCode == "" {
		f.add("country_code", "required with trunk_prefix")
	}
	if n.ShortCodeMax != 0 {
		f.between("short_code_max", n.ShortCodeMax, 1, 8)
	}
	return errors.Join(f...)
}

// SourceKey is the conversation key of a message's source address; one
// that cannot be read is a *FieldError with ESME_RINVSRCADR.
func (n Numbering) SourceKey(a Address) (string, error) {
	return n.key(a, "source_addr", StatusInvSrcAdr)
}

// DestKey is the conversation key of a message's destination; one that
// cannot be read is a *FieldError with ESME_RINVDSTADR.
func (n Numbering) DestKey(a Address) (string, error) {
	return n.key(a, "destination_addr", StatusInvDstAdr)
}

func (n Numbering) key(a Address, path string, status uint32) (string, error) {
	n = n.withDefaults()
	fail := func(format string, args ...any) (string, error) {
		return "", &FieldError{Path: path, Reason: fmt.Sprintf("%s: ", a) + fmt.Sprintf(format, args...), Status: status}
	}
	s := a.Addr
	if s == "" {
		return fail("empty")
	}
	if a.TON == TONAlphanumeric && allDigits(s) && len(s) <= maxE164 {
		// Digits sent as an alphanumeric are a short code, as they are
		// written back (AddressOf).
		return "tel:" + s, nil
	}
	if a.TON == TONAlphanumeric || (a.TON == TONUnknown && !numeric(s)) {
		// SMPP 3.4 5.2.5 TON 5; some ESMEs send alphanumerics as TON 0.
		if !alphanumeric(s) {
			return fail("not an alphanumeric address: GSM-7, at most %d characters, no ':'", maxAlphanumeric)
		}
		return s, nil
	}
	if !numeric(s) {
		return fail("not a number")
	}
	if a.NPI != 0 && a.NPI != NPIISDN {
		// SMPP 3.4 5.2.6: only unknown and ISDN (E.164) plans are numbers
		// the IWF can file under E.164.
		return fail("numbering plan %d is not E.164", a.NPI)
	}
	plus := strings.HasPrefix(s, "+")
	digits := strings.TrimPrefix(s, "+")
	if !allDigits(digits) {
		return fail("not a number")
	}
	switch a.TON {
	case TONInternational:
		if !plus {
			digits = strings.TrimPrefix(digits, n.InternationalPrefix)
		}
		return e164(digits, fail)
	case TONNational:
		if plus {
			return e164(digits, fail)
		}
		return n.national(digits, fail)
	case TONUnknown:
		switch {
		case plus:
			return e164(digits, fail)
		case strings.HasPrefix(digits, n.InternationalPrefix):
			return e164(digits[len(n.InternationalPrefix):], fail)
		case n.TrunkPrefix != "" && strings.HasPrefix(digits, n.TrunkPrefix):
			return n.national(digits, fail)
		case len(digits) <= n.ShortCodeMax:
			return "tel:" + digits, nil
		}
		return e164(digits, fail)
	case TONNetworkSpecific, TONAbbreviated:
		if plus || len(digits) > maxE164 {
			return fail("not a short code")
		}
		return "tel:" + digits, nil
	}
	return fail("type of number %d cannot be made E.164", a.TON)
}

// national reads a national number: the trunk prefix, if written, goes
// and the country code comes in front.
func (n Numbering) national(digits string, fail func(string, ...any) (string, error)) (string, error) {
	if n.CountryCode == "" {
		return fail("a national number needs the partner's numbering.country_code")
	}
	return e164(n.CountryCode+strings.TrimPrefix(digits, n.TrunkPrefix), fail)
}

// e164 checks an international number (ITU-T E.164: at most 15 digits,
// the country code does not start with 0).
func e164(digits string, fail func(string, ...any) (string, error)) (string, error) {
	switch {
	case digits == "":
		return fail("no digits")
	case len(digits) > maxE164:
		return fail("more than %d digits (E.164)", maxE164)
	case digits[0] == '0':
		return fail("no country code starts with 0")
	}
	return "+" + digits, nil
}

// AddressOf is the SMPP address of a conversation key: an E.164 number
// ("+digits") as TON 1 / NPI 1 digits, a short code ("tel:digits") as TON
// 3 / NPI 0, and an alphanumeric (GSM-7, at most 11 characters) as TON 5
// / NPI 0. Any other key (a SIP URI, a number with a phone-context) has
// no SMPP form: a *FieldError with ESME_RINVSRCADR.
func AddressOf(key string) (Address, error) {
	switch {
	case strings.HasPrefix(key, "+"):
		if d := key[1:]; allDigits(d) && len(d) <= maxE164 && d[0] != '0' {
			return Address{TON: TONInternational, NPI: NPIISDN, Addr: d}, nil
		}
	case strings.HasPrefix(key, "tel:"):
		d := key[len("tel:"):]
		if strings.HasPrefix(d, "+") {
			return AddressOf(d)
		}
		if allDigits(d) && len(d) <= maxE164 {
			return Address{TON: TONNetworkSpecific, NPI: 0, Addr: d}, nil
		}
	case alphanumeric(key):
		return Address{TON: TONAlphanumeric, NPI: 0, Addr: key}, nil
	}
	return Address{}, &FieldError{Path: "address", Reason: fmt.Sprintf("%q has no SMPP form: neither E.164, a short code nor a GSM-7 alphanumeric of at most %d characters", key, maxAlphanumeric), Status: StatusInvSrcAdr}
}

// numeric reports whether s is written as a number: an optional "+" and
// digits.
func numeric(s string) bool { return allDigits(strings.TrimPrefix(s, "+")) }

// alphanumeric reports whether s can be an alphanumeric originator (TS
// 23.040 9.1.2.5): GSM-7 default alphabet, at most 11 septets, and not
// mistaken for a key of another kind (no ':', not a "+" number).
func alphanumeric(s string) bool {
	if s == "" || strings.ContainsAny(s, ":@") || numeric(s) {
		return false
	}
	if coding.Choose(s) != coding.GSM7 {
		return false
	}
	n, err := coding.Length(coding.GSM7, s)
	return err == nil && n <= maxAlphanumeric
}
