package pager

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
	"iwf/sms/rp"
	"iwf/sms/tpdu"
)

// SMS over IP (3GPP TS 24.341): a partner whose trunk has sms_over_ip set
// is an IMS network whose handsets send SMS as MESSAGEs of type
// application/vnd.3gpp.sms, each carrying one RP message (TS 24.011 7.3).
// The IWF plays the IP-SM-GW / service centre toward them: it answers
// every such MESSAGE 202 and gives the relay-layer answer (RP-ACK or
// RP-ERROR) in a MESSAGE of its own back to the handset (TS 24.341
// 5.3.2.4, 5.3.3.4), so a refusal of the short message never shows as a
// SIP failure.

// ContentTypeSMS is the media type of a MESSAGE carrying an RP message
// (TS 24.341 section 7.1; the IANA registration of vnd.3gpp.sms).
const ContentTypeSMS = "application/vnd.3gpp.sms"

// FeatureSMSIP is the Accept-Contact value that routes a MESSAGE to the
// handset's SMS over IP function (TS 24.341 5.3.2.4 and 5.3.3.3: the
// +g.3gpp.smsip media feature tag, required and explicit, as TS 34.229-1
// A.7.1 shows it).
const FeatureSMSIP = "*;+g.3gpp.smsip;require;explicit"

// SMSOverIP is the RP message of a MESSAGE of type
// application/vnd.3gpp.sms from a trunk with sms_over_ip set.
type SMSOverIP struct {
	// RP is the relay-layer message: *rp.Data from the handset (its
	// SMS-SUBMIT in Submit), *rp.Ack or *rp.ErrorMsg answering an
	// RP-DATA the IWF sent, or *rp.SMMA.
	RP rp.Message
	// Submit is the SMS-SUBMIT of an RP-DATA, nil otherwise or when
	// Cause refuses it.
	Submit *tpdu.Submit
	// Ref is the RP message reference an answer echoes (TS 24.011 8.2.3).
	Ref uint8
	// Cause, when not 0, is the RP-ERROR the message is answered with.
	// The pager side sets it for a message it cannot read; Inbound sets
	// it from the Store's refusal (an error with an RPCause() rp.Cause
	// method, else 41 temporary failure).
	Cause rp.Cause
	// CallID is the Call-ID of the MESSAGE, for the In-Reply-To of the
	// answer.
	CallID string
}

// needsReply reports whether the IWF answers s at the relay layer: an
// RP-DATA and an RP-SMMA get an RP-ACK or RP-ERROR (TS 24.011 6.3, 7.3).
func (s *SMSOverIP) needsReply() bool {
	switch s.RP.(type) {
	case *rp.Data, *rp.SMMA:
		return true
	}
	return false
}

// RPSender sends RP messages to a partner's IMS users; *Sender is one.
type RPSender interface {
	SendRP(ctx context.Context, m RPOutgoing) (Result, error)
}

// RPOutgoing is one RP message toward a partner's IMS user.
type RPOutgoing struct {
	Partner string
	// To is the user (its public identity).
	To address.Address
	// RP is the relay-layer message, encoded (rp.Encode).
	RP []byte
	// InReplyTo, when set, is the Call-ID of the MESSAGE answered.
	InReplyTo string
	// CallID, when set, is the Call-ID: a caller that sends again after a
	// crash gives the same one. Empty draws one.
	CallID string
}

// isSMSType reports whether a Content-Type value names
// application/vnd.3gpp.sms.
func isSMSType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), ContentTypeSMS)
}

