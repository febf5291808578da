package interwork

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"iwf/internal/address"
	"iwf/pager"
	"iwf/session/msrp"
	"iwf/smpp"
	"iwf/smpp/coding"
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
//     permanent one fails the message with OutcomeOfRPCause.

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

// rpWait bounds the wait for the RP-ACK of one RP-DATA; rpAnswerTTL
// keeps an answer and its correlation in the store. TS 24.011's TR1N runs
// 35 to 45 s, but one delivery attempt is cut at 30 s (toSMS): waiting
// less ends the attempt on this segment's own timeout, and the retry
// resumes at it under the same concatenation reference.
const (
	rpWait      = 25 * time.Second
	rpAnswerTTL = 10 * time.Minute
)

// rpPending is the correlation of an RP-DATA sent, kept in the store
// under its reference: the node that gets the answer finds the
// conversation whose worker waits for it.
type rpPending struct {
	Conv string `json:"conv"`
}

// rpAnswer is an RP-ACK (Cause 0) or RP-ERROR as the store keeps it for
// the waiting worker.
type rpAnswer struct {
	Cause rp.Cause `json:"cause"`
}

// rpKey names the RP-DATA with reference ref toward user of partner.
func rpKey(partner, user string, ref uint8) string {
	return "smsip:" + partner + "|" + user + "|" + strconv.Itoa(int(ref))
}

// rpAnswered takes a handset's RP-ACK or RP-ERROR (cause not 0) to an
// RP-DATA of ours, on whichever node it arrives: the answer goes to the
// store and wakes the worker that waits for it.
func (e *Engine) rpAnswered(ctx context.Context, m *pager.Message, ref uint8, cause rp.Cause) error {
	p, ok := e.partners[m.Partner]
	if !ok {
		return errNoPartner
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	k := rpKey(p.Name, partyOf(m.From).id, ref)
	v, ok, err := e.cfg.Records.Get(ctx, k+"|sent")
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if !ok {
		// Late (its wait ended, the message was sent again under another
		// reference) or not ours: nothing waits for it.
		e.log.Debug("rp answer to nothing pending", "partner", p.Name, "rp_ref", ref, "error", errRPState)
		return nil
	}
	var pend rpPending
	if err := json.Unmarshal(v, &pend); err != nil {
		return fmt.Errorf("interwork: rp correlation %s: %w", k, err)
	}
	b, _ := json.Marshal(rpAnswer{Cause: cause})
	if err := e.cfg.Records.Put(ctx, k+"|answer", b, rpAnswerTTL); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if e.signalRP(k) {
		return nil
	}
	owner, err := e.cfg.Leases.Owner(ctx, pend.Conv)
	if err == nil && owner != "" {
		err = e.cfg.Leases.Notify(ctx, owner, pend.Conv)
	}
	if err != nil {
		// The waiting worker looks at the store once a second anyway.
		e.log.Warn("wake rp waiter", "conversation", pend.Conv, "error", err)
	}
	return nil
}

// signalRP wakes this node's worker waiting for the answer k, if any.
func (e *Engine) signalRP(k string) bool {
	e.mu.Lock()
	ch, ok := e.rpWaiters[k]
	e.mu.Unlock()
	if ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ok
}

func (e *Engine) rpWaiter(k string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	if e.rpWaiters == nil {
		e.rpWaiters = make(map[string]chan struct{})
	}
	e.rpWaiters[k] = ch
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		if e.rpWaiters[k] == ch {
			delete(e.rpWaiters, k)
		}
		e.mu.Unlock()
	}
}

