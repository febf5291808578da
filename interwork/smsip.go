package interwork

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"iwf/pager"
	"iwf/session/msrp"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/sms/rp"
	"iwf/sms/tpdu"
)

// SMS over IP (3GPP TS 24.341): partners flagged sms_over_ip are IMS
// networks whose handsets send SMS-SUBMITs in RP-DATA inside MESSAGEs
// (pager.SMSOverIP), and take SMS-DELIVERs and SMS-STATUS-REPORTs the
// same way. The IWF stands as their service centre (TS 29.311's IP-SM-GW):
//
//   - MO: the user data goes through the partner's reassembly as SMPP
//     segments do (smsArrived), keyed and queued in the conversation of
//     the sender's and the recipient's identities, as a plain MESSAGE's:
//     one conversation, one promotion policy for all three ways in. The
//     pager side answers 202 and the relay layer (RP-ACK, or RP-ERROR with
//     the cause rpCauseOf gives a refusal).
//   - TP-SRR: when the message's outcome is known, an SMS-STATUS-REPORT
//     with the TP-ST of the report table (Outcome.TPStatus) is queued
//     toward the sender in the same conversation, and goes like any
//     message toward the SMS side.
//   - MT: a text toward a user of such a partner is coded and segmented
//     by the partner's sms settings as for SMPP (UDH concatenation, GSM-7
//     or UCS-2), each segment an SMS-DELIVER in an RP-DATA. Each waits for
//     its RP-ACK, correlated by the RP message reference through the store
//     so that an answer landing on another node reaches the worker; an
//     RP-ERROR with a temporary cause is tried again within validity, a
//     permanent one fails the message with OutcomeOfRPCause; after
//     RP-ERROR 22 (memory full) the handset's RP-SMMA ends the retry
//     wait (smsip_mt.go).
//   - A reassembly that fails or times out still owes each segment's
//     status report (smsipReassemblyFailed); a partial message keeps them.

// RPSender sends RP messages to IMS users; *pager.Sender implements it.
// The engine's Pager is asked for it when a partner is flagged
// sms_over_ip.
type RPSender interface {
	SendRP(ctx context.Context, m pager.RPOutgoing) (pager.Result, error)
}

// ingressSMSIP names SMS over IP in queues, counters (in_smsip) and
// metrics.
const ingressSMSIP ingress = "smsip"

// ingressSMSIPReport names the SMS-STATUS-REPORTs the IWF queues toward
// SMS over IP senders. They are no incoming messages: counted apart
// (counterSMSIPReports, not in_smsip) and labelled apart in metrics, so
// operators' incoming counts are the handsets' messages alone.
const ingressSMSIPReport ingress = "smsip_report"

// counterSMSIPReports counts the SMS-STATUS-REPORTs queued toward SMS
// over IP senders.
const counterSMSIPReports counter = "smsip_reports"

// smsipReport is what an SMS-STATUS-REPORT owes its sender (TS 23.040
// 9.2.2.3). Its JSON is kept in the queue and with the segments under
// reassembly: keep it compatible.
type smsipReport struct {
	// MR are the TP-MR of the SMS-SUBMITs that asked (TP-SRR), one
	// report each; a concatenated message has one per segment.
	MR []uint8 `json:"mr"`
	// DA is the TP-DA the submits named, the report's TP-RA.
	DA tpdu.Address `json:"da"`
}

// smsipPart is what a segment of an SMS over IP message keeps with it
// under reassembly (concat.Part.Meta), as an SMPP segment keeps its
// receipt: that it came as SMS over IP, so that a message the expiry
// settles keeps its ingress, and the status report its TP-SRR asked for
// (MR empty when none), sent when the reassembly fails. Its JSON reads
// as a smsipReport: keep both compatible.
type smsipPart struct {
	In ingress `json:"in"`
	smsipReport
}

// partsIngress is the way the parts of a reassembly came: SMS over IP
// when one says so (parts of a message without TP-SRR stored before
// smsipPart existed carry nothing, and read as SMPP).
func partsIngress(parts []concat.Part) ingress {
	for _, pt := range parts {
		var m struct {
			In ingress `json:"in"`
			MR []uint8 `json:"mr"`
		}
		if len(pt.Meta) > 0 && json.Unmarshal(pt.Meta, &m) == nil && (m.In == ingressSMSIP || m.MR != nil) {
			return ingressSMSIP
		}
	}
	return ingressSMPP
}

// The refusals of SMS over IP alone.
var (
	errNoSMSIP = &Refusal{"partner has no sms_over_ip", 403, smpp.StatusInvSysID, 403}
	errRPState = errors.New("interwork: rp answer to no rp-data of ours")
)

// rpRefusal carries the RP-Cause a refusal of an SMS-SUBMIT is answered
// with in the RP-ERROR (pager reads it through RPCause).
type rpRefusal struct {
	cause rp.Cause
	err   error
}

func (r *rpRefusal) Error() string     { return r.err.Error() }
func (r *rpRefusal) Unwrap() error     { return r.err }
func (r *rpRefusal) RPCause() rp.Cause { return r.cause }

