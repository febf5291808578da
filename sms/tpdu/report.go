package tpdu

import (
	"fmt"
	"time"
)

// FailureCause is TP-FCS (9.2.3.22): why a report refuses a message. It
// travels only in the report of an RP-ERROR.
type FailureCause uint8

// The TP-FCS values of 9.2.3.22 a gateway sends or meets.
const (
	FCSTelematicInterworkingNotSupported FailureCause = 0x80
	FCSShortMessageType0NotSupported     FailureCause = 0x81
	FCSCannotReplaceShortMessage         FailureCause = 0x82
	FCSUnspecifiedPIDError               FailureCause = 0x8F
	FCSAlphabetNotSupported              FailureCause = 0x90
	FCSMessageClassNotSupported          FailureCause = 0x91
	FCSUnspecifiedDCSError               FailureCause = 0x9F
	FCSCommandCannotBeActioned           FailureCause = 0xA0
	FCSCommandUnsupported                FailureCause = 0xA1
	FCSUnspecifiedCommandError           FailureCause = 0xAF
	FCSTPDUNotSupported                  FailureCause = 0xB0
	FCSSCBusy                            FailureCause = 0xC0
	FCSNoSCSubscription                  FailureCause = 0xC1
	FCSSCSystemFailure                   FailureCause = 0xC2
	FCSInvalidSMEAddress                 FailureCause = 0xC3
	FCSDestinationSMEBarred              FailureCause = 0xC4
	FCSSMRejectedDuplicate               FailureCause = 0xC5
	FCSVPFNotSupported                   FailureCause = 0xC6
	FCSVPNotSupported                    FailureCause = 0xC7
	FCSSIMStorageFull                    FailureCause = 0xD0
	FCSNoStorageCapabilityInSIM          FailureCause = 0xD1
	FCSErrorInMS                         FailureCause = 0xD2
	FCSMemoryCapacityExceeded            FailureCause = 0xD3
	FCSToolkitBusy                       FailureCause = 0xD4
	FCSDataDownloadError                 FailureCause = 0xD5
	FCSUnspecified                       FailureCause = 0xFF
)

// String shows the value in hex, as 9.2.3.22 lists it.
func (c FailureCause) String() string { return fmt.Sprintf("tp-fcs 0x%02x", uint8(c)) }

// Report is SMS-SUBMIT-REPORT (9.2.2.2a, towards the handset, answering
// its SMS-SUBMIT) or SMS-DELIVER-REPORT (9.2.2.1a, from the handset,
// answering an SMS-DELIVER), in the RP-ACK form or, with TP-FCS, the
// RP-ERROR form.
type Report struct {
	// Direction is MT for SMS-SUBMIT-REPORT, MO for SMS-DELIVER-REPORT.
	Direction Direction
	// Error selects the RP-ERROR form, which carries FailureCause.
	Error        bool
	FailureCause FailureCause
	// SCTimestamp is TP-SCTS, part of SMS-SUBMIT-REPORT only (9.2.3.11).
	SCTimestamp time.Time
	Optional    Optional
}

// Type is TypeSubmitReport or TypeDeliverReport.
func (r *Report) Type() Type {
	if r.Direction == MT {
		return TypeSubmitReport
	}
	return TypeDeliverReport
}

// AppendEncode appends the report: first octet, TP-FCS in the RP-ERROR
// form, TP-PI, TP-SCTS for SMS-SUBMIT-REPORT, then what TP-PI names.
func (r *Report) AppendEncode(dst []byte) ([]byte, error) {
	mti := byte(mtiDeliver)
	if r.Direction == MT {
		mti = mtiSubmit
	}
	dst = append(dst, mti|flag(r.Optional.UserData.HasHeader(), bitUDHI))
	if r.Error {
		dst = append(dst, byte(r.FailureCause))
	}
	if err := r.Optional.check(r.Type()); err != nil {
		return dst, err
	}
	dst = append(dst, byte(r.Optional.PI&^piExtension))
	if r.Direction == MT {
		var err error
		if dst, err = appendTimestamp(dst, r.Type(), "TP-SCTS", r.SCTimestamp); err != nil {
			return dst, err
		}
	}
	return r.Optional.appendFields(dst, r.Type())
}

// DecodeReport reads the TPDU of an RP-ACK (rpError false) or RP-ERROR
// (rpError true) going in dir: SMS-DELIVER-REPORT from a handset (MO),
// SMS-SUBMIT-REPORT towards one (MT).
func DecodeReport(b []byte, dir Direction, rpError bool) (*Report, error) {
	rep := &Report{Direction: dir, Error: rpError}
	r := &reader{b: b, pdu: rep.Type()}
	fo, err := r.octet("TP-MTI")
	if err != nil {
		return nil, err
	}
	want := byte(mtiDeliver)
	if dir == MT {
		want = mtiSubmit
	}
	if fo&0x03 != want {
		return nil, &FieldError{PDU: rep.Type(), Field: "TP-MTI", Err: fmt.Errorf("value %d: %w", fo&0x03, ErrMalformed)}
	}
	if rpError {
		fcs, err := r.octet("TP-FCS")
		if err != nil {
			return nil, err
		}
		rep.FailureCause = FailureCause(fcs)
	}
	pi, err := r.pi()
	if err != nil {
		return nil, err
	}
	if dir == MT {
		if rep.SCTimestamp, err = r.timestamp("TP-SCTS"); err != nil {
			return nil, err
		}
	}
	if rep.Optional, err = r.optionalFields(pi, fo&bitUDHI != 0); err != nil {
		return nil, err
	}
	return rep, r.end()
}
