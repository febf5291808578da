package interwork

import (
	"iwf/internal/cpim"
	"iwf/smpp/receipt"
)

// Outcome is what became of a message on the far side, in the one
// vocabulary interwork uses between the four ways the sides express it:
// an SMS delivery receipt (SMPP 3.4 message_state, 5.2.28), an IMDN
// delivery notification (RFC 5438), an MSRP REPORT status (RFC 4975
// section 7.1.2) and a SIP final response class (RFC 3261).
type Outcome uint8

// The outcomes.
const (
	// Delivered: the far side has it.
	Delivered Outcome = iota + 1
	// Undeliverable: the far side refused it for good.
	Undeliverable
	// Expired: no answer in time (transaction timeout, validity).
	Expired
	// Rejected: the IWF refused it by policy (size, rate, routing).
	Rejected
	// Unknown: sent, and nothing more is known.
	Unknown
	// Unconfirmed: the RCS side accepted the message (MSRP 200 to its
	// SEND) and asked to confirm its delivery, and neither a
	// Success-Report nor an IMDN came within the message's validity.
	// Many RCS networks answer 200 and never report: the SMS sender
	// learns what is known, not a guess. Toward SMS only.
	Unconfirmed
	// Accepted: the RCS side accepted the message and its delivery is
	// not confirmed yet; not final. It is the intermediate notification
	// (registered_delivery bit 4) toward SMS.
	Accepted
)

// reportRow is one line of the mapping table.
type reportRow struct {
	outcome Outcome
	state   receipt.State // SMS delivery receipt stat
	imdn    cpim.Status   // IMDN delivery-notification status
	msrp    int           // MSRP REPORT / response status
	sip     int           // SIP final response
	// err is the receipt's err: (network specific, SMPP 3.4 Appendix
	// B): ours tell the outcomes that share a stat: apart.
	err  int
	name string
}

// reportTable is the mapping (README "Delivery receipts: the report table"). Reading left to
// right gives what an outcome is called on each side; the From
// functions read it right to left.
var reportTable = [...]reportRow{
	{Delivered, receipt.Delivered, cpim.StatusDelivered, 200, 200, 0, "delivered"},
	{Undeliverable, receipt.Undeliverable, cpim.StatusFailed, 400, 404, 1, "undeliverable"},
	{Expired, receipt.Expired, cpim.StatusFailed, 408, 408, 2, "expired"},
	{Rejected, receipt.Rejected, cpim.StatusForbidden, 403, 403, 3, "rejected"},
	{Unknown, receipt.Unknown, cpim.StatusError, 500, 500, 4, "unknown"},
	// SMPP 3.4 5.2.28 UNKNOWN, "message is in invalid state": no state
	// can be told, which is what the RCS side left us with. DELIVRD would
	// claim a delivery nobody confirmed and ACCEPTD means "read by
	// customer service"; err:005 tells it from a real UNKNOWN.
	{Unconfirmed, receipt.Unknown, cpim.StatusError, 200, 202, 5, "unconfirmed"},
	{Accepted, receipt.Enroute, cpim.StatusError, 200, 202, 0, "accepted"},
}

func (o Outcome) row() reportRow {
	for _, r := range reportTable {
		if r.outcome == o {
			return r
		}
	}
	return reportTable[4] // Unknown
}

// String names the outcome.
func (o Outcome) String() string { return o.row().name }

// ReceiptState is the message_state / stat: of an SMS delivery receipt.
func (o Outcome) ReceiptState() receipt.State { return o.row().state }

// IMDNStatus is the status of an IMDN delivery notification.
func (o Outcome) IMDNStatus() cpim.Status { return o.row().imdn }

// ReceiptError is the err: of an SMS delivery receipt.
func (o Outcome) ReceiptError() int { return o.row().err }

// Final reports an outcome after which nothing more is said about the
// message: all but Accepted.
func (o Outcome) Final() bool { return o != Accepted }

// MSRPStatus is the status of an MSRP REPORT (200 for Success-Report).
func (o Outcome) MSRPStatus() int { return o.row().msrp }

// SIPStatus is the SIP final response that conveys the outcome.
func (o Outcome) SIPStatus() int { return o.row().sip }

// OutcomeOfReceipt reads an SMS delivery receipt state. Enroute and
// Accepted are not final: ok is false for them.
func OutcomeOfReceipt(s receipt.State) (o Outcome, ok bool) {
	switch s {
	case receipt.Delivered:
		return Delivered, true
	case receipt.Expired:
		return Expired, true
	case receipt.Undeliverable, receipt.Deleted:
		return Undeliverable, true
	case receipt.Rejected:
		return Rejected, true
	case receipt.Unknown:
		return Unknown, true
	}
	return 0, false
}

// OutcomeOfMSRP reads an MSRP REPORT or transaction status.
func OutcomeOfMSRP(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == 408:
		return Expired
	case status == 403:
		return Rejected
	case status >= 400 && status < 500:
		return Undeliverable
	}
	return Unknown
}

// OutcomeOfSIP reads a SIP final response; 0 means no response came.
func OutcomeOfSIP(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == 0, status == 408, status == 480:
		return Expired
	case status == 403, status == 603:
		return Rejected
	case status >= 400 && status < 700 && status != 500 && status != 503:
		return Undeliverable
	}
	return Unknown
}

// OutcomeOfIMDN reads an IMDN delivery notification status.
func OutcomeOfIMDN(s cpim.Status) Outcome {
	switch s {
	case cpim.StatusDelivered:
		return Delivered
	case cpim.StatusFailed:
		return Undeliverable
	case cpim.StatusForbidden:
		return Rejected
	}
	return Unknown
}