// deliverSMSIP sends q to a user of an sms_over_ip partner: a status
// report as it is, a text as SMS-DELIVERs segmented by the partner's sms
// settings. It resumes at the segment a previous try stopped at, under
// the same concatenation reference; an error wrapping errNotSent may be
// tried again.
func (c *conv) deliverSMSIP(ctx context.Context, q *queued) (Outcome, error) {
	e := c.e
	sender, ok := e.cfg.Pager.(RPSender)
	if !ok || e.cfg.Pager == nil {
		return Undeliverable, errNoPager
	}
	to, err := c.k.SMS.address()
	if err != nil {
		return Rejected, err
	}
	sc, err := scAddress(c.partner.SCAddress)
	if err != nil {
		return Undeliverable, err
	}
	pr := c.loadProgress(ctx, q)
	tpdus := [][]byte{q.TPDU}
	if q.TPDU == nil {
		if tpdus, err = c.delivers(ctx, q, pr); err != nil {
			return Rejected, err
		}
	}
	for k := pr.Sent; k < len(tpdus); k++ {
		if o, err := c.sendRP(ctx, sender, to, sc, tpdus[k]); err != nil {
			if errors.Is(err, errNotSent) {
				return Expired, fmt.Errorf("segment %d of %d: %w", k+1, len(tpdus), err)
			}
			return o, err
		}
		pr.Sent = k + 1
		if pr.Sent < len(tpdus) {
			if err := c.saveProgress(ctx, q, pr); err != nil {
				e.log.Warn("sms progress", "conversation", c.key, "error", err)
			}
		}
	}
	return Delivered, nil
}

