package smpp

import (
	"strings"

	"iwf/internal/address"
)

// SMPP 3.4 section 5.2.5 and 5.2.6: the type of number and numbering
// plan indicator values the IWF writes.
const (
	TONInternational = 1
	TONAlphanumeric  = 5
	NPIISDN          = 1
)

// Identity reads a as an identity. An international number (TON 1) is
// E.164 whether or not it was written with its "+"; anything else is
// read as written.
func (a Address) Identity() (address.Address, error) {
	s := a.Addr
	if a.TON == TONInternational {
		digits := strings.TrimPrefix(s, "+")
		// The common case, without the general parser.
		if len(digits) >= 1 && len(digits) <= 15 && allDigits(digits) {
			return address.Address{Kind: address.KindGlobal, Number: "+" + digits}, nil
		}
		s = "+" + digits
	}
	return address.Parse(s, address.Options{})
}

// AddressOf is the SMPP form of an identity in its conversation-key form
// (E.164 numbers as "+digits", others as written): an E.164 number goes
// as an international ISDN number without its "+", anything else as an
// alphanumeric address.
func AddressOf(id string) Address {
	if len(id) > 1 && id[0] == '+' && allDigits(id[1:]) {
		return Address{TON: TONInternational, NPI: NPIISDN, Addr: id[1:]}
	}
	return Address{TON: TONAlphanumeric, NPI: 0, Addr: id}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
