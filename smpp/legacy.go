package smpp

import (
	"encoding/binary"
	"fmt"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// An ESME that bound with interface_version 0x33 or lower speaks SMPP 3.3,
// which has no optional parameters (SMPP 3.4 5.2.4, 5.3: TLVs are new in
// 3.4). A message toward it carries its text and concatenation in
// short_message alone:
//
//   - message_payload becomes short_message when it fits one SMS, else
//     UDH8 segments cut as package concat cuts text (the data_coding says
//     how; a GSM-7 payload is taken as unpacked, one septet per octet, as
//     SMPP carries it by default);
//   - sar_msg_ref_num / sar_total_segments / sar_segment_seqnum become
//     the 16-bit concatenation element of a user data header, which
//     keeps the reference whole (TS 23.040 9.2.3.24.8);
//   - every other TLV (receipted_message_id, message_state,
//     network_error_code of a receipt) is dropped: the receipt text of
//     SMPP 3.4 Appendix B carries the same.

// singleOctets is how many octets of text (unpacked septets for GSM-7) one
// SMS holds without a concatenation header: 160 septets, else 140 octets
// (TS 23.040 9.2.3.16).
func singleOctets(c coding.Coding) int {
	if c == coding.GSM7 {
		return 160
	}
	return 140
}

// legacyMessages rewrites m for a peer without TLVs; m itself is not
// changed. next gives the reference of a message that has to be cut into
// segments. A message that cannot be carried without TLVs is an error.
func legacyMessages(m *Message, next func() (uint16, error)) ([]*Message, error) {
	if len(m.TLVs) == 0 {
		return []*Message{m}, nil
	}
	out := *m
	out.TLVs = nil
	var sar [3][]byte
	var payload []byte
	hasPayload := false
	for _, t := range m.TLVs {
		switch t.Tag {
		case concat.TagMessagePayload:
			payload, hasPayload = t.Value, true
		case concat.TagSARMsgRefNum:
			sar[0] = t.Value
		case concat.TagSARTotalSegments:
			sar[1] = t.Value
		case concat.TagSARSegmentSeqnum:
			sar[2] = t.Value
		}
	}
	if sar[0] != nil || sar[1] != nil || sar[2] != nil {
		if len(sar[0]) != 2 || len(sar[1]) != 1 || len(sar[2]) != 1 {
			return nil, &FieldError{Path: "tlvs", Reason: "incomplete sar_* parameters for an SMPP 3.3 peer", Status: StatusInvOptParStr}
		}
		ref := binary.BigEndian.Uint16(sar[0])
		ie := concat.IE{ID: 0x08, Data: []byte{byte(ref >> 8), byte(ref), sar[1][0], sar[2][0]}}
		text := out.ShortMessage
		if hasPayload {
			text = payload
		}
		out.ShortMessage = withIE(out.ESMClass, text, ie)
		out.ESMClass |= concat.ESMClassUDHI
		if len(out.ShortMessage) > MaxShortMessage {
			return nil, &FieldError{Path: "short_message", Reason: "segment too long for an SMPP 3.3 peer", Status: StatusInvMsgLen}
		}
		return []*Message{&out}, nil
	}
	if !hasPayload {
		return []*Message{&out}, nil
	}
	c, err := coding.FromDataCoding(m.DataCoding)
	if err != nil {
		return nil, fmt.Errorf("smpp: message_payload toward an SMPP 3.3 peer: %w", err)
	}
	if m.ESMClass&concat.ESMClassUDHI != 0 || len(payload) <= singleOctets(c) {
		// A payload with its own user data header was cut by its sender:
		// it goes as it is, if short_message can hold it.
		if len(payload) > MaxShortMessage {
			return nil, &FieldError{Path: "message_payload", Reason: "longer than short_message holds, for an SMPP 3.3 peer", Status: StatusInvMsgLen}
		}
		out.ShortMessage = payload
		return []*Message{&out}, nil
	}
	segs, err := concat.Split(payload, c, concat.Options{Style: concat.UDH8}, next)
	if err != nil {
		return nil, fmt.Errorf("smpp: message_payload toward an SMPP 3.3 peer: %w", err)
	}
	msgs := make([]*Message, len(segs))
	for i, s := range segs {
		seg := out
		seg.ShortMessage, seg.ESMClass = s.ShortMessage, out.ESMClass|s.ESMClass
		msgs[i] = &seg
	}
	return msgs, nil
}

// withIE puts ie in front of the other elements of text's user data
// header, or makes one.
func withIE(esmClass byte, text []byte, ie concat.IE) []byte {
	if esmClass&concat.ESMClassUDHI != 0 {
		if ies, rest, err := concat.ParseUDH(text); err == nil {
			return append(concat.AppendUDH(nil, append([]concat.IE{ie}, ies...)), rest...)
		}
	}
	return append(concat.AppendUDH(nil, []concat.IE{ie}), text...)
}
