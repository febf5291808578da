package rp

import "iwf/sms/internal/semioctet"

// Type of number and numbering plan values of an RP address (TS 24.008
// 10.5.4.7, which TS 24.011 8.2.5.1 refers to); the ones a service centre
// address uses.
const (
	TONUnknown       uint8 = 0
	TONInternational uint8 = 1
	TONNational      uint8 = 2
	NPIUnknown       uint8 = 0
	NPIISDN          uint8 = 1
)

// Address is an RP-Originator or RP-Destination address: a service centre
// number (TS 24.011 8.2.5.1-2). The zero Address is the empty element,
// length 0.
type Address struct {
	// TON is the type of number, three bits.
	TON uint8
	// NPI is the numbering plan identification, four bits.
	NPI uint8
	// Digits are the number's digits, without a '+': 0-9, '*', '#', 'a',
	// 'b', 'c'.
	Digits string
}

// maxAddressLen is the largest length octet of an address element: the
// TON/NPI octet and 10 octets of digits (TS 24.011 8.2.5.1-2).
const maxAddressLen = 11

// IsZero reports whether a is the empty element.
func (a Address) IsZero() bool { return a == Address{} }

// String shows the address as "+4917..." (international) or the digits.
func (a Address) String() string {
	if a.TON == TONInternational {
		return "+" + a.Digits
	}
	return a.Digits
}

// appendAddress writes a as a length-value element.
func appendAddress(dst []byte, msg MTI, field string, a Address) ([]byte, error) {
	if a.IsZero() {
		return append(dst, 0), nil
	}
	if a.TON > 7 || a.NPI > 15 {
		return dst, invalid(msg, field, "ton %d / npi %d out of range", a.TON, a.NPI)
	}
	n := 1 + semioctet.Len(len(a.Digits))
	if len(a.Digits) == 0 {
		return dst, invalid(msg, field, "no digits")
	}
	if n > maxAddressLen {
		return dst, invalid(msg, field, "%d digits over 20", len(a.Digits))
	}
	// Bit 8 of the TON/NPI octet is the extension bit, 1: no octet 3a.
	dst = append(dst, byte(n), 0x80|a.TON<<4|a.NPI)
	dst, err := semioctet.Append(dst, a.Digits)
	if err != nil {
		return dst, invalid(msg, field, "%v", err)
	}
	return dst, nil
}

// readAddress reads a length-value address element at off of b. empty
// says the element must have length 0 (the side of RP-DATA that TS 24.011
// 7.3.1 leaves empty); otherwise its length is 2..11.
func readAddress(b []byte, off int, field string, empty bool) (Address, int, error) {
	if off >= len(b) {
		return Address{}, off, truncated(field, off, "no length octet")
	}
	n := int(b[off])
	switch {
	case empty && n != 0:
		return Address{}, off, malformed(field, off, CauseInvalidMandatoryInformation, "length %d, the element must be empty in this direction", n)
	case empty:
		return Address{}, off + 1, nil
	case n < 2 || n > maxAddressLen:
		return Address{}, off, malformed(field, off, CauseInvalidMandatoryInformation, "length %d out of 2..%d", n, maxAddressLen)
	case off+1+n > len(b):
		return Address{}, off, truncated(field, off, "length %d past the %d octets left", n, len(b)-off-1)
	}
	v := b[off+1 : off+1+n]
	if v[0]&0x80 == 0 {
		return Address{}, off, malformed(field, off+1, CauseInvalidMandatoryInformation, "extension bit clear in the ton/npi octet")
	}
	digits, err := semioctet.Decode(v[1:], -1)
	if err != nil {
		return Address{}, off, malformed(field, off+2, CauseInvalidMandatoryInformation, "%v", err)
	}
	a := Address{TON: v[0] >> 4 & 0x07, NPI: v[0] & 0x0F, Digits: digits}
	return a, off + 1 + n, nil
}
