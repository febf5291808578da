package tpdu

import (
	"iwf/smpp/coding"
	"iwf/sms/internal/semioctet"
)

// Type of number values, bits 7-5 of the type-of-address octet (9.1.2.5).
const (
	TONUnknown         uint8 = 0
	TONInternational   uint8 = 1
	TONNational        uint8 = 2
	TONNetworkSpecific uint8 = 3
	TONSubscriber      uint8 = 4
	// TONAlphanumeric carries GSM 7-bit text instead of digits.
	TONAlphanumeric uint8 = 5
	TONAbbreviated  uint8 = 6
)

// Numbering plan identification values, bits 4-1 of the type-of-address
// octet (9.1.2.5); they apply to TON 0, 1, 2 and 4.
const (
	NPIUnknown  uint8 = 0
	NPIISDN     uint8 = 1 // E.164
	NPIData     uint8 = 3 // X.121
	NPITelex    uint8 = 4
	NPINational uint8 = 8
	NPIPrivate  uint8 = 9
	NPIERMES    uint8 = 10
)

// Address is a TP address: TP-OA, TP-DA or TP-RA (9.1.2.5).
type Address struct {
	// TON is the type of number, three bits.
	TON uint8
	// NPI is the numbering plan identification, four bits.
	NPI uint8
	// Digits are the number's digits without '+' (0-9, '*', '#', 'a',
	// 'b', 'c'), or the text of an alphanumeric address (TONAlphanumeric).
	Digits string
}

// maxAddressSemiOctets is the largest Address-Length: 10 octets of value
// (9.1.2.5: the field is 2 to 12 octets).
const maxAddressSemiOctets = 20

// String shows the address as "+4917..." (international) or as is.
func (a Address) String() string {
	if a.TON == TONInternational {
		return "+" + a.Digits
	}
	return a.Digits
}

// appendAddress writes a: Address-Length in useful semi-octets, the
// type-of-address octet (bit 8 always 1) and the value.
func appendAddress(dst []byte, pdu Type, field string, a Address) ([]byte, error) {
	if a.TON > 7 || a.NPI > 15 {
		return dst, invalid(pdu, field, "ton %d / npi %d out of range", a.TON, a.NPI)
	}
	toa := 0x80 | a.TON<<4 | a.NPI
	if a.TON == TONAlphanumeric {
		septets, err := coding.Encode(coding.GSM7, a.Digits)
		if err != nil {
			return dst, invalid(pdu, field, "%v", err)
		}
		// 9.1.2.5: the length counts the semi-octets the packed septets
		// use, at most 20 (11 septets).
		n := (7*len(septets) + 3) / 4
		if n > maxAddressSemiOctets {
			return dst, invalid(pdu, field, "alphanumeric address of %d septets over 11", len(septets))
		}
		packed, err := packSeptets(septets, 0)
		if err != nil {
			return dst, invalid(pdu, field, "%v", err)
		}
		dst = append(dst, byte(n), toa)
		return append(dst, packed...), nil
	}
	if len(a.Digits) > maxAddressSemiOctets {
		return dst, invalid(pdu, field, "%d digits over %d", len(a.Digits), maxAddressSemiOctets)
	}
	dst = append(dst, byte(len(a.Digits)), toa)
	dst, err := semioctet.Append(dst, a.Digits)
	if err != nil {
		return dst, invalid(pdu, field, "%v", err)
	}
	return dst, nil
}

// address reads an address field (9.1.2.5).
func (r *reader) address(field string) (Address, error) {
	start := r.off
	n, err := r.octet(field)
	if err != nil {
		return Address{}, err
	}
	if n > maxAddressSemiOctets {
		return Address{}, r.malformed(field, start, "length %d semi-octets over %d", n, maxAddressSemiOctets)
	}
	toa, err := r.octet(field)
	if err != nil {
		return Address{}, err
	}
	v, err := r.take(field, (int(n)+1)/2)
	if err != nil {
		return Address{}, err
	}
	a := Address{TON: toa >> 4 & 0x07, NPI: toa & 0x0F}
	if a.TON == TONAlphanumeric {
		septets, err := coding.Unpack(v, 0, 4*int(n)/7)
		if err == nil {
			a.Digits, err = coding.Decode(coding.GSM7, septets)
		}
		if err != nil {
			return Address{}, r.malformed(field, start+2, "alphanumeric value: %v", err)
		}
		return a, nil
	}
	if a.Digits, err = semioctet.Decode(v, int(n)); err != nil {
		return Address{}, r.malformed(field, start+2, "%v", err)
	}
	return a, nil
}

// packSeptets packs septets after fill bits with coding.Pack and returns
// exactly the octets they take, spare bits zero. coding.Pack follows TS
// 23.038 6.1.2.3.1 and pads seven spare bits with CR; in a TPDU the length
// field counts the septets, so the octets end where the septets do.
func packSeptets(septets []byte, fill int) ([]byte, error) {
	packed, err := coding.Pack(septets, fill)
	if err != nil {
		return nil, err
	}
	bits := fill + 7*len(septets)
	packed = packed[:(bits+7)/8]
	if spare := len(packed)*8 - bits; spare > 0 {
		packed[len(packed)-1] &= 0xFF >> spare
	}
	return packed, nil
}