// rpCauseOf is the RP-Cause of a refusal (TS 24.011 table 8.4, annex E):
// a store down, a full queue or a rate limit is congestion (42), which
// the handset may try again; a stop in progress a temporary failure (41);
// a text over the partner's segment cap a transfer rejected (21), as
// content the partner's non_text policy refuses; an unreadable text or
// validity invalid mandatory information (96); a partner not flagged
// sms_over_ip a facility not subscribed (50).
func rpCauseOf(err error) rp.Cause {
	switch {
	case errors.Is(err, errUnavailable), errors.Is(err, errQueueFull),
		errors.Is(err, errPartsFull), errors.Is(err, errThrottled):
		return rp.CauseCongestion
	case errors.Is(err, errDraining), errors.Is(err, errNotRunning):
		return rp.CauseTemporaryFailure
	case errors.Is(err, errTooLong), errors.Is(err, errBadCoding), errors.Is(err, errBinary),
		errors.Is(err, errPorts), errors.Is(err, errType0), errors.Is(err, errSMEAck):
		return rp.CauseShortMessageTransferRejected
	case errors.Is(err, errBadText), errors.Is(err, errBadValidity):
		return rp.CauseInvalidMandatoryInformation
	case errors.Is(err, errNoSMSIP), errors.Is(err, errNoPartner):
		return rp.CauseRequestedFacilityNotSubscribed
	}
	return rp.CauseTemporaryFailure
}

// acceptSMSIP takes the RP message of an SMS over IP MESSAGE.
func (e *Engine) acceptSMSIP(ctx context.Context, m *pager.Message) error {
	switch r := m.SMS.RP.(type) {
	case *rp.Data:
		if err := e.smsipSubmit(ctx, m); err != nil {
			return &rpRefusal{cause: rpCauseOf(err), err: err}
		}
		return nil
	case *rp.Ack:
		return e.rpAnswered(ctx, m, r.Ref, 0)
	case *rp.ErrorMsg:
		return e.rpAnswered(ctx, m, r.Ref, r.Cause)
	case *rp.SMMA:
		if err := e.memoryAvailable(ctx, m); err != nil {
			return &rpRefusal{cause: rpCauseOf(err), err: err}
		}
	}
	return nil
}

// smsipSubmit queues the text of an SMS-SUBMIT toward the RCS side; a
// segment waits in the partner's reassembly like an SMPP one.
func (e *Engine) smsipSubmit(ctx context.Context, m *pager.Message) error {
	p, err := e.admit(m.Partner)
	if err != nil {
		return err
	}
	sub := m.SMS.Submit
	if !p.SMSOverIP || sub == nil {
		return errNoSMSIP
	}
	// The user data as SMPP carries it, unpacked: package concat and the
	// NonText policy read it as they read a submit_sm's.
	sm := &smpp.Message{ProtocolID: sub.PID, DataCoding: byte(sub.DCS), ShortMessage: sub.UserData.ShortMessage()}
	if sub.UserData.HasHeader() {
		sm.ESMClass = concat.ESMClassUDHI
	}
	cfg := smsipSMS(p.SMS)
	var rep *smsipReport
	meta := smsipPart{In: ingressSMSIP}
	if sub.StatusReportRequest {
		rep = &smsipReport{MR: []uint8{sub.MessageRef}, DA: sub.Destination}
		meta.smsipReport = *rep
	}
	key := convKey{p.Name, partyOf(m.From), partyOf(m.To)}
	a := smsArrival{
		id: msrp.NewID(), ingress: ingressSMSIP, cfg: cfg, meta: meta,
		key: func() (convKey, error) { return key, nil },
		// A handset that got no RP-ACK submits again with the same TP-MR
		// (TS 23.040 9.2.3.25): the same sender, reference, recipient
		// and user data make the same message.
		dedup: smsipDedupID(m, sub),
		merge: func(q *queued, parts []concat.Part) { q.SMSIP = mergeReports(rep, parts) },
		prepare: func(q *queued) {
			q.SMSIP = rep
			if exp, ok := sub.Validity.Expiry(time.Unix(0, q.At)); ok {
				q.Expires = exp.UnixNano()
			}
		},
	}
	return e.smsArrived(ctx, p, sm, a)
}

// smsipDedupID names an SMS-SUBMIT for duplicate detection.
func smsipDedupID(m *pager.Message, s *tpdu.Submit) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d/%d/%s\x00%d\x00", m.Partner, m.From.String(), s.MessageRef,
		s.Destination.TON, s.Destination.NPI, s.Destination.Digits, s.DCS)
	h.Write(s.UserData.ShortMessage())
	return "smsip:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// mergeReports gathers the status reports the segments of a message
