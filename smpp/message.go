package smpp

import (
	"fmt"
	"strings"

	"iwf/smpp/coding"
	"iwf/smpp/concat"
	"iwf/smpp/receipt"
)

// TLV is an optional parameter (SMPP 3.4 3.2.4). It is package concat's
// type, so segments from concat.Split go on a Message as they are and a
// received Message goes to concat.Inspect as it is.
type TLV = concat.TLV

// Address is a source or destination address with its type of number and
// numbering plan indicator (SMPP 3.4 5.2.5, 5.2.6).
type Address struct {
	TON  byte
	NPI  byte
	Addr string
}

// String shows the address as "ton.npi:addr" for logs.
func (a Address) String() string { return fmt.Sprintf("%d.%d:%s", a.TON, a.NPI, a.Addr) }

// Message is the body of a submit_sm or deliver_sm, carried raw: the
// short_message octets are passed through exactly (user data header
// included when ESMClass has UDHI set) with their data_coding, and every
// TLV is kept in wire order. Text coding, segmenting and receipts are the
// business of packages coding, concat and receipt; Text, Inspect and
// Receipt are shortcuts to them.
type Message struct {
	ServiceType          string
	Source               Address
	Dest                 Address
	ESMClass             byte
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	DefaultMsgID         byte
	ShortMessage         []byte
	TLVs                 []TLV
}

// Validate checks m against the field sizes of SMPP 3.4 4.4.1 and returns a
// *FieldError (matching ErrInvalidMessage) naming the first field that
// breaks them.
func (m *Message) Validate() error {
	_, err := m.validate()
	return err
}

// validate is Validate, returning the length of the PDU m makes.
func (m *Message) validate() (int, error) {
	type cs struct {
		name   string
		v      string
		max    int
		status uint32
	}
	for _, f := range [...]cs{
		{"service_type", m.ServiceType, maxServiceType, StatusInvSerTyp},
		{"source_addr", m.Source.Addr, maxAddress, StatusInvSrcAdr},
		{"destination_addr", m.Dest.Addr, maxAddress, StatusInvDstAdr},
		{"schedule_delivery_time", m.ScheduleDeliveryTime, timeLen, StatusInvSched},
		{"validity_period", m.ValidityPeriod, timeLen, StatusInvExpiry},
	} {
		if len(f.v) > f.max {
			return 0, &FieldError{Path: f.name, Reason: fmt.Sprintf("%d octets, at most %d", len(f.v), f.max), Status: f.status}
		}
		if strings.IndexByte(f.v, 0) >= 0 {
			return 0, &FieldError{Path: f.name, Reason: "contains NUL", Status: f.status}
		}
		if f.max == timeLen && len(f.v) != 0 && len(f.v) != timeLen {
			return 0, &FieldError{Path: f.name, Reason: "neither empty nor 16 characters (SMPP 3.4 7.1.1)", Status: f.status}
		}
	}
	if len(m.ShortMessage) > MaxShortMessage {
		return 0, &FieldError{Path: "short_message", Reason: fmt.Sprintf("%d octets, at most 254; use message_payload", len(m.ShortMessage)), Status: StatusInvMsgLen}
	}
	// 17 octets of fixed fields and terminating NULs (SMPP 3.4 4.4.1).
	size := HeaderLen + 17 + len(m.ServiceType) + len(m.Source.Addr) + len(m.Dest.Addr) +
		len(m.ScheduleDeliveryTime) + len(m.ValidityPeriod) + len(m.ShortMessage)
	for i, t := range m.TLVs {
		if len(t.Value) > 0xFFFF {
			return 0, &FieldError{Path: fmt.Sprintf("tlvs[%d]", i), Reason: "value longer than 65535 octets", Status: StatusInvOptParStr}
		}
		size += 4 + len(t.Value)
	}
	if size > DefaultMaxPDULen {
		return 0, &FieldError{Path: "tlvs", Reason: fmt.Sprintf("PDU of %d octets exceeds %d", size, DefaultMaxPDULen), Status: StatusInvMsgLen}
	}
	return size, m.checkPayload()
}

// checkPayload applies SMPP 3.4 5.3.2.32 to short_message and
// message_payload: the text goes in one of them, never both (sm_length is
// zero when message_payload is used), and message_payload appears once.
func (m *Message) checkPayload() error {
	n := 0
	for _, t := range m.TLVs {
		if t.Tag == concat.TagMessagePayload {
			n++
		}
	}
	switch {
	case n > 1:
		return &FieldError{Path: "message_payload", Reason: "more than one message_payload", Status: StatusInvOptParStr}
	case n == 1 && len(m.ShortMessage) > 0:
		return &FieldError{Path: "sm_length", Reason: "short_message and message_payload both carry text; sm_length must be 0 with message_payload", Status: StatusInvMsgLen}
	}
	return nil
}

