package smpp

import (
	"fmt"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
)

// TextOptions are a partner's settings for the text it is sent.
type TextOptions struct {
	// Coding forces a coding; nil chooses Default when every character
	// fits it, else UCS2.
	Coding *coding.Coding
	// Default is what data_coding 0 means on the partner's link: GSM7
	// (the zero value, SMPP 3.4 5.2.19 and TS 23.038), or IA5 or Latin1
	// for SMSCs that put those octets under it (Kannel's alt-charset).
	// Text in this coding goes as data_coding 0.
	Default coding.Coding
	// Concat is the segmentation style and limits.
	Concat concat.Options
	// RegisteredDelivery is copied into every segment (1 asks for a
	// delivery receipt).
	RegisteredDelivery byte
}

// CodingFor is the coding TextMessages uses for text: the forced one,
// else Default when every character fits it, else UCS2.
func (o TextOptions) CodingFor(text string) coding.Coding {
	if o.Coding != nil {
		return *o.Coding
	}
	if _, err := coding.Length(o.Default, text); err == nil {
		return o.Default
	}
	return coding.UCS2
}

// dataCoding is the data_coding octet of coding c: 0 for the partner's
// default alphabet, else the SMPP value of c.
func (o TextOptions) dataCoding(c coding.Coding) byte {
	dc, err := coding.Scheme{Coding: c, Class: coding.NoClass}.DataCoding(o.Default)
	if err != nil {
		return byte(c)
	}
	return dc
}

// TextMessages encodes text from src to dst as the submit_sm or
// deliver_sm bodies that carry it: one without a concatenation header
// when it fits a single SMS, else the segments in order. next gives the
// reference number of a concatenated message (concat.RefAllocator).
func TextMessages(src, dst Address, text string, o TextOptions, next func() (uint16, error)) ([]*Message, error) {
	c := o.CodingFor(text)
	encoded, err := coding.Encode(c, text)
	if err != nil {
		return nil, fmt.Errorf("smpp: text: %w", err)
	}
	segs, err := concat.Split(encoded, c, o.Concat, next)
	if err != nil {
		return nil, fmt.Errorf("smpp: text: %w", err)
	}
	dc := o.dataCoding(c)
	out := make([]*Message, len(segs))
	for i, s := range segs {
		out[i] = &Message{
			Source:             src,
			Dest:               dst,
			ESMClass:           s.ESMClass,
			DataCoding:         dc,
			RegisteredDelivery: o.RegisteredDelivery,
			ShortMessage:       s.ShortMessage,
			TLVs:               s.TLVs,
		}
	}
	return out, nil
}

// Segments is the number of SMS TextMessages makes of text with o,
// counted with its own cuts (concat.Count): a text over
// o.Concat.MaxSegments is an error matching concat.ErrTooManySegments.
func Segments(text string, o TextOptions) (int, error) {
	c := o.CodingFor(text)
	encoded, err := coding.Encode(c, text)
	if err != nil {
		return 0, fmt.Errorf("smpp: text: %w", err)
	}
	n, err := concat.Count(encoded, c, o.Concat)
	if err != nil {
		return n, fmt.Errorf("smpp: text: %w", err)
	}
	return n, nil
}

// Units is the length of text in the units of the coding TextMessages
// would choose with o (septets for GSM7, UTF-16 code units for UCS2),
// and the units one segment of a concatenated message holds: what a
// splitter needs to keep a text within a segment cap.
func Units(text string, o TextOptions) (n, perSegment int, err error) {
	c := o.CodingFor(text)
	n, err = coding.Length(c, text)
	if err != nil {
		return 0, 0, fmt.Errorf("smpp: text: %w", err)
	}
	return n, concat.Capacity(c, o.Concat, true), nil
}

// Content is what an incoming message carries, as far as relaying it as
// chat text goes.
type Content uint8

// The contents. Everything but ContentText is never relayed as text; a
// partner's policy says whether it is refused or acknowledged and dropped.
const (
	// ContentText is text in a coding that decodes.
	ContentText Content = iota
	// ContentBinary is 8-bit data (data_coding 2, 4, 0x14-0x17,
	// 0xF4-0xF7): ringtones, OTA settings, vCards.
	ContentBinary
	// ContentPorts is addressed to an application port (UDH element 0x04
	// or 0x05, TS 23.040 9.2.3.24.3-4): WAP push, MMS notifications.
	ContentPorts
	// ContentType0 is a Type 0 short message (protocol_id 0x40, TS
	// 23.040 9.2.3.9): the handset acknowledges and discards it ("silent
	// SMS").
	ContentType0
	// ContentSMEAck is an SME delivery or manual/user acknowledgement
	// (esm_class message type 0010 or 0100, SMPP 3.4 5.2.12).
	ContentSMEAck
)

// String names the content as the configuration does.
func (c Content) String() string {
	switch c {
	case ContentText:
		return "text"
	case ContentBinary:
		return "binary"
	case ContentPorts:
		return "ports"
	case ContentType0:
		return "type0"
	case ContentSMEAck:
		return "sme_ack"
	}
	return fmt.Sprintf("content(%d)", uint8(c))
}

// SMPP 3.4 and TS 23.040 values Classify reads.
const (
	// esmClassTypeMask selects the message type bits 5-2 of esm_class.
	esmClassTypeMask byte = 0x3C
	// ESMClassSMEDeliveryAck is "SME Delivery Acknowledgement" (0010).
	ESMClassSMEDeliveryAck byte = 0x08
	// ESMClassSMEManualAck is "SME Manual/User Acknowledgement" (0100).
	ESMClassSMEManualAck byte = 0x10
	// ProtocolIDType0 is the Type 0 short message (TS 23.040 9.2.3.9).
	ProtocolIDType0 byte = 0x40
	// IEIPorts8 and IEIPorts16 are application port addressing with 8-
	// and 16-bit ports (TS 23.040 9.2.3.24.3-4).
	IEIPorts8  byte = 0x04
	IEIPorts16 byte = 0x05
)

// Classify says what m carries, its user data header (in, from Inspect)
// and data coding (s) read: the first that applies of an SME
// acknowledgement, a Type 0 message, a port-addressed message, binary
// data, else text.
func Classify(m *Message, in concat.Inbound, s coding.Scheme) Content {
	switch t := m.ESMClass & esmClassTypeMask; {
	case t == ESMClassSMEDeliveryAck, t == ESMClassSMEManualAck:
		return ContentSMEAck
	case m.ProtocolID == ProtocolIDType0:
		return ContentType0
	}
	for _, ie := range in.Header {
		if ie.ID == IEIPorts8 || ie.ID == IEIPorts16 {
			return ContentPorts
		}
	}
	if s.Coding == coding.Binary {
		return ContentBinary
	}
	return ContentText
}
