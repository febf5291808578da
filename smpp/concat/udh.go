package concat

import (
	"fmt"

	"iwf/smpp/coding"
)

// Information element identifiers for concatenation (TS 23.040 9.2.3.24).
const (
	// IEIConcat8 is a concatenated short message with an 8-bit reference.
	IEIConcat8 byte = 0x00
	// IEIConcat16 is a concatenated short message with a 16-bit reference.
	IEIConcat16 byte = 0x08
	// IEISingleShift names the national language single shift table
	// (TS 23.040 9.2.3.24.15), one octet.
	IEISingleShift byte = 0x24
	// IEILockingShift names the national language locking shift table
	// (TS 23.040 9.2.3.24.16), one octet.
	IEILockingShift byte = 0x25
)

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte
}

// Info locates one segment in a concatenated message.
type Info struct {
	// Style is where the information came from: UDH8, UDH16 or SAR.
	Style Style
	Ref   uint16
	// Total and Seq count from 1 (TS 23.040 9.2.3.24.1).
	Total, Seq int
}

// ie is the concatenation IE for info (UDH8 or UDH16).
func (info Info) ie() IE {
	if info.Style == UDH16 {
		return IE{ID: IEIConcat16, Data: []byte{byte(info.Ref >> 8), byte(info.Ref), byte(info.Total), byte(info.Seq)}}
	}
	return IE{ID: IEIConcat8, Data: []byte{byte(info.Ref), byte(info.Total), byte(info.Seq)}}
}

// valid applies TS 23.040 9.2.3.24.1: a total or seq of zero, or a seq
// past the total, makes the receiver ignore the element.
func (info Info) valid() bool {
	return info.Total >= 1 && info.Total <= MaxSegments && info.Seq >= 1 && info.Seq <= info.Total
}

// ParseUDH splits a short_message that starts with a user data header
// (esm_class UDHI set) into its information elements and the text after
// it. A UDHL past the end of sm is an error; elements that overrun the
// header make the whole header ignored, as TS 23.040 9.2.3.24 asks, so
// ies is empty while text still starts after UDHL.
func ParseUDH(sm []byte) (ies []IE, text []byte, err error) {
	if len(sm) == 0 {
		return nil, nil, malformed("udhi set on an empty message")
	}
	n := int(sm[0])
	if 1+n > len(sm) {
		return nil, nil, malformed("udh length %d past the %d-octet message", n, len(sm))
	}
	hdr, text := sm[1:1+n], sm[1+n:]
	for i := 0; i < len(hdr); {
		if i+2 > len(hdr) || i+2+int(hdr[i+1]) > len(hdr) {
			return nil, text, nil
		}
		l := int(hdr[i+1])
		ies = append(ies, IE{ID: hdr[i], Data: hdr[i+2 : i+2+l]})
		i += 2 + l
	}
	return ies, text, nil
}

// AppendUDH appends the header for ies (UDHL first). Elements longer than
// 255 octets or a header longer than 255 do not fit a UDH; callers build
// ies from parsed or fixed-size elements, which always fit.
func AppendUDH(dst []byte, ies []IE) []byte {
	n := 0
	for _, ie := range ies {
		n += 2 + len(ie.Data)
	}
	dst = append(dst, byte(n))
	for _, ie := range ies {
		dst = append(dst, ie.ID, byte(len(ie.Data)))
		dst = append(dst, ie.Data...)
	}
	return dst
}

// UDHLen is the size of the header AppendUDH writes for ies.
func UDHLen(ies []IE) int {
	n := 1
	for _, ie := range ies {
		n += 2 + len(ie.Data)
	}
	return n
}

// ConcatInfo finds the concatenation element among ies. Elements with
// other identifiers are skipped; when several concatenation elements are
// present the last valid one counts (TS 23.040 9.2.3.24: "the last
// occurrence of the IE shall be used").
func ConcatInfo(ies []IE) (Info, bool) {
	var found Info
	ok := false
	for _, ie := range ies {
		var info Info
		switch {
		case ie.ID == IEIConcat8 && len(ie.Data) == 3:
			info = Info{Style: UDH8, Ref: uint16(ie.Data[0]), Total: int(ie.Data[1]), Seq: int(ie.Data[2])}
		case ie.ID == IEIConcat16 && len(ie.Data) == 4:
			info = Info{Style: UDH16, Ref: uint16(ie.Data[0])<<8 | uint16(ie.Data[1]), Total: int(ie.Data[2]), Seq: int(ie.Data[3])}
		default:
			continue
		}
		if info.valid() {
			found, ok = info, true
		}
	}
	return found, ok
}

// Inbound is a received submit_sm / deliver_sm / data_sm body taken apart.
type Inbound struct {
	// Header holds the UDH elements when esm_class has UDHI set.
	Header []IE
	// HeaderLen is the octet size of the UDH, UDHL included (0 without).
	HeaderLen int
	// Text is the message after the UDH, from short_message or
	// message_payload.
	Text []byte
	// Concat locates the segment when Concatenated is true.
	Concat       Info
	Concatenated bool
}

