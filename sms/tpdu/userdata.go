package tpdu

import (
	"fmt"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// Limits of TP-UD (9.2.3.16): 140 octets, so 160 septets.
const (
	maxUDOctets  = 140
	maxUDSeptets = 160
)

// UserData is TP-UD: the optional user data header and the text after it.
type UserData struct {
	// Header is the user data header without its UDHL octet (9.2.3.24);
	// TP-UDHI is set exactly when it is not nil. concat.ParseUDH and
	// IEs read its information elements.
	Header []byte
	// Units is the text after the header: GSM 7-bit septets one per
	// octet (unpacked, as coding.Encode gives them) when TP-DCS says
	// the default alphabet, octets otherwise.
	Units []byte
}

// NewUserData takes a short message as package concat and SMPP carry it
// (the UDH with its UDHL first when udhi is set, then the text units) apart
// into UserData. concat.Split with unpacked GSM 7-bit gives exactly this.
func NewUserData(shortMessage []byte, udhi bool) (UserData, error) {
	if !udhi {
		return UserData{Units: clone(shortMessage)}, nil
	}
	if len(shortMessage) == 0 || 1+int(shortMessage[0]) > len(shortMessage) {
		return UserData{}, fmt.Errorf("tpdu: user data header length past the %d-octet message: %w", len(shortMessage), ErrInvalid)
	}
	n := int(shortMessage[0])
	h := make([]byte, n)
	copy(h, shortMessage[1:1+n])
	return UserData{Header: h, Units: clone(shortMessage[1+n:])}, nil
}

// ShortMessage is the user data as SMPP carries it: UDHL and header when
// there is one, then the units. concat.Inspect reads it with esm_class
// concat.ESMClassUDHI when HasHeader is true.
func (u UserData) ShortMessage() []byte {
	if u.Header == nil {
		return clone(u.Units)
	}
	sm := make([]byte, 0, 1+len(u.Header)+len(u.Units))
	sm = append(sm, byte(len(u.Header)))
	sm = append(sm, u.Header...)
	return append(sm, u.Units...)
}

// HasHeader reports whether TP-UDHI is set.
func (u UserData) HasHeader() bool { return u.Header != nil }

// IEs are the information elements of the header; elements that overrun
// it make the whole header ignored, as 9.2.3.24 asks (concat.ParseUDH).
func (u UserData) IEs() []concat.IE {
	if u.Header == nil {
		return nil
	}
	ies, _, _ := concat.ParseUDH(append([]byte{byte(len(u.Header))}, u.Header...))
	return ies
}

// Text decodes the units in the alphabet dcs names, with the national
// language tables the header names (TS 23.040 9.2.3.24.15-16).
func (u UserData) Text(dcs DCS) (string, error) {
	if dcs.Compressed() {
		return "", fmt.Errorf("tpdu: compressed user data (tp-dcs %v): %w", dcs, ErrUnsupported)
	}
	esm := byte(0)
	if u.Header != nil {
		esm = concat.ESMClassUDHI
	}
	in, err := concat.Inspect(esm, u.ShortMessage(), nil)
	if err != nil {
		return "", fmt.Errorf("tpdu: user data: %w", err)
	}
	return in.Decode(dcs.Alphabet(), false)
}

// appendUserData writes TP-UDL and TP-UD for dcs (9.2.3.16): with GSM
// 7-bit text TP-UDL counts septets, the header's included, and the text
// is packed after the fill bits that put it on a septet boundary
// (9.2.3.24); otherwise TP-UDL counts octets.
func appendUserData(dst []byte, pdu Type, dcs DCS, u UserData) ([]byte, error) {
	var hdr []byte
	if u.Header != nil {
		if len(u.Header) > maxUDOctets-1 {
			return dst, invalid(pdu, "TP-UD", "header of %d octets over %d", len(u.Header), maxUDOctets-1)
		}
		hdr = append([]byte{byte(len(u.Header))}, u.Header...)
	}
	if !dcs.septets() {
		n := len(hdr) + len(u.Units)
		if n > maxUDOctets {
			return dst, invalid(pdu, "TP-UDL", "%d octets over %d", n, maxUDOctets)
		}
		dst = append(dst, byte(n))
		dst = append(dst, hdr...)
		return append(dst, u.Units...), nil
	}
	headerSeptets := (8*len(hdr) + 6) / 7
	udl := headerSeptets + len(u.Units)
	if udl > maxUDSeptets || (7*udl+7)/8 > maxUDOctets {
		return dst, invalid(pdu, "TP-UDL", "%d septets over %d", udl, maxUDSeptets)
	}
	packed, err := packSeptets(u.Units, coding.FillBits(len(hdr)))
	if err != nil {
		return dst, invalid(pdu, "TP-UD", "%v", err)
	}
	dst = append(dst, byte(udl))
	dst = append(dst, hdr...)
	return append(dst, packed...), nil
}

// userData reads TP-UDL and TP-UD, the last fields of a TPDU.
func (r *reader) userData(udhi bool, dcs DCS) (UserData, error) {
	start := r.off
	udl, err := r.octet("TP-UDL")
	if err != nil {
		return UserData{}, err
	}
	octets := int(udl)
	if dcs.septets() {
		if udl > maxUDSeptets {
			return UserData{}, r.malformed("TP-UDL", start, "%d septets over %d", udl, maxUDSeptets)
		}
		octets = (7*int(udl) + 7) / 8
	} else if octets > maxUDOctets {
		return UserData{}, r.malformed("TP-UDL", start, "%d octets over %d", udl, maxUDOctets)
	}
	ud, err := r.take("TP-UD", octets)
	if err != nil {
		return UserData{}, err
	}
	var u UserData
	text := ud
	if udhi {
		if len(ud) == 0 || 1+int(ud[0]) > len(ud) {
			return UserData{}, r.malformed("TP-UDH", start+1, "header length past the %d-octet user data", len(ud))
		}
		n := int(ud[0])
		u.Header = make([]byte, n)
		copy(u.Header, ud[1:1+n])
		text = ud[1+n:]
	}
	if !dcs.septets() {
		u.Units = clone(text)
		return u, nil
	}
	hdrLen := len(ud) - len(text)
	headerSeptets := (8*hdrLen + 6) / 7
	if headerSeptets > int(udl) {
		return UserData{}, r.malformed("TP-UDL", start, "%d septets, fewer than the %d the header takes", udl, headerSeptets)
	}
	septets, err := coding.Unpack(text, coding.FillBits(hdrLen), int(udl)-headerSeptets)
	if err != nil {
		return UserData{}, r.malformed("TP-UD", start+1+hdrLen, "%v", err)
	}
	if len(septets) > 0 {
		u.Units = septets
	}
	return u, nil
}

// clone copies b; empty gives nil, so that decoded values compare equal.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
