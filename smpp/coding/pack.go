package coding

import "fmt"

// cr pads a packed message whose last octet has seven spare bits, so that
// the receiver does not read them as '@' (TS 23.038 6.1.2.3.1).
const cr = 0x0D

// FillBits is the number of zero bits between a user data header of
// udhLen octets (the UDHL octet included) and the first septet, so that
// the text starts on a septet boundary (TS 23.040 9.2.3.24): 1 after the
// 6-octet concatenation header, 0 after the 7-octet 16-bit one.
func FillBits(udhLen int) int {
	if udhLen <= 0 {
		return 0
	}
	return (7 - (udhLen*8)%7) % 7
}

// Pack packs septets (one per octet, as Encode gives them for GSM7) seven
// bits each, least significant bit first, after fill zero bits (TS 23.038
// 6.1.2.1.1).
//
// SMPP carries no septet count (sm_length counts octets), so a receiver
// cannot tell seven spare bits in the last octet from a final septet. TS
// 23.038 6.1.2.3.1 solves that for USSD, the other count-less carrier, and
// Pack follows it: seven spare bits carry a CR, which Unpack with count < 0
// drops, and a text whose last septet is a CR ending exactly on an octet
// boundary gets a second CR, so that its own CR is not taken for padding.
// An '@' (septet 0x00) ending on a boundary gets the same second CR: it
// reads exactly as the zero padding of packers that rely on a count, which
// Unpack and most peers drop. The receiver shows a CR more, which the
// clause accepts ("the definition of <CR> ... is identical to <CR><CR>").
func Pack(septets []byte, fill int) ([]byte, error) {
	if fill < 0 || fill > 6 {
		return nil, fmt.Errorf("coding: fill bits %d out of 0..6: %w", fill, ErrMalformed)
	}
	bits := fill + 7*len(septets)
	if n := len(septets); n > 0 && (septets[n-1] == cr || septets[n-1] == 0) && bits%8 == 0 {
		septets = append(septets[:n:n], cr)
		bits += 7
	}
	out := make([]byte, (bits+7)/8)
	pos := fill
	for i, s := range septets {
		if s > 0x7F {
			return nil, &OctetError{Coding: GSM7, Offset: i, Reason: fmt.Sprintf("octet 0x%02x is not a septet", s)}
		}
		putSeptet(out, pos, s)
		pos += 7
	}
	if len(out)*8-bits == 7 {
		putSeptet(out, pos, cr)
	}
	return out, nil
}

// Unpack reverses Pack: it skips fill bits and reads count septets. With
// count < 0 (SMPP carries no septet count) it reads every whole septet
// and drops a final septet that exactly fills the last octet when it is
// padding: a CR (TS 23.038 6.1.2.3.1) or seven zero bits, which packers
// that count septets leave and which would otherwise read as an '@'
// nobody sent. Every other final septet is kept, so a CR the sender
// doubled by that clause stays.
func Unpack(packed []byte, fill, count int) ([]byte, error) {
	if fill < 0 || fill > 6 {
		return nil, fmt.Errorf("coding: fill bits %d out of 0..6: %w", fill, ErrMalformed)
	}
	avail := len(packed)*8 - fill
	if avail < 0 {
		avail = 0
	}
	max := avail / 7
	padded := false
	if count < 0 {
		count = max
		padded = avail%7 == 0
	} else if count > max {
		return nil, &OctetError{Coding: GSM7, Offset: len(packed), Reason: fmt.Sprintf("%d octets hold %d septets, not %d", len(packed), max, count)}
	}
	out := make([]byte, count)
	pos := fill
	for i := range out {
		out[i] = getSeptet(packed, pos)
		pos += 7
	}
	if padded && count > 0 && (out[count-1] == cr || out[count-1] == 0) {
		out = out[:count-1]
	}
	return out, nil
}

// putSeptet writes the seven bits of s at bit position pos.
func putSeptet(out []byte, pos int, s byte) {
	i, shift := pos/8, pos%8
	out[i] |= s << shift
	if shift > 1 {
		out[i+1] |= s >> (8 - shift)
	}
}

// getSeptet reads seven bits at bit position pos.
func getSeptet(in []byte, pos int) byte {
	i, shift := pos/8, pos%8
	v := in[i] >> shift
	if shift > 1 {
		v |= in[i+1] << (8 - shift)
	}
	return v & 0x7F
}
