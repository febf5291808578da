package tpdu

import (
	"fmt"
	"time"
)

// Status is TP-ST (9.2.3.15): what became of a submitted message.
type Status uint8

// The TP-ST values of 9.2.3.15. Bits 6-5 give the class: 00 completed,
// 01 temporary error with the service centre still trying, 10 permanent
// error, 11 temporary error with the service centre no longer trying.
const (
	// Short message transaction completed.
	StatusReceived             Status = 0x00 // received by the SME
	StatusForwardedUnconfirmed Status = 0x01 // forwarded, delivery not confirmable
	StatusReplaced             Status = 0x02 // replaced by the SC

	// Temporary error, SC still trying to transfer the SM.
	StatusCongestion        Status = 0x20
	StatusSMEBusy           Status = 0x21
	StatusNoResponseFromSME Status = 0x22
	StatusServiceRejected   Status = 0x23
	StatusQoSNotAvailable   Status = 0x24
	StatusErrorInSME        Status = 0x25

	// Permanent error, SC is not making any more transfer attempts.
	StatusRemoteProcedureError      Status = 0x40
	StatusIncompatibleDestination   Status = 0x41
	StatusConnectionRejectedBySME   Status = 0x42
	StatusNotObtainable             Status = 0x43
	StatusQoSNotAvailablePermanent  Status = 0x44
	StatusNoInterworkingAvailable   Status = 0x45
	StatusValidityPeriodExpired     Status = 0x46
	StatusDeletedByOriginatingSME   Status = 0x47
	StatusDeletedBySCAdministration Status = 0x48
	StatusSMDoesNotExist            Status = 0x49

	// Temporary error, SC is not making any more transfer attempts.
	StatusCongestionFinal        Status = 0x60
	StatusSMEBusyFinal           Status = 0x61
	StatusNoResponseFromSMEFinal Status = 0x62
	StatusServiceRejectedFinal   Status = 0x63
	StatusQoSNotAvailableFinal   Status = 0x64
	StatusErrorInSMEFinal        Status = 0x65
)

// StatusClass is the group a TP-ST value belongs to, bits 6-5.
type StatusClass uint8

// The classes of 9.2.3.15.
const (
	// ClassCompleted: the transaction is over; for StatusReceived the
	// message reached the recipient.
	ClassCompleted StatusClass = iota
	// ClassTemporaryRetrying: an error the service centre is still
	// retrying through; another report follows.
	ClassTemporaryRetrying
	// ClassPermanent: failed for good.
	ClassPermanent
	// ClassTemporaryFinal: a temporary error the service centre gave up
	// on; failed for good as well.
	ClassTemporaryFinal
)

// Class is the group of s. The reserved values with bit 7 set fall in the
// group of their bits 6-5, so a report always lands somewhere.
func (s Status) Class() StatusClass { return StatusClass(s >> 5 & 0x03) }

// Final reports whether no further report follows: the class is not
// ClassTemporaryRetrying.
func (s Status) Final() bool { return s.Class() != ClassTemporaryRetrying }

// Delivered reports whether the message reached the recipient: a
// completed transaction (9.2.3.15 counts "replaced" and "forwarded, not
// confirmable" as completed too).
func (s Status) Delivered() bool { return s.Class() == ClassCompleted }

