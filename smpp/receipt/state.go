package receipt

import (
	"fmt"
	"strings"
)

// State is the outcome of a submitted message, valued as SMPP 3.4
// message_state (5.2.28).
type State uint8

// The message states of SMPP 3.4 5.2.28.
const (
	Enroute       State = 1
	Delivered     State = 2
	Expired       State = 3
	Deleted       State = 4
	Undeliverable State = 5
	Accepted      State = 6
	Unknown       State = 7
	Rejected      State = 8
)

// ESMClassIntermediate is the esm_class message type "Intermediate
// Delivery Notification" (SMPP 3.4 5.2.12, bits 5-2 = 1000): a receipt of
// a state that is not final, ENROUTE, asked for by registered_delivery
// bit 4 (5.2.17).
const ESMClassIntermediate byte = 0x20

// Stat is the 7-character stat: value of SMPP 3.4 Appendix B.
func (s State) Stat() string {
	switch s {
	case Enroute:
		return "ENROUTE"
	case Delivered:
		return "DELIVRD"
	case Expired:
		return "EXPIRED"
	case Deleted:
		return "DELETED"
	case Undeliverable:
		return "UNDELIV"
	case Accepted:
		return "ACCEPTD"
	case Rejected:
		return "REJECTD"
	}
	return "UNKNOWN"
}

// String is Stat, for logs.
func (s State) String() string {
	if s < Enroute || s > Rejected {
		return fmt.Sprintf("state(%d)", uint8(s))
	}
	return s.Stat()
}

// Final reports a state after which the SMSC sends nothing more about the
// message (SMPP 3.4 5.2.28: all but ENROUTE are final).
func (s State) Final() bool { return s != Enroute }

// ParseStat reads a stat: value. It takes the Appendix B spellings and
// the long forms SMSCs also send (DELIVERED, UNDELIVERABLE, ...), in any
// case; FAILED, which some SMSCs send, is Undeliverable.
func ParseStat(v string) (State, bool) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "ENROUTE":
		return Enroute, true
	case "DELIVRD", "DELIVERED":
		return Delivered, true
	case "EXPIRED":
		return Expired, true
	case "DELETED":
		return Deleted, true
	case "UNDELIV", "UNDELIVERABLE", "FAILED":
		return Undeliverable, true
	case "ACCEPTD", "ACCEPTED":
		return Accepted, true
	case "UNKNOWN":
		return Unknown, true
	case "REJECTD", "REJECTED":
		return Rejected, true
	}
	return 0, false
}