// decodeSMS reads the RP message of an SMS over IP MESSAGE. A message
// whose reference can be read is answered at the relay layer: its faults
// set Cause (TS 24.011 8.2.5.4 and annex E) rather than fail the request.
// to is the recipient of an SMS-SUBMIT, read from its TP-DA under the
// trunk's numbering plan; the zero Address otherwise.
func decodeSMS(b []byte, tr *trunk) (s *SMSOverIP, to address.Address, err error) {
	if len(b) < 2 {
		return nil, to, refuse(400, "RP message of "+strconv.Itoa(len(b))+" octets, at least 2")
	}
	s = &SMSOverIP{Ref: b[1]}
	m, err := rp.Decode(b)
	if err != nil {
		var fe *rp.FieldError
		if !errors.As(err, &fe) {
			return nil, to, refuse(400, err.Error())
		}
		s.RP, s.Cause = &rp.Data{Direction: rp.MO, Ref: b[1]}, fe.RPCause()
		return s, to, nil
	}
	s.RP = m
	d, ok := m.(*rp.Data)
	if !ok {
		return s, to, nil
	}
	if d.Direction != rp.MO {
		// An RP-DATA toward a handset has no business here (TS 24.011
		// table 8.3): the type is wrong for this direction.
		s.Cause = rp.CauseMessageNotCompatibleWithState
		return s, to, nil
	}
	p, err := tpdu.Decode(d.UserData, tpdu.MO)
	if err != nil {
		// TS 24.011 annex E: an SMS-COMMAND or a report out of place is
		// a message type not implemented (97); a field that breaks TS
		// 23.040 is invalid mandatory information (96).
		s.Cause = rp.CauseInvalidMandatoryInformation
		if errors.Is(err, tpdu.ErrUnsupported) {
			s.Cause = rp.CauseMessageTypeNonExistent
		}
		return s, to, nil
	}
	sub := p.(*tpdu.Submit)
	to, err = tpAddress(sub.Destination, tr.Numbering)
	if err != nil {
		// TS 24.011 annex E, cause 1: the destination cannot be reached
		// because the number is not assigned.
		s.Cause = rp.CauseUnassignedNumber
		return s, to, nil
	}
	s.Submit = sub
	return s, to, nil
}

// tpAddress reads a TP address as an identity: an international number
// as E.164, any other number under the trunk's numbering plan. An
// alphanumeric address names nobody the IWF can reach.
func tpAddress(a tpdu.Address, o address.Options) (address.Address, error) {
	switch {
	case a.TON == tpdu.TONAlphanumeric:
		return address.Address{}, errors.New("alphanumeric destination")
	case a.Digits == "":
		return address.Address{}, errors.New("empty destination")
	case a.TON == tpdu.TONInternational:
		return address.Parse("+"+a.Digits, address.Options{})
	}
	return address.Parse(a.Digits, o)
}

// causeOf is the RP-Cause that answers a Store's refusal: the one the
// error names (RPCause), 41 temporary failure for a store that did not
// answer in time or any other error (the handset may try again).
func causeOf(err error) rp.Cause {
	var rc interface{ RPCause() rp.Cause }
	if errors.As(err, &rc) {
		return rc.RPCause()
	}
	return rp.CauseTemporaryFailure
}

// smsReplyWait bounds the sending of one relay-layer answer.
const smsReplyWait = 40 * time.Second

// replySMS sends the RP-ACK or RP-ERROR that answers m (TS 24.341
// 5.3.3.4: the IP-SM-GW's submit report goes in a MESSAGE of its own,
// after the 202). It runs after the 202 went.
func (in *Inbound) replySMS(ctx context.Context, m *Message) {
	s := m.SMS
	if isSMMA(s) && s.Cause == 0 {
		// TS 24.011 7.3.2: the handset has memory again. The Store wakes
		// what waits for it, and the RP-ACK says the network took the
		// notice; an RP-ERROR (41, or the Store's cause) has the handset
		// repeat it (TS 24.011 6.3.3.3).
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.AcceptTimeout)
		if err := in.cfg.Store.Accept(actx, m); err != nil {
			s.Cause = causeOf(err)
			in.log.Warn("rp-smma not taken", "partner", m.Partner, "call_id", m.CallID, "error", err)
		}
		cancel()
	}
	var ans rp.Message = &rp.Ack{Direction: rp.MT, Ref: s.Ref}
	if s.Cause != 0 {
		ans = &rp.ErrorMsg{Direction: rp.MT, Ref: s.Ref, Cause: s.Cause}
	}
	b, err := rp.Encode(ans)
	if err != nil {
		in.log.Warn("rp answer", "partner", m.Partner, "call_id", m.CallID, "error", err)
		return
	}
	if in.cfg.Replies == nil {
		in.log.Warn("rp answer not sent: no sender", "partner", m.Partner, "call_id", m.CallID)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), smsReplyWait)
	defer cancel()
	res, err := in.cfg.Replies.SendRP(ctx, RPOutgoing{Partner: m.Partner, To: m.From, RP: b, InReplyTo: s.CallID})
	if err == nil && res.Outcome != Delivered {
		err = errors.New("answered " + strconv.Itoa(res.SIPStatus()))
	}
	if err != nil {
		// The handset's relay timer (TR1M) sends the RP-DATA again; its
		// copy is recognised by the store.
		in.log.Warn("rp answer not delivered", "partner", m.Partner, "call_id", m.CallID, "rp_cause", uint8(s.Cause), "error", err)
	}
}

