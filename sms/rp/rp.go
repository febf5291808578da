package rp

import "fmt"

// MTI is the RP message type indicator, the three low bits of the first
// octet (TS 24.011 8.2.2, table 8.3). Its value says the direction too.
type MTI uint8

// The message types of table 8.3; ms->n is mobile originating (MO), n->ms
// mobile terminating (MT). Value 7 is reserved.
const (
	MTIDataMO  MTI = 0 // RP-DATA, ms -> n
	MTIDataMT  MTI = 1 // RP-DATA, n -> ms
	MTIAckMO   MTI = 2 // RP-ACK, ms -> n
	MTIAckMT   MTI = 3 // RP-ACK, n -> ms
	MTIErrorMO MTI = 4 // RP-ERROR, ms -> n
	MTIErrorMT MTI = 5 // RP-ERROR, n -> ms
	MTISMMA    MTI = 6 // RP-SMMA, ms -> n
)

// String names the message type and direction for logs and errors.
func (m MTI) String() string {
	switch m {
	case MTIDataMO:
		return "RP-DATA(ms->n)"
	case MTIDataMT:
		return "RP-DATA(n->ms)"
	case MTIAckMO:
		return "RP-ACK(ms->n)"
	case MTIAckMT:
		return "RP-ACK(n->ms)"
	case MTIErrorMO:
		return "RP-ERROR(ms->n)"
	case MTIErrorMT:
		return "RP-ERROR(n->ms)"
	case MTISMMA:
		return "RP-SMMA"
	}
	return fmt.Sprintf("RP-MTI(%d)", uint8(m))
}

// Direction is the way an RP message goes (TS 24.011 table 8.3).
type Direction uint8

// The two directions.
const (
	// MO is mobile station to network: what an IMS handset sends.
	MO Direction = iota
	// MT is network to mobile station: what the gateway sends a handset.
	MT
)

// String is "ms->n" or "n->ms".
func (d Direction) String() string {
	if d == MT {
		return "n->ms"
	}
	return "ms->n"
}

// IEIUserData is the information element identifier of RP-User-Data where
// it is optional, in RP-ACK and RP-ERROR (TS 24.011 7.3.3-4, 8.2.5.3).
const IEIUserData byte = 0x41

// Message is one RP message: *Data, *Ack, *ErrorMsg or *SMMA.
type Message interface {
	// MessageType is the MTI the message goes with.
	MessageType() MTI
	// AppendEncode appends the message in wire form.
	AppendEncode(dst []byte) ([]byte, error)
}

// Data is RP-DATA (TS 24.011 7.3.1): a TPDU in transfer. Towards the
// network (7.3.1.2) the originator is empty and the destination is the
// service centre; towards the handset (7.3.1.1) the originator is the
// service centre and the destination is empty.
type Data struct {
	Direction Direction
	// Ref is the RP message reference (8.2.3), echoed by the RP-ACK or
	// RP-ERROR that answers.
	Ref         uint8
	Originator  Address
	Destination Address
	// UserData is the TPDU, 1..255 octets (8.2.5.3).
	UserData []byte
}

// Ack is RP-ACK (TS 24.011 7.3.3): the transfer of Ref succeeded.
type Ack struct {
	Direction Direction
	Ref       uint8
	// UserData is the optional TPDU (an SMS-DELIVER-REPORT or
	// SMS-SUBMIT-REPORT); nil leaves the element out.
	UserData []byte
}

// ErrorMsg is RP-ERROR (TS 24.011 7.3.4): the transfer of Ref failed for
// Cause.
type ErrorMsg struct {
	Direction Direction
	Ref       uint8
	Cause     Cause
	// Diagnostic is the optional diagnostic octet of RP-Cause (8.2.5.4),
	// sent when HasDiagnostic is set.
	Diagnostic    uint8
	HasDiagnostic bool
	// UserData is the optional TPDU, as in Ack.
	UserData []byte
}

// SMMA is RP-SMMA (TS 24.011 7.3.2): the handset has memory again.
type SMMA struct {
	Ref uint8
}

// MessageType is the MTI of RP-DATA in d's direction.
func (d *Data) MessageType() MTI {
	if d.Direction == MT {
		return MTIDataMT
	}
	return MTIDataMO
}

// MessageType is the MTI of RP-ACK in a's direction.
func (a *Ack) MessageType() MTI {
	if a.Direction == MT {
		return MTIAckMT
	}
	return MTIAckMO
}

