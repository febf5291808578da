package tpdu

import "fmt"

// Type is the kind of a TPDU.
type Type uint8

// The TPDUs of TS 23.040 9.2.2.
const (
	TypeDeliver       Type = iota // SMS-DELIVER, SC to MS (9.2.2.1)
	TypeDeliverReport             // SMS-DELIVER-REPORT, MS to SC (9.2.2.1a)
	TypeSubmit                    // SMS-SUBMIT, MS to SC (9.2.2.2)
	TypeSubmitReport              // SMS-SUBMIT-REPORT, SC to MS (9.2.2.2a)
	TypeStatusReport              // SMS-STATUS-REPORT, SC to MS (9.2.2.3)
	TypeCommand                   // SMS-COMMAND, MS to SC (9.2.2.4), not read here
)

// String is the name TS 23.040 uses.
func (t Type) String() string {
	switch t {
	case TypeDeliver:
		return "SMS-DELIVER"
	case TypeDeliverReport:
		return "SMS-DELIVER-REPORT"
	case TypeSubmit:
		return "SMS-SUBMIT"
	case TypeSubmitReport:
		return "SMS-SUBMIT-REPORT"
	case TypeStatusReport:
		return "SMS-STATUS-REPORT"
	case TypeCommand:
		return "SMS-COMMAND"
	}
	return fmt.Sprintf("tpdu(%d)", uint8(t))
}

// Direction is the way a TPDU goes; TP-MTI means different TPDUs in each
// (9.2.3.1).
type Direction uint8

// The two directions.
const (
	// MO is mobile station to service centre: SMS-SUBMIT, SMS-COMMAND,
	// SMS-DELIVER-REPORT.
	MO Direction = iota
	// MT is service centre to mobile station: SMS-DELIVER,
	// SMS-STATUS-REPORT, SMS-SUBMIT-REPORT.
	MT
)

// TP-MTI values, bits 1-0 of the first octet (9.2.3.1).
const (
	mtiDeliver      = 0x00 // SMS-DELIVER (MT), SMS-DELIVER-REPORT (MO)
	mtiSubmit       = 0x01 // SMS-SUBMIT (MO), SMS-SUBMIT-REPORT (MT)
	mtiStatusReport = 0x02 // SMS-STATUS-REPORT (MT), SMS-COMMAND (MO)
	mtiReserved     = 0x03
)

// Flag bits of the first octet (9.2.2, 9.2.3.2-9.2.3.26).
const (
	bitMMS  = 0x04 // TP-MMS in SMS-DELIVER and SMS-STATUS-REPORT
	bitRD   = 0x04 // TP-RD in SMS-SUBMIT
	bitLP   = 0x08 // TP-LP in SMS-DELIVER and SMS-STATUS-REPORT
	vpfMask = 0x18 // TP-VPF in SMS-SUBMIT, bits 4-3
	bitSRI  = 0x20 // TP-SRI in SMS-DELIVER
	bitSRR  = 0x20 // TP-SRR in SMS-SUBMIT
	bitSRQ  = 0x20 // TP-SRQ in SMS-STATUS-REPORT
	bitUDHI = 0x40 // TP-UDHI in every TPDU but SMS-COMMAND's
	bitRP   = 0x80 // TP-RP in SMS-DELIVER and SMS-SUBMIT
)

// PDU is a TPDU this package encodes: *Submit, *Deliver,
// *StatusReport or *Report.
type PDU interface {
	// Type is the kind of TPDU.
	Type() Type
	// AppendEncode appends the TPDU in wire form.
	AppendEncode(dst []byte) ([]byte, error)
}

// Encode returns p in wire form.
func Encode(p PDU) ([]byte, error) {
	return p.AppendEncode(nil)
}

// Decode reads the TPDU of an RP-DATA going in dir: SMS-SUBMIT from a
// handset (MO), SMS-DELIVER or SMS-STATUS-REPORT towards one (MT). The
// reports travel in RP-ACK and RP-ERROR: read them with DecodeReport.
// Values in the result never alias b.
func Decode(b []byte, dir Direction) (PDU, error) {
	if len(b) == 0 {
		return nil, &FieldError{PDU: TypeSubmit, Field: "TP-MTI", Err: fmt.Errorf("empty tpdu: %w", ErrTruncated)}
	}
	mti := b[0] & 0x03
	if dir == MO {
		switch mti {
		case mtiSubmit:
			return decodeSubmit(b)
		case mtiStatusReport:
			return nil, &FieldError{PDU: TypeCommand, Field: "TP-MTI", Err: fmt.Errorf("sms-command: %w", ErrUnsupported)}
		case mtiDeliver:
			return nil, &FieldError{PDU: TypeDeliverReport, Field: "TP-MTI", Err: fmt.Errorf("a report outside RP-ACK/RP-ERROR: %w", ErrUnsupported)}
		}
		return nil, &FieldError{PDU: TypeSubmit, Field: "TP-MTI", Err: fmt.Errorf("reserved value 3: %w", ErrMalformed)}
	}
	switch mti {
	case mtiStatusReport:
		return decodeStatusReport(b)
	case mtiSubmit:
		return nil, &FieldError{PDU: TypeSubmitReport, Field: "TP-MTI", Err: fmt.Errorf("a report outside RP-ACK/RP-ERROR: %w", ErrUnsupported)}
	}
	// 9.2.3.1: an MS that receives the reserved value processes the TPDU
	// as an SMS-DELIVER.
	return decodeDeliver(b)
}