var statusNames = map[Status]string{
	StatusReceived:                  "received by the SME",
	StatusForwardedUnconfirmed:      "forwarded, delivery unconfirmed",
	StatusReplaced:                  "replaced by the SC",
	StatusCongestion:                "congestion, SC still trying",
	StatusSMEBusy:                   "SME busy, SC still trying",
	StatusNoResponseFromSME:         "no response from SME, SC still trying",
	StatusServiceRejected:           "service rejected, SC still trying",
	StatusQoSNotAvailable:           "quality of service not available, SC still trying",
	StatusErrorInSME:                "error in SME, SC still trying",
	StatusRemoteProcedureError:      "remote procedure error",
	StatusIncompatibleDestination:   "incompatible destination",
	StatusConnectionRejectedBySME:   "connection rejected by SME",
	StatusNotObtainable:             "not obtainable",
	StatusQoSNotAvailablePermanent:  "quality of service not available",
	StatusNoInterworkingAvailable:   "no interworking available",
	StatusValidityPeriodExpired:     "validity period expired",
	StatusDeletedByOriginatingSME:   "deleted by originating SME",
	StatusDeletedBySCAdministration: "deleted by SC administration",
	StatusSMDoesNotExist:            "SM does not exist",
	StatusCongestionFinal:           "congestion, SC gave up",
	StatusSMEBusyFinal:              "SME busy, SC gave up",
	StatusNoResponseFromSMEFinal:    "no response from SME, SC gave up",
	StatusServiceRejectedFinal:      "service rejected, SC gave up",
	StatusQoSNotAvailableFinal:      "quality of service not available, SC gave up",
	StatusErrorInSMEFinal:           "error in SME, SC gave up",
}

// String is "0x00 received by the SME", or the class for reserved and SC
// specific values.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("0x%02x %s", uint8(s), n)
	}
	return fmt.Sprintf("0x%02x %s", uint8(s), [...]string{"completed", "temporary error, SC still trying", "permanent error", "temporary error, SC gave up"}[s.Class()])
}

// ParamIndicator is TP-PI (9.2.3.27): which optional fields follow.
type ParamIndicator uint8

// The TP-PI bits; bits 6-3 are reserved and bit 7 extends the field.
const (
	PIPID ParamIndicator = 0x01
	PIDCS ParamIndicator = 0x02
	PIUDL ParamIndicator = 0x04
)

// piExtension is bit 7 of TP-PI: another TP-PI octet follows (9.2.3.27).
const piExtension = 0x80

// Optional holds TP-PI and the fields it announces, the tail of
// SMS-STATUS-REPORT and the reports (9.2.2.1a, 9.2.2.2a, 9.2.2.3).
type Optional struct {
	PI       ParamIndicator
	PID      uint8 // when PI has PIPID
	DCS      DCS   // when PI has PIDCS; 0, the default alphabet, without
	UserData UserData
}

// check refuses user data without PIUDL rather than drop it silently.
func (o Optional) check(pdu Type) error {
	if o.PI&PIUDL == 0 && (o.UserData.Header != nil || len(o.UserData.Units) > 0) {
		return invalid(pdu, "TP-PI", "user data without the TP-UDL bit")
	}
	return nil
}

// appendFields writes the fields TP-PI names, after TP-PI itself (and,
// in SMS-SUBMIT-REPORT, TP-SCTS).
func (o Optional) appendFields(dst []byte, pdu Type) ([]byte, error) {
	if o.PI&PIPID != 0 {
		dst = append(dst, o.PID)
	}
	if o.PI&PIDCS != 0 {
		dst = append(dst, byte(o.DCS))
	}
	if o.PI&PIUDL != 0 {
		return appendUserData(dst, pdu, o.DCS, o.UserData)
	}
	return dst, nil
}

// pi reads TP-PI. Further TP-PI octets (bit 7) are read past: every bit
// they could hold is reserved (9.2.3.27).
func (r *reader) pi() (ParamIndicator, error) {
	pi, err := r.octet("TP-PI")
	for ext := pi; err == nil && ext&piExtension != 0; {
		ext, err = r.octet("TP-PI")
	}
	return ParamIndicator(pi &^ piExtension), err
}

// optionalFields reads the fields pi names.
func (r *reader) optionalFields(pi ParamIndicator, udhi bool) (Optional, error) {
	o := Optional{PI: pi}
	var err error
	if o.PI&PIPID != 0 {
		if o.PID, err = r.octet("TP-PID"); err != nil {
			return Optional{}, err
		}
	}
	if o.PI&PIDCS != 0 {
		dcs, err := r.octet("TP-DCS")
		if err != nil {
			return Optional{}, err
		}
		o.DCS = DCS(dcs)
	}
	if o.PI&PIUDL != 0 {
		if o.UserData, err = r.userData(udhi, o.DCS); err != nil {
			return Optional{}, err
		}
	}
	return o, nil
}