// Inspect takes apart a received message: the UDH when esm_class has UDHI
// set (SMPP 3.4 5.2.12), the SAR TLVs (5.3.2.22-24) and message_payload
// (5.3.2.32), which replaces short_message. A concatenation UDH wins over
// SAR TLVs, since it is what the handset saw.
func Inspect(esmClass byte, shortMessage []byte, tlvs []TLV) (Inbound, error) {
	var in Inbound
	msg := shortMessage
	if pl, ok := findTLV(tlvs, TagMessagePayload); ok {
		// SMPP 3.4 5.3.2.32: message_payload and short_message are
		// exclusive; with both there is no telling which is the text.
		if len(shortMessage) > 0 {
			return in, malformed("both short_message (%d octets) and message_payload (%d octets)", len(shortMessage), len(pl))
		}
		msg = pl
	}
	in.Text = msg
	if esmClass&ESMClassUDHI != 0 {
		ies, text, err := ParseUDH(msg)
		if err != nil {
			return in, err
		}
		in.Header, in.Text, in.HeaderLen = ies, text, len(msg)-len(text)
		in.Concat, in.Concatenated = ConcatInfo(ies)
	}
	if in.Concatenated {
		return in, nil
	}
	info, ok, err := sarInfo(tlvs)
	if err != nil {
		return in, err
	}
	in.Concat, in.Concatenated = info, ok
	return in, nil
}

// Units returns the text as coding units ready for coding.Decode: packed
// GSM7 is unpacked after the fill bits its UDH needs, other codings are
// returned as they are.
func (in Inbound) Units(c coding.Coding, packed bool) ([]byte, error) {
	if c == coding.GSM7 && packed {
		return coding.Unpack(in.Text, coding.FillBits(in.HeaderLen), -1)
	}
	return in.Text, nil
}

// Tables returns the national language tables the UDH names (TS 23.040
// 9.2.3.24.15-16); the last element of each kind counts, and an element
// of the wrong length is ignored.
func (in Inbound) Tables() coding.Tables {
	var t coding.Tables
	for _, ie := range in.Header {
		switch {
		case len(ie.Data) != 1:
		case ie.ID == IEILockingShift:
			t.Locking = coding.Language(ie.Data[0])
		case ie.ID == IEISingleShift:
			t.Single = coding.Language(ie.Data[0])
		}
	}
	return t
}

// Decode returns the text of a message that is not concatenated (or of
// one segment) in coding c, with the national tables of its UDH.
func (in Inbound) Decode(c coding.Coding, packed bool) (string, error) {
	units, err := in.Units(c, packed)
	if err != nil {
		return "", err
	}
	return decode(c, in.Tables(), units)
}

// Part returns the segment as a Reassembler part.
func (in Inbound) Part(c coding.Coding, packed bool) (Part, error) {
	units, err := in.Units(c, packed)
	return Part{Seq: in.Concat.Seq, Coding: c, Tables: in.Tables(), Units: units}, err
}

// Key returns the reassembly key of the segment for a partner and the
// message's source and destination addresses.
func (in Inbound) Key(partner, source, destination string) Key {
	return Key{Partner: partner, Source: source, Destination: destination, Style: in.Concat.Style, Ref: in.Concat.Ref, Total: in.Concat.Total}
}

// decode decodes units of coding c, GSM7 with tables t.
func decode(c coding.Coding, t coding.Tables, units []byte) (string, error) {
	if c == coding.GSM7 {
		return coding.DecodeGSM7(units, t)
	}
	return coding.Decode(c, units)
}

// sarInfo reads the SAR TLVs; all three must be present (SMPP 3.4
// 5.3.2.22: "mandatory if ... any of the others is present").
func sarInfo(tlvs []TLV) (Info, bool, error) {
	ref, okRef := findTLV(tlvs, TagSARMsgRefNum)
	total, okTotal := findTLV(tlvs, TagSARTotalSegments)
	seq, okSeq := findTLV(tlvs, TagSARSegmentSeqnum)
	if !okRef && !okTotal && !okSeq {
		return Info{}, false, nil
	}
	if !okRef || !okTotal || !okSeq {
		return Info{}, false, malformed("sar tlvs incomplete (ref %t, total %t, seq %t)", okRef, okTotal, okSeq)
	}
	if len(ref) != 2 || len(total) != 1 || len(seq) != 1 {
		return Info{}, false, malformed("sar tlv lengths %d/%d/%d, want 2/1/1", len(ref), len(total), len(seq))
	}
	info := Info{Style: SAR, Ref: uint16(ref[0])<<8 | uint16(ref[1]), Total: int(total[0]), Seq: int(seq[0])}
	if !info.valid() {
		return Info{}, false, malformed("sar segment %d of %d", info.Seq, info.Total)
	}
	return info, true, nil
}

// findTLV returns the value of the first TLV with tag.
func findTLV(tlvs []TLV, tag uint16) ([]byte, bool) {
	for _, t := range tlvs {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// String shows info as "udh8 ref=7 2/3" for logs.
func (info Info) String() string {
	return fmt.Sprintf("%v ref=%d %d/%d", info.Style, info.Ref, info.Seq, info.Total)
}
