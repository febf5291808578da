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
)

// reportRow is one line of the mapping table.
type reportRow struct {
	outcome Outcome
	state   receipt.State // SMS delivery receipt stat
	imdn    cpim.Status   // IMDN delivery-notification status
	msrp    int           // MSRP REPORT / response status
	sip     int           // SIP final response
	name    string
}

// reportTable is the mapping (README "Report mapping"). Reading left to
// right gives what an outcome is called on each side; the From
// functions read it right to left.
var reportTable = [...]reportRow{
	{Delivered, receipt.Delivered, cpim.StatusDelivered, 200, 200, "delivered"},
	{Undeliverable, receipt.Undeliverable, cpim.StatusFailed, 400, 404, "undeliverable"},
	{Expired, receipt.Expired, cpim.StatusFailed, 408, 408, "expired"},
	{Rejected, receipt.Rejected, cpim.StatusForbidden, 403, 403, "rejected"},
	{Unknown, receipt.Unknown, cpim.StatusError, 500, 500, "unknown"},
}

func (o Outcome) row() reportRow {
	for _, r := range reportTable {
		if r.outcome == o {
			return r
		}
	}
	return reportTable[len(reportTable)-1]
}

// String names the outcome.
func (o Outcome) String() string { return o.row().name }

// ReceiptState is the message_state / stat: of an SMS delivery receipt.
func (o Outcome) ReceiptState() receipt.State { return o.row().state }

// IMDNStatus is the status of an IMDN delivery notification.
func (o Outcome) IMDNStatus() cpim.Status { return o.row().imdn }

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
