// Package semioctet reads and writes the BCD digit strings that both SMS
// layers carry: TP addresses (TS 23.040 9.1.2.3 and 9.1.2.5) and RP
// addresses (TS 24.011 8.2.5.1-2, coded as the called party BCD number of
// TS 24.008 10.5.4.7). Digits go low nibble first, and an odd count ends
// with the filler 0xF in the high nibble of the last octet.
package semioctet

import (
	"errors"
	"fmt"
)

// ErrDigit is matched by errors about a digit that has no semi-octet, or a
// semi-octet that is no digit.
var ErrDigit = errors.New("semioctet: invalid digit")

// alphabet maps a semi-octet to its digit: 0-9, then '*', '#', 'a', 'b',
// 'c' (TS 24.008 table 10.5.118); 0xF is the filler and no digit.
const alphabet = "0123456789*#abc"

// filler pads an odd digit count (TS 23.040 9.1.2.3).
const filler = 0xF

// nibble is the semi-octet of digit d.
func nibble(d byte) (byte, bool) {
	switch {
	case d >= '0' && d <= '9':
		return d - '0', true
	case d == '*':
		return 0xA, true
	case d == '#':
		return 0xB, true
	case d == 'a' || d == 'A':
		return 0xC, true
	case d == 'b' || d == 'B':
		return 0xD, true
	case d == 'c' || d == 'C':
		return 0xE, true
	}
	return 0, false
}

// Len is the octet count of n digits.
func Len(n int) int { return (n + 1) / 2 }

// Append writes digits as semi-octets, swapped within each octet, with the
// filler after an odd count.
func Append(dst []byte, digits string) ([]byte, error) {
	for i := 0; i < len(digits); i += 2 {
		lo, ok := nibble(digits[i])
		if !ok {
			return dst, fmt.Errorf("semioctet: %q at %d: %w", digits[i], i, ErrDigit)
		}
		hi := byte(filler)
		if i+1 < len(digits) {
			if hi, ok = nibble(digits[i+1]); !ok {
				return dst, fmt.Errorf("semioctet: %q at %d: %w", digits[i+1], i+1, ErrDigit)
			}
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst, nil
}

// Decode reads n digits from b, which must hold Len(n) octets. With n < 0
// it reads every semi-octet and takes a filler in the last high nibble as
// the end. A filler anywhere else is an error: the count says the digit is
// there.
func Decode(b []byte, n int) (string, error) {
	if n < 0 {
		n = 2 * len(b)
		if len(b) > 0 && b[len(b)-1]>>4 == filler {
			n--
		}
	}
	if Len(n) > len(b) {
		return "", fmt.Errorf("semioctet: %d digits need %d octets, have %d: %w", n, Len(n), len(b), ErrDigit)
	}
	out := make([]byte, n)
	for i := range out {
		v := b[i/2] & 0x0F
		if i%2 == 1 {
			v = b[i/2] >> 4
		}
		if int(v) >= len(alphabet) {
			return "", fmt.Errorf("semioctet: semi-octet 0x%x at digit %d: %w", v, i, ErrDigit)
		}
		out[i] = alphabet[v]
	}
	return string(out), nil
}