// SendRP sends one RP message to a user of a partner flagged
// sms_over_ip, from the partner's service centre address, in a MESSAGE of
// type application/vnd.3gpp.sms routed to the handset's SMS over IP
// function (Accept-Contact +g.3gpp.smsip, Request-Disposition no-fork:
// TS 24.341 5.3.2.4, 5.3.3.3). It returns the final Result of the
// MESSAGE; the relay-layer answer comes in a MESSAGE of its own.
func (s *Sender) SendRP(ctx context.Context, m RPOutgoing) (Result, error) {
	tr, ok := s.cfg.Trunks.byName[m.Partner]
	if !ok {
		return Result{}, ErrUnknownPartner
	}
	if !tr.SMSOverIP {
		return Result{}, errors.New("pager: partner " + m.Partner + " has no sms_over_ip")
	}
	sc, err := address.Parse(tr.SCAddress, address.Options{})
	if err != nil {
		return Result{}, errors.New("pager: sc_address: " + err.Error())
	}
	if len(m.RP) > tr.MaxBodyBytes {
		return Result{}, &BodyTooLargeError{Size: len(m.RP), Limit: tr.MaxBodyBytes}
	}
	out := Outgoing{Partner: m.Partner, From: sc, To: m.To, CallID: m.CallID}
	if out.CallID == "" {
		out.CallID = randomID()
	}
	b := outBody{contentType: ContentTypeSMS, data: m.RP, headers: rpHeaders(sc.SIPURI(s.cfg.Domain), m.InReplyTo)}
	return s.send(ctx, tr, out, b)
}

// rpHeaders are the headers of a MESSAGE of ours carrying an RP message,
// from the service centre scURI (also its From), in reply to the MESSAGE
// whose Call-ID is inReplyTo ("" for none). The Request-URI and To are
// the user's public identity: for an RP-ACK or RP-ERROR the sender of
// the short message, not the SC address it was sent to (TS 24.341 table
// B.6-1: the Request-URI is the public user identity receiving it).
//
//   - Accept-Contact *;+g.3gpp.smsip;require;explicit and
//     Request-Disposition no-fork route it to the SMS over IP function of
//     one registered contact (TS 24.341 5.3.2.4, table B.6-1; TS 34.229-1
//     A.7.1).
//   - P-Asserted-Identity, the IP-SM-GW's address, the same as From (TS
//     24.341 table B.6-1; TS 34.229-1 A.7.1): the handset sends its
//     delivery reports and RP-SMMA to the address it finds there (TS
//     24.341 5.3.2.5 a) and NOTE 1). The IWF is the network's IP-SM-GW,
//     the trusted node that asserts it (RFC 3325 section 9.1).
//   - In-Reply-To, the Call-ID of the MESSAGE that carried the RP
//     message answered, as the handset names ours in its delivery
//     report (TS 24.341 5.3.2.4); none on an RP-DATA of ours.
//
// Content-Type application/vnd.3gpp.sms (TS 24.341 4.2, 7.1) goes with
// the body.
func rpHeaders(scURI, inReplyTo string) []sip.Header {
	h := []sip.Header{
		sip.NewHeader("Accept-Contact", FeatureSMSIP),
		sip.NewHeader("Request-Disposition", "no-fork"),
		sip.NewHeader("P-Asserted-Identity", "<"+scURI+">"),
	}
	if inReplyTo != "" {
		h = append(h, sip.NewHeader("In-Reply-To", inReplyTo))
	}
	return h
}

// isSMMA reports an RP-SMMA: the handset has memory again (TS 24.011
// 7.3.2). It skips the deduplication of MESSAGEs: replySMS hands it to
// the Store, which tries what failed on a full memory at once, then
// answers it.
func isSMMA(s *SMSOverIP) bool {
	_, ok := s.RP.(*rp.SMMA)
	return ok
}

// validSCAddress reports whether s is an E.164 number with "+", as
// sc_address takes it: an RP address holds at most 20 digits (TS 24.011
// 8.2.5.1).
func validSCAddress(s string) bool {
	return len(s) >= 2 && len(s) <= 21 && s[0] == '+' && strings.Trim(s[1:], "0123456789") == ""
}