// delivers codes and segments q's text into SMS-DELIVER TPDUs, within
// the partner's segment cap and overflow policy (SMSConfig.Texts).
func (c *conv) delivers(ctx context.Context, q *queued, pr *smsProgress) ([][]byte, error) {
	cfg := smsipSMS(c.partner.SMS)
	texts, err := cfg.Texts(q.Text)
	if err != nil {
		return nil, err
	}
	oa, err := tpOriginator(c.k.RCS)
	if err != nil {
		return nil, err
	}
	opts := cfg.TextOptions()
	now := c.e.now()
	var out [][]byte
	for i, text := range texts {
		var refErr error
		next := func() (uint16, error) {
			if r, ok := pr.Refs[i]; ok {
				return r, nil
			}
			r, err := c.e.cfg.Refs.NextRef(ctx, c.k.SMS.id)
			if err == nil {
				pr.Refs[i] = r
				err = c.saveProgress(ctx, q, pr)
			}
			refErr = err
			return r, err
		}
		cd := opts.CodingFor(text)
		dcs, err := tpdu.DCSFor(cd)
		if err != nil {
			return nil, err
		}
		encoded, err := coding.Encode(cd, text)
		if err != nil {
			return nil, err
		}
		segs, err := concat.Split(encoded, cd, opts.Concat, next)
		if refErr != nil {
			return nil, fmt.Errorf("%w: reference: %w", errNotSent, refErr)
		}
		if err != nil {
			return nil, err
		}
		for _, s := range segs {
			ud, err := tpdu.NewUserData(s.ShortMessage, s.ESMClass&concat.ESMClassUDHI != 0)
			if err != nil {
				return nil, err
			}
			b, err := tpdu.Encode(&tpdu.Deliver{Originator: oa, DCS: dcs, SCTimestamp: now, UserData: ud})
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// tpOriginator is the TP-OA of a message from p: its E.164 number, or
// the user part of another identity as an alphanumeric address (TS
// 23.040 9.1.2.5: at most 11 characters of the default alphabet).
func tpOriginator(p party) (tpdu.Address, error) {
	a, err := p.address()
	if err != nil {
		return tpdu.Address{}, err
	}
	if a.Kind == address.KindGlobal {
		return tpdu.Address{TON: tpdu.TONInternational, NPI: tpdu.NPIISDN, Digits: strings.TrimPrefix(a.Number, "+")}, nil
	}
	user := a.User
	if user == "" {
		user = a.String()
	}
	if len(user) > 11 {
		user = user[:11]
	}
	if _, err := coding.Length(coding.GSM7, user); err != nil {
		return tpdu.Address{}, fmt.Errorf("interwork: sender %s has no sms form: %w", a, err)
	}
	return tpdu.Address{TON: tpdu.TONAlphanumeric, Digits: user}, nil
}

// scAddress reads a partner's sc_address as the RP-Originator-Address.
func scAddress(s string) (rp.Address, error) {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || d == "" {
		return rp.Address{}, fmt.Errorf("interwork: sc_address %q is not +digits", s)
	}
	return rp.Address{TON: rp.TONInternational, NPI: rp.NPIISDN, Digits: d}, nil
}

// A handset that answers RP-ERROR 22 (memory capacity exceeded) sends
// RP-SMMA once it has room again (TS 24.011 6.3.3, 7.3.2; TS 24.341
// 5.3.2.5), and the service centre then tries what waits for it at once
// (TS 23.040 3.2.5, the alert of the SC). A conversation that got cause
// 22 puts itself in the user's memory-wait schedule; the RP-SMMA, on
// whichever node it lands, marks the time the memory came back and wakes
// each conversation of the schedule, whose worker cuts its retry wait
// short when the mark is no older than the RP-DATA that was refused.
const (
	// memWaitMax bounds the conversations of one user waiting for its
	// memory.
	memWaitMax = 256
	// memWaitTTL keeps the schedule and the mark: a message waits at most
	// its validity, and is tried on the retry schedule anyway.
	memWaitTTL = 24 * time.Hour
)

// memWaitKey names the schedule of the conversations waiting for the
// memory of user of partner; smmaKey the time of its last RP-SMMA.
func memWaitKey(partner, user string) string { return "smsip:memwait:" + partner + "|" + user }
func smmaKey(partner, user string) string    { return "smsip:smma:" + partner + "|" + user }

// memoryAvailable takes a handset's RP-SMMA: each conversation waiting
// for its memory is woken, to try again at once.
func (e *Engine) memoryAvailable(ctx context.Context, m *pager.Message) error {
	p, ok := e.partners[m.Partner]
	if !ok {
		return errNoPartner
	}
	if !p.SMSOverIP {
		return errNoSMSIP
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	user := partyOf(m.From).id
	now := e.now()
	// The mark first: a conversation that registers after the take below
	// finds it (awaitMemory).
	if err := e.cfg.Records.Put(ctx, smmaKey(p.Name, user), []byte(strconv.FormatInt(now.UnixNano(), 10)), memWaitTTL); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	name := memWaitKey(p.Name, user)
	// Due with some slack: another node's clock registered them.
	jobs, err := e.cfg.Records.TakeDue(ctx, name, now.Add(time.Minute), e.cfg.StoreWait, memWaitMax)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	for _, j := range jobs {
		if _, err := e.cfg.Records.Unschedule(ctx, name, j.ID, j.Value); err != nil {
			e.log.Warn("memory wait", "partner", p.Name, "conversation", j.ID, "error", err)
		}
		key, err := parseConvKey(string(j.Value))
		if err != nil {
			e.log.Warn("memory wait: unreadable conversation key", "partner", p.Name, "key", string(j.Value), "error", err)
			continue
		}
		// Wakes this node's worker or tells the owner's node; the worker
		// reads the mark (memoryBack).
		e.ensureWorker(ctx, key)
	}
	return nil
}

// awaitMemory registers the conversation as waiting for the memory of its
// SMS side's user, after the RP-DATA sent at sent got RP-ERROR 22. An
// RP-SMMA that came already (its mark taken before the registration)
// wakes the worker now.
func (c *conv) awaitMemory(ctx context.Context, sent time.Time) {
	e := c.e
	c.memSince = sent.UnixNano()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	err := e.cfg.Records.Schedule(ctx, memWaitKey(c.partner.Name, c.k.SMS.id), c.key, []byte(c.key), e.now(), memWaitMax, memWaitTTL)
	if err != nil {
		// The retry schedule tries it again anyway.
		e.log.Warn("memory wait", "conversation", c.key, "error", err)
		return
	}
	if c.smmaSince(ctx) {
		c.wake()
	}
}

// memoryBack reports whether an RP-SMMA came from the SMS side's user
// since the RP-DATA refused for want of memory: its retry is due now. It
// forgets the wait once it says so.
func (c *conv) memoryBack(ctx context.Context) bool {
	if c.memSince == 0 || !c.smmaSince(ctx) {
		return false
	}
	c.memSince = 0
	return true
}

// smmaSince reports whether the last RP-SMMA of the SMS side's user is
// no older than memSince.
func (c *conv) smmaSince(ctx context.Context) bool {
	e := c.e
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	defer cancel()
	v, ok, err := e.cfg.Records.Get(ctx, smmaKey(c.partner.Name, c.k.SMS.id))
	if err != nil || !ok {
		return false
	}
	at, err := strconv.ParseInt(string(v), 10, 64)
	return err == nil && at >= c.memSince
}

// sendRP sends one TPDU in an RP-DATA and waits for its RP-ACK. A
// temporary failure (no answer, a 408 or 5xx to the MESSAGE, an RP-ERROR
// with a temporary cause) wraps errNotSent.
func (c *conv) sendRP(ctx context.Context, sender RPSender, to address.Address, sc rp.Address, tp []byte) (Outcome, error) {
	e := c.e
	r, err := e.cfg.Refs.NextRef(ctx, "rp:"+c.k.SMS.id)
	if err != nil {
		return Expired, fmt.Errorf("%w: rp reference: %w", errNotSent, err)
	}
	ref := uint8(r)
	body, err := rp.Encode(&rp.Data{Direction: rp.MT, Ref: ref, Originator: sc, UserData: tp})
	if err != nil {
		return Rejected, err
	}
	k := rpKey(c.partner.Name, c.k.SMS.id, ref)
	pend, _ := json.Marshal(rpPending{Conv: c.key})
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
	_ = e.cfg.Records.Delete(sctx, k+"|answer")
	err = e.cfg.Records.Put(sctx, k+"|sent", pend, rpAnswerTTL)
	cancel()
	if err != nil {
		return Expired, fmt.Errorf("%w: rp correlation: %w", errNotSent, err)
	}
	wake, done := e.rpWaiter(k)
	defer func() {
		done()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.StoreWait)
		_ = e.cfg.Records.Delete(dctx, k+"|sent")
		_ = e.cfg.Records.Delete(dctx, k+"|answer")
		cancel()
	}()
	sent := e.now()
	res, err := sender.SendRP(ctx, pager.RPOutgoing{Partner: c.partner.Name, To: to, RP: body})
	if err != nil {
		if errors.Is(err, pager.ErrUnknownPartner) {
			return Undeliverable, err
		}
		return Expired, fmt.Errorf("%w: %w", errNotSent, err)
	}
	if res.Outcome != pager.Delivered {
		o := OutcomeOfSIP(res.SIPStatus())
		if res.Outcome == pager.Rejected && o != Expired && o != Unknown {
			return o, fmt.Errorf("interwork: rp-data answered %d", res.Status)
		}
		return Expired, fmt.Errorf("%w: rp-data answered %d", errNotSent, res.SIPStatus())
	}
	a, err := c.awaitRP(ctx, k, wake)
	if err != nil {
		return Expired, fmt.Errorf("%w: %w", errNotSent, err)
	}
	switch {
	case a.Cause == 0:
		c.memSince = 0
		return Delivered, nil
	case a.Cause == rp.CauseMemoryCapacityExceeded:
		c.awaitMemory(ctx, sent)
		return Expired, fmt.Errorf("%w: rp-error %v", errNotSent, a.Cause)
	case a.Cause.Temporary():
		return Expired, fmt.Errorf("%w: rp-error %v", errNotSent, a.Cause)
	}
	return OutcomeOfRPCause(a.Cause), fmt.Errorf("interwork: rp-error %v", a.Cause)
}

// awaitRP waits for the answer k: woken by this node's rpAnswered, or by
// another node's through the conversation's wake-up, and looking at the
// store once a second should a wake-up be lost.
func (c *conv) awaitRP(ctx context.Context, k string, wake <-chan struct{}) (rpAnswer, error) {
	e := c.e
	limit := time.NewTimer(rpWait)
	defer limit.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		gctx, cancel := context.WithTimeout(ctx, e.cfg.StoreWait)
		v, ok, err := e.cfg.Records.Get(gctx, k+"|answer")
		cancel()
		if err == nil && ok {
			var a rpAnswer
			if err := json.Unmarshal(v, &a); err != nil {
				return rpAnswer{}, err
			}
			return a, nil
		}
		select {
		case <-wake:
		case <-c.wakeCh:
			// A message queued meanwhile, or another node's answer: the
			// run loop reads the queue again after this delivery anyway.
		case <-tick.C:
		case <-limit.C:
			return rpAnswer{}, errors.New("no rp answer in time")
		case <-ctx.Done():
			return rpAnswer{}, ctx.Err()
		}
	}
}