// StatusReport is SMS-STATUS-REPORT (9.2.2.3): the outcome of a message
// the recipient of the report submitted with TP-SRR.
type StatusReport struct {
	// MoreMessages is TP-MMS, the natural way round (see Deliver).
	MoreMessages bool
	// LoopPrevention is TP-LP (9.2.3.28).
	LoopPrevention bool
	// CommandResult is TP-SRQ (9.2.3.26): the report answers an
	// SMS-COMMAND rather than an SMS-SUBMIT.
	CommandResult bool
	// MessageRef is TP-MR of the SMS-SUBMIT reported on.
	MessageRef uint8
	// Recipient is TP-RA (9.2.3.14), the submit's TP-DA.
	Recipient Address
	// SCTimestamp is TP-SCTS of the submit (9.2.3.11).
	SCTimestamp time.Time
	// DischargeTime is TP-DT (9.2.3.13): when the outcome happened.
	DischargeTime time.Time
	// Status is TP-ST (9.2.3.15).
	Status Status
	// HasOptional says TP-PI is present; the report may end after TP-ST.
	HasOptional bool
	Optional    Optional
}

// Type is TypeStatusReport.
func (*StatusReport) Type() Type { return TypeStatusReport }

// AppendEncode appends the SMS-STATUS-REPORT in the field order of
// 9.2.2.3.
func (s *StatusReport) AppendEncode(dst []byte) ([]byte, error) {
	fo := byte(mtiStatusReport) | flag(!s.MoreMessages, bitMMS) | flag(s.LoopPrevention, bitLP) |
		flag(s.CommandResult, bitSRQ) | flag(s.HasOptional && s.Optional.UserData.HasHeader(), bitUDHI)
	dst = append(dst, fo, s.MessageRef)
	dst, err := appendAddress(dst, TypeStatusReport, "TP-RA", s.Recipient)
	if err != nil {
		return dst, err
	}
	if dst, err = appendTimestamp(dst, TypeStatusReport, "TP-SCTS", s.SCTimestamp); err != nil {
		return dst, err
	}
	if dst, err = appendTimestamp(dst, TypeStatusReport, "TP-DT", s.DischargeTime); err != nil {
		return dst, err
	}
	dst = append(dst, byte(s.Status))
	if !s.HasOptional {
		return dst, nil
	}
	if err := s.Optional.check(TypeStatusReport); err != nil {
		return dst, err
	}
	dst = append(dst, byte(s.Optional.PI&^piExtension))
	return s.Optional.appendFields(dst, TypeStatusReport)
}

func decodeStatusReport(b []byte) (*StatusReport, error) {
	r := &reader{b: b, pdu: TypeStatusReport}
	fo, _ := r.octet("TP-MTI")
	s := &StatusReport{
		MoreMessages:   fo&bitMMS == 0,
		LoopPrevention: fo&bitLP != 0,
		CommandResult:  fo&bitSRQ != 0,
	}
	var err error
	if s.MessageRef, err = r.octet("TP-MR"); err != nil {
		return nil, err
	}
	if s.Recipient, err = r.address("TP-RA"); err != nil {
		return nil, err
	}
	if s.SCTimestamp, err = r.timestamp("TP-SCTS"); err != nil {
		return nil, err
	}
	if s.DischargeTime, err = r.timestamp("TP-DT"); err != nil {
		return nil, err
	}
	st, err := r.octet("TP-ST")
	if err != nil {
		return nil, err
	}
	s.Status = Status(st)
	if r.left() == 0 {
		return s, nil
	}
	s.HasOptional = true
	pi, err := r.pi()
	if err != nil {
		return nil, err
	}
	if s.Optional, err = r.optionalFields(pi, fo&bitUDHI != 0); err != nil {
		return nil, err
	}
	return s, r.end()
}