// MessageType is the MTI of RP-ERROR in e's direction.
func (e *ErrorMsg) MessageType() MTI {
	if e.Direction == MT {
		return MTIErrorMT
	}
	return MTIErrorMO
}

// MessageType is MTISMMA.
func (*SMMA) MessageType() MTI { return MTISMMA }

// AppendEncode appends RP-DATA: MTI, reference, the two address elements
// and RP-User-Data as a length-value element (7.3.1).
func (d *Data) AppendEncode(dst []byte) ([]byte, error) {
	mti := d.MessageType()
	orig, dest := d.Originator, d.Destination
	var err error
	switch {
	case d.Direction == MO && !orig.IsZero():
		return dst, invalid(mti, "RP-Originator-Address", "must be empty from the handset (7.3.1.2)")
	case d.Direction == MT && !dest.IsZero():
		return dst, invalid(mti, "RP-Destination-Address", "must be empty towards the handset (7.3.1.1)")
	case d.Direction == MO && dest.IsZero():
		return dst, invalid(mti, "RP-Destination-Address", "the service centre address is mandatory (7.3.1.2)")
	case d.Direction == MT && orig.IsZero():
		return dst, invalid(mti, "RP-Originator-Address", "the service centre address is mandatory (7.3.1.1)")
	case len(d.UserData) == 0 || len(d.UserData) > 255:
		return dst, invalid(mti, "RP-User-Data", "%d octets out of 1..255", len(d.UserData))
	}
	dst = append(dst, byte(mti), d.Ref)
	if dst, err = appendAddress(dst, mti, "RP-Originator-Address", orig); err != nil {
		return dst, err
	}
	if dst, err = appendAddress(dst, mti, "RP-Destination-Address", dest); err != nil {
		return dst, err
	}
	dst = append(dst, byte(len(d.UserData)))
	return append(dst, d.UserData...), nil
}

// AppendEncode appends RP-ACK: MTI, reference and, when UserData is not
// nil, RP-User-Data with its IEI (7.3.3).
func (a *Ack) AppendEncode(dst []byte) ([]byte, error) {
	dst = append(dst, byte(a.MessageType()), a.Ref)
	return appendOptionalUserData(dst, a.MessageType(), a.UserData)
}

// AppendEncode appends RP-ERROR: MTI, reference, RP-Cause as a
// length-value element and the optional RP-User-Data (7.3.4).
func (e *ErrorMsg) AppendEncode(dst []byte) ([]byte, error) {
	if e.Cause > 0x7F {
		return dst, invalid(e.MessageType(), "RP-Cause", "cause %d over seven bits", uint8(e.Cause))
	}
	dst = append(dst, byte(e.MessageType()), e.Ref)
	// 8.2.5.4: bit 8 of the cause octet is the extension bit, 0.
	if e.HasDiagnostic {
		dst = append(dst, 2, byte(e.Cause), e.Diagnostic)
	} else {
		dst = append(dst, 1, byte(e.Cause))
	}
	return appendOptionalUserData(dst, e.MessageType(), e.UserData)
}

// AppendEncode appends RP-SMMA: MTI and reference (7.3.2).
func (s *SMMA) AppendEncode(dst []byte) ([]byte, error) {
	return append(dst, byte(MTISMMA), s.Ref), nil
}

// appendOptionalUserData writes RP-User-Data as a type 4 element with its
// IEI, or nothing for nil.
func appendOptionalUserData(dst []byte, mti MTI, ud []byte) ([]byte, error) {
	if ud == nil {
		return dst, nil
	}
	if len(ud) == 0 || len(ud) > 255 {
		return dst, invalid(mti, "RP-User-Data", "%d octets out of 1..255", len(ud))
	}
	dst = append(dst, IEIUserData, byte(len(ud)))
	return append(dst, ud...), nil
}

// Encode returns m in wire form.
func Encode(m Message) ([]byte, error) {
	return m.AppendEncode(nil)
}

