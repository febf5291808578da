package tpdu

import "time"

// Submit is SMS-SUBMIT (9.2.2.2): a handset sends a message.
type Submit struct {
	// RejectDuplicates is TP-RD (9.2.3.25): the service centre should
	// refuse a message with the same TP-MR and TP-DA as one it holds.
	RejectDuplicates bool
	// ReplyPath is TP-RP (9.2.3.17).
	ReplyPath bool
	// StatusReportRequest is TP-SRR (9.2.3.5): the sender wants an
	// SMS-STATUS-REPORT.
	StatusReportRequest bool
	// MessageRef is TP-MR (9.2.3.6), which a status report echoes.
	MessageRef uint8
	// Destination is TP-DA (9.1.2.5).
	Destination Address
	// PID is TP-PID (9.2.3.9).
	PID uint8
	// DCS is TP-DCS (9.2.3.10).
	DCS DCS
	// Validity is TP-VPF with TP-VP (9.2.3.3, 9.2.3.12).
	Validity Validity
	// UserData is TP-UDHI with TP-UDL and TP-UD (9.2.3.23, 9.2.3.16,
	// 9.2.3.24).
	UserData UserData
}

// Type is TypeSubmit.
func (*Submit) Type() Type { return TypeSubmit }

// AppendEncode appends the SMS-SUBMIT in the field order of 9.2.2.2.
func (s *Submit) AppendEncode(dst []byte) ([]byte, error) {
	if s.Validity.Format > VPAbsolute {
		return dst, invalid(TypeSubmit, "TP-VPF", "format %d out of 0..3", s.Validity.Format)
	}
	fo := byte(mtiSubmit) | byte(s.Validity.Format)<<3
	fo |= flag(s.RejectDuplicates, bitRD) | flag(s.StatusReportRequest, bitSRR) |
		flag(s.UserData.HasHeader(), bitUDHI) | flag(s.ReplyPath, bitRP)
	dst = append(dst, fo, s.MessageRef)
	dst, err := appendAddress(dst, TypeSubmit, "TP-DA", s.Destination)
	if err != nil {
		return dst, err
	}
	dst = append(dst, s.PID, byte(s.DCS))
	if dst, err = appendValidity(dst, s.Validity); err != nil {
		return dst, err
	}
	return appendUserData(dst, TypeSubmit, s.DCS, s.UserData)
}

func decodeSubmit(b []byte) (*Submit, error) {
	r := &reader{b: b, pdu: TypeSubmit}
	fo, _ := r.octet("TP-MTI")
	s := &Submit{
		RejectDuplicates:    fo&bitRD != 0,
		StatusReportRequest: fo&bitSRR != 0,
		ReplyPath:           fo&bitRP != 0,
	}
	var err error
	if s.MessageRef, err = r.octet("TP-MR"); err != nil {
		return nil, err
	}
	if s.Destination, err = r.address("TP-DA"); err != nil {
		return nil, err
	}
	if s.PID, err = r.octet("TP-PID"); err != nil {
		return nil, err
	}
	dcs, err := r.octet("TP-DCS")
	if err != nil {
		return nil, err
	}
	s.DCS = DCS(dcs)
	if s.Validity, err = r.validity(ValidityFormat(fo & vpfMask >> 3)); err != nil {
		return nil, err
	}
	if s.UserData, err = r.userData(fo&bitUDHI != 0, s.DCS); err != nil {
		return nil, err
	}
	return s, r.end()
}

// Deliver is SMS-DELIVER (9.2.2.1): a message for a handset.
type Deliver struct {
	// MoreMessages is TP-MMS (9.2.3.2) read the natural way round: the
	// bit is 0 when more messages are waiting.
	MoreMessages bool
	// LoopPrevention is TP-LP (9.2.3.28).
	LoopPrevention bool
	// ReplyPath is TP-RP (9.2.3.17).
	ReplyPath bool
	// StatusReportIndication is TP-SRI (9.2.3.4): a status report will go
	// back to the sender.
	StatusReportIndication bool
	// Originator is TP-OA (9.1.2.5).
	Originator Address
	// PID is TP-PID (9.2.3.9).
	PID uint8
	// DCS is TP-DCS (9.2.3.10).
	DCS DCS
	// SCTimestamp is TP-SCTS (9.2.3.11), in the time zone it was sent in.
	SCTimestamp time.Time
	// UserData is TP-UDHI, TP-UDL and TP-UD.
	UserData UserData
}

// Type is TypeDeliver.
func (*Deliver) Type() Type { return TypeDeliver }

// AppendEncode appends the SMS-DELIVER in the field order of 9.2.2.1.
func (d *Deliver) AppendEncode(dst []byte) ([]byte, error) {
	fo := byte(mtiDeliver) | flag(!d.MoreMessages, bitMMS) | flag(d.LoopPrevention, bitLP) |
		flag(d.StatusReportIndication, bitSRI) | flag(d.UserData.HasHeader(), bitUDHI) | flag(d.ReplyPath, bitRP)
	dst = append(dst, fo)
	dst, err := appendAddress(dst, TypeDeliver, "TP-OA", d.Originator)
	if err != nil {
		return dst, err
	}
	dst = append(dst, d.PID, byte(d.DCS))
	if dst, err = appendTimestamp(dst, TypeDeliver, "TP-SCTS", d.SCTimestamp); err != nil {
		return dst, err
	}
	return appendUserData(dst, TypeDeliver, d.DCS, d.UserData)
}

func decodeDeliver(b []byte) (*Deliver, error) {
	r := &reader{b: b, pdu: TypeDeliver}
	fo, _ := r.octet("TP-MTI")
	d := &Deliver{
		MoreMessages:           fo&bitMMS == 0,
		LoopPrevention:         fo&bitLP != 0,
		StatusReportIndication: fo&bitSRI != 0,
		ReplyPath:              fo&bitRP != 0,
	}
	var err error
	if d.Originator, err = r.address("TP-OA"); err != nil {
		return nil, err
	}
	if d.PID, err = r.octet("TP-PID"); err != nil {
		return nil, err
	}
	dcs, err := r.octet("TP-DCS")
	if err != nil {
		return nil, err
	}
	d.DCS = DCS(dcs)
	if d.SCTimestamp, err = r.timestamp("TP-SCTS"); err != nil {
		return nil, err
	}
	if d.UserData, err = r.userData(fo&bitUDHI != 0, d.DCS); err != nil {
		return nil, err
	}
	return d, r.end()
}

// flag is bit when on is true.
func flag(on bool, bit byte) byte {
	if on {
		return bit
	}
	return 0
}