// checkInbound is what a received submit_sm, deliver_sm or data_sm must
// hold besides its encoding: a destination (SMPP 3.4 5.2.9, mandatory
// and not NULL for a message to be routed).
func (m *Message) checkInbound() error {
	if m.Dest.Addr == "" {
		return &FieldError{Path: "destination_addr", Reason: "empty", Status: StatusInvDstAdr}
	}
	return nil
}

// TLV returns the value of the first optional parameter with tag.
func (m *Message) TLV(tag uint16) ([]byte, bool) {
	for _, t := range m.TLVs {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// IsReceipt reports whether esm_class marks the message as a delivery
// receipt (SMPP 3.4 5.2.12).
func (m *Message) IsReceipt() bool { return receipt.IsReceipt(m.ESMClass) }

// Receipt parses the message as a delivery receipt: the Appendix B text of
// short_message (or message_payload) and the receipt TLVs.
func (m *Message) Receipt() (receipt.Receipt, error) {
	text := m.ShortMessage
	if v, ok := m.TLV(concat.TagMessagePayload); ok {
		text = v
	}
	rm, _ := m.TLV(receipt.TagReceiptedMessageID)
	ms, _ := m.TLV(receipt.TagMessageState)
	ne, _ := m.TLV(receipt.TagNetworkErrorCode)
	return receipt.Parse(text, receipt.Params{ReceiptedMessageID: rm, MessageState: ms, NetworkErrorCode: ne})
}

// Inspect takes the message apart into user data header, concatenation
// information and text units (package concat).
func (m *Message) Inspect() (concat.Inbound, error) {
	return concat.Inspect(m.ESMClass, m.ShortMessage, m.TLVs)
}

// Text decodes a message that is not a segment of a longer one to UTF-8,
// with its data_coding. The user data header, if any, is skipped;
// packed tells that data_coding 0 is packed GSM-7 on this partner.
func (m *Message) Text(packed bool) (string, error) {
	in, err := m.Inspect()
	if err != nil {
		return "", err
	}
	c, err := coding.FromDataCoding(m.DataCoding)
	if err != nil {
		return "", err
	}
	units, err := in.Units(c, packed && c == coding.GSM7)
	if err != nil {
		return "", err
	}
	return coding.Decode(c, units)
}

// ReceiptMessage builds the deliver_sm body of a delivery receipt toward a
// partner ESME that asked for one (registered_delivery): the Appendix B
// text in the default alphabet (UCS-2 when the text: excerpt needs it) and
// the receipted_message_id / message_state / network_error_code TLVs.
// source is the address the original message went to, dest its sender.
func ReceiptMessage(source, dest Address, r receipt.Receipt) (*Message, error) {
	// One receipt per message that asked: the text is made on the
	// stack, and the message with its TLVs, the short_message with the
	// TLV values, are an allocation each.
	var scratch [192]byte
	text := string(receipt.AppendText(scratch[:0], r))
	// coding.Choose, keeping the length: GSM-7 unpacked is an octet a
	// septet; UCS-2 takes at most two octets a UTF-8 octet.
	c, n := coding.GSM7, 0
	if septets, err := coding.Length(coding.GSM7, text); err == nil {
		n = septets
	} else {
		c, n = coding.UCS2, 2*len(text)
	}
	buf, err := coding.AppendEncode(make([]byte, 0, n+len(r.ID)+5), c, text)
	if err != nil {
		return nil, fmt.Errorf("smpp: receipt text: %w", err)
	}
	sm := buf[:len(buf):len(buf)]
	_, p := receipt.AppendParams(buf[len(buf):], r)
	pk := new(receiptPDU)
	m := &pk.m
	*m = Message{
		Source:       source,
		Dest:         dest,
		ESMClass:     receipt.ESMClassReceipt,
		DataCoding:   byte(c),
		ShortMessage: sm,
		TLVs:         pk.tlvs[:0],
	}
	for _, t := range [...]TLV{
		{Tag: receipt.TagReceiptedMessageID, Value: p.ReceiptedMessageID},
		{Tag: receipt.TagMessageState, Value: p.MessageState},
		{Tag: receipt.TagNetworkErrorCode, Value: p.NetworkErrorCode},
	} {
		if t.Value != nil {
			m.TLVs = append(m.TLVs, t)
		}
	}
	if len(m.ShortMessage) > MaxShortMessage {
		m.TLVs = append(m.TLVs, TLV{Tag: concat.TagMessagePayload, Value: m.ShortMessage})
		m.ShortMessage = nil
	}
	return m, nil
}

// receiptPDU is a receipt's message with room for its TLVs: the three
// of receipt.Params and a message_payload.
type receiptPDU struct {
	m    Message
	tlvs [4]TLV
}