// Decode reads one RP message; the MTI picks the type and direction. The
// user data of the result is a copy, so b may be reused.
func Decode(b []byte) (Message, error) {
	if len(b) < 2 {
		return nil, truncated("RP-Message-Reference", len(b), "%d octets, an RP message has at least 2", len(b))
	}
	// 8.2.2: bits 4-8 of the first octet are spare, sent as 0; a receiver
	// ignores them.
	mti, ref := MTI(b[0]&0x07), b[1]
	switch mti {
	case MTIDataMO, MTIDataMT:
		return decodeData(b, mti, ref)
	case MTIAckMO, MTIAckMT:
		a := &Ack{Direction: direction(mti), Ref: ref}
		var err error
		a.UserData, err = readOptionalUserData(b, 2)
		return a, err
	case MTIErrorMO, MTIErrorMT:
		return decodeError(b, mti, ref)
	case MTISMMA:
		if len(b) > 2 {
			return nil, malformed("RP-SMMA", 2, CauseInformationElementNonExistent, "%d octets after the reference", len(b)-2)
		}
		return &SMMA{Ref: ref}, nil
	}
	return nil, malformed("RP-MTI", 0, CauseMessageTypeNonExistent, "reserved message type %d", uint8(mti))
}

// direction is the way a message of type m goes: odd types are n->ms.
func direction(m MTI) Direction {
	if m&1 == 1 {
		return MT
	}
	return MO
}

func decodeData(b []byte, mti MTI, ref uint8) (Message, error) {
	d := &Data{Direction: direction(mti), Ref: ref}
	var err error
	off := 2
	if d.Originator, off, err = readAddress(b, off, "RP-Originator-Address", d.Direction == MO); err != nil {
		return nil, err
	}
	if d.Destination, off, err = readAddress(b, off, "RP-Destination-Address", d.Direction == MT); err != nil {
		return nil, err
	}
	if off >= len(b) {
		return nil, truncated("RP-User-Data", off, "no length octet")
	}
	n := int(b[off])
	switch {
	case n == 0:
		return nil, malformed("RP-User-Data", off, CauseInvalidMandatoryInformation, "empty, RP-DATA carries a TPDU")
	case off+1+n > len(b):
		return nil, truncated("RP-User-Data", off, "length %d past the %d octets left", n, len(b)-off-1)
	case off+1+n < len(b):
		return nil, malformed("RP-User-Data", off+1+n, CauseInformationElementNonExistent, "%d octets after the last element", len(b)-off-1-n)
	}
	d.UserData = append([]byte(nil), b[off+1:]...)
	return d, nil
}

func decodeError(b []byte, mti MTI, ref uint8) (Message, error) {
	e := &ErrorMsg{Direction: direction(mti), Ref: ref}
	off := 2
	if off >= len(b) {
		return nil, truncated("RP-Cause", off, "no length octet")
	}
	n := int(b[off])
	switch {
	case n < 1 || n > 2:
		return nil, malformed("RP-Cause", off, CauseInvalidMandatoryInformation, "length %d out of 1..2", n)
	case off+1+n > len(b):
		return nil, truncated("RP-Cause", off, "length %d past the %d octets left", n, len(b)-off-1)
	}
	// 8.2.5.4: the extension bit of the cause octet is 0; a receiver reads
	// the seven bits of the value.
	e.Cause = Cause(b[off+1] & 0x7F)
	if n == 2 {
		e.Diagnostic, e.HasDiagnostic = b[off+2], true
	}
	var err error
	e.UserData, err = readOptionalUserData(b, off+1+n)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// readOptionalUserData reads the optional RP-User-Data element at off, the
// last element of RP-ACK and RP-ERROR: nil when absent.
func readOptionalUserData(b []byte, off int) ([]byte, error) {
	if off == len(b) {
		return nil, nil
	}
	if b[off] != IEIUserData {
		return nil, malformed("RP-User-Data", off, CauseInformationElementNonExistent, "unknown element identifier 0x%02x", b[off])
	}
	if off+1 >= len(b) {
		return nil, truncated("RP-User-Data", off, "no length octet")
	}
	n := int(b[off+1])
	switch {
	case n == 0:
		return nil, malformed("RP-User-Data", off+1, CauseInvalidMandatoryInformation, "empty element")
	case off+2+n > len(b):
		return nil, truncated("RP-User-Data", off+1, "length %d past the %d octets left", n, len(b)-off-2)
	case off+2+n < len(b):
		return nil, malformed("RP-User-Data", off+2+n, CauseInformationElementNonExistent, "%d octets after the last element", len(b)-off-2-n)
	}
	return append([]byte(nil), b[off+2:]...), nil
}
