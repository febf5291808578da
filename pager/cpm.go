package pager

import (
	"net/url"
	"time"

	"iwf/internal/address"
	"iwf/internal/cpim"
)

// The trunk profiles: how a MESSAGE toward the trunk is written.
const (
	// ProfilePlain sends RFC 3428 MESSAGEs with a text/plain body, as
	// IMS pager clients and SMS gateways take them.
	ProfilePlain = "plain"
	// ProfileCPM sends OMA CPM standalone messages, as RCS clients take
	// them (GSMA RCC.07 section 3.2.4 "Standalone Messaging"): a
	// message/cpim body with imdn.Message-ID, DateTime and
	// imdn.Disposition-Notification, the standalone-message ICSI in
	// P-Preferred-Service and Accept-Contact, and the CPM
	// Conversation-ID / Contribution-ID. A text whose body would pass the
	// trunk's max_body_bytes is not split: the caller sends it in Large
	// Message Mode (an MSRP session for that one message).
	ProfileCPM = "cpm"
)

// The OMA CPM service identifiers (3GPP TS 24.229 section 7.2A.8, the
// ICSI values of OMA CPM 2.x conversation functions as RCC.07 lists
// them).
const (
	// ICSIStandalone identifies a pager-mode standalone message.
	ICSIStandalone = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg"
	// ICSILargeMessage identifies the session of a Large Message Mode
	// standalone message.
	ICSILargeMessage = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.largemsg"
)

// AcceptContactICSI is the Accept-Contact value (RFC 3841) that asks for
// the service icsi: the +g.3gpp.icsi-ref feature tag, whose value is the
// ICSI with its reserved characters percent-encoded (3GPP TS 24.229
// section 7.9.2).
func AcceptContactICSI(icsi string) string {
	return `*;+g.3gpp.icsi-ref="` + url.QueryEscape(icsi) + `"`
}

// CPIMIdentity is a as a CPIM From/To value (RFC 3862 section 3.2): a tel
// URI for an E.164 number, else its SIP URI at host.
func CPIMIdentity(a address.Address, host string) string {
	if a.Kind == address.KindGlobal {
		return "<tel:" + a.Number + ">"
	}
	return "<" + a.SIPURI(host) + ">"
}

// cpmBody wraps m's text for a CPM trunk: message/cpim around
// text/plain with the IMDN headers RCS clients read (RFC 5438 section
// 6), the message id drawn when m has none.
func (s *Sender) cpmBody(m Outgoing) ([]byte, error) {
	i := cpim.IMDN{MessageID: m.MessageID, Disposition: m.Disposition, DateTime: m.DateTime}
	if i.MessageID == "" {
		i.MessageID = cpim.NewMessageID()
	}
	if i.DateTime.IsZero() {
		i.DateTime = time.Now()
	}
	i.DateTime = i.DateTime.UTC()
	doc, err := cpim.Wrap(CPIMIdentity(m.From, s.cfg.Domain), CPIMIdentity(m.To, s.cfg.Domain),
		"text/plain;charset=UTF-8", []byte(m.Text), i)
	if err != nil {
		return nil, err
	}
	return doc.Marshal()
}