// asked for: rep (the last segment's, nil when it asked for none) and
// those kept with the others.
func mergeReports(rep *smsipReport, parts []concat.Part) *smsipReport {
	var out *smsipReport
	add := func(r *smsipReport) {
		if r == nil || len(r.MR) == 0 {
			return
		}
		if out == nil {
			out = &smsipReport{DA: r.DA}
		}
		for _, mr := range r.MR {
			if !containsMR(out.MR, mr) {
				out.MR = append(out.MR, mr)
			}
		}
	}
	add(rep)
	for _, pt := range parts {
		var r smsipReport
		if len(pt.Meta) > 0 && json.Unmarshal(pt.Meta, &r) == nil {
			add(&r)
		}
	}
	return out
}

func containsMR(mrs []uint8, mr uint8) bool {
	for _, x := range mrs {
		if x == mr {
			return true
		}
	}
	return false
}

// smsipSMS is the partner's sms settings as SMS over IP uses them: TP-UD
// carries GSM-7 in the default alphabet, unpacked here (tpdu packs it),
// and concatenation is in the user data header (TS 23.040 9.2.3.24.1,
// .8): the SMPP-only styles take udh8.
func smsipSMS(s SMSConfig) SMSConfig {
	s.Packed = false
	s.DefaultAlphabet = AlphabetGSM7
	if st, _ := concat.ParseStyle(s.Style); st != concat.UDH8 && st != concat.UDH16 {
		s.Style = concat.UDH8.String()
	}
	return s
}

// smsipStatus queues the SMS-STATUS-REPORTs a message asked for once its
// outcome o is final, toward its sender in the same conversation.
func (c *conv) smsipStatus(ctx context.Context, q *queued, o Outcome) {
	if q.SMSIP == nil || !o.Final() {
		return
	}
	c.e.statusReports(ctx, c.partner, c.k, q.ID, q.SMSIP, time.Unix(0, q.At), o)
}

// statusReports queues toward the sender of conversation key an
// SMS-STATUS-REPORT for each TP-MR of rep (TS 23.040 9.2.2.3): the
// message id names them for duplicate detection, at is when the message
// reached us (TP-SCTS), and o its outcome, mapped to TP-ST.
func (e *Engine) statusReports(ctx context.Context, p *partner, key convKey, id string, rep *smsipReport, at time.Time, o Outcome) {
	now := e.now().UTC()
	for _, mr := range rep.MR {
		sr := &tpdu.StatusReport{
			MessageRef: mr, Recipient: rep.DA,
			SCTimestamp: at.UTC(), DischargeTime: now, Status: o.TPStatus(),
		}
		b, err := tpdu.Encode(sr)
		if err != nil {
			e.fail(p.Name, "status report", err)
			continue
		}
		rid := id + "/sr" + strconv.Itoa(int(mr))
		r := &queued{ID: rid, Dir: toSMS, Ingress: ingressSMSIPReport, At: now.UnixNano(), TPDU: b}
		if _, err := e.enqueue(ctx, p, key, rid, r); err != nil {
			e.fail(p.Name, "status report", err)
		}
	}
}

// smsipReassemblyFailed sends the status reports the segments of an SMS
// over IP message that did not come together asked for: each segment was
// acknowledged with its own RP-ACK, and its sender waits for the report
// of its TP-MR. o is the reassembly's outcome (reassemblyOutcome).
func (e *Engine) smsipReassemblyFailed(ctx context.Context, p *partner, r concat.Result, o Outcome) {
	key := convKey{p.Name, readParty(r.Key.Source), readParty(r.Key.Destination)}
	for _, pt := range r.Parts {
		var m smsipPart
		if len(pt.Meta) == 0 || json.Unmarshal(pt.Meta, &m) != nil || len(m.MR) == 0 {
			continue
		}
		e.statusReports(ctx, p, key, reassemblyID(r)+"/"+strconv.Itoa(pt.Seq), &m.smsipReport, pt.At, o)
	}
}

// TPStatus is the TP-ST of the SMS-STATUS-REPORT that conveys the
// outcome (TS 23.040 9.2.3.15; README "the report table").
func (o Outcome) TPStatus() tpdu.Status {
	switch o {
	case Delivered:
		return tpdu.StatusReceived
	case Unconfirmed, Accepted:
		// The RCS side took it and never confirmed: forwarded, delivery
		// not confirmable.
		return tpdu.StatusForwardedUnconfirmed
	case Undeliverable:
		return tpdu.StatusNotObtainable
	case Expired:
		return tpdu.StatusValidityPeriodExpired
	case Rejected:
		return tpdu.StatusIncompatibleDestination
	}
	return tpdu.StatusRemoteProcedureError
}

// OutcomeOfRPCause reads the RP-ERROR a handset answered an SMS-DELIVER
// with (TS 24.011 table 8.4, annex E). A temporary cause (memory full,
// out of order, congestion) is no outcome yet: the message is tried again
// within its validity, and expires when it runs out.
func OutcomeOfRPCause(c rp.Cause) Outcome {
	switch {
	case c.Temporary():
		return Expired
	case c == rp.CauseOperatorDeterminedBarring, c == rp.CauseCallBarred,
		c == rp.CauseShortMessageTransferRejected, c == rp.CauseFacilityRejected,
		c == rp.CauseRequestedFacilityNotSubscribed:
		return Rejected
	}
	return Undeliverable
}
