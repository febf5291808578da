package interwork

import (
	"errors"

	"iwf/smpp"
)

// ErrInvalidConfig matches every configuration error of this package.
var ErrInvalidConfig = errors.New("interwork: invalid configuration")

// Refusal is an ingress refused before anything was stored; it carries
// the answer for each side.
type Refusal struct {
	Reason string
	SIP    int
	SMPP   uint32
	MSRP   int
}

func (r *Refusal) Error() string { return "interwork: " + r.Reason }

// SIPStatus answers a MESSAGE or an INVITE.
func (r *Refusal) SIPStatus() int { return r.SIP }

// SMPPStatus answers a submit_sm or deliver_sm (smpp.StatusOf).
func (r *Refusal) SMPPStatus() uint32 { return r.SMPP }

// MSRPStatus answers an MSRP SEND (session.Reject semantics).
func (r *Refusal) MSRPStatus() int { return r.MSRP }

// SIPWarning is the text of the Warning header of a refused MESSAGE:
// the refusal's own reason, which names no internal detail.
func (r *Refusal) SIPWarning() string { return r.Reason }

// The refusals. ESME_RX_T_APPN and 503 ask the sender to try again
// later; the others are final.
var (
	errThrottled   = &Refusal{"partner rate limit", 503, smpp.StatusThrottled, 503}
	errQueueFull   = &Refusal{"conversation queue full", 503, smpp.StatusMsgQFul, 503}
	errPartsFull   = &Refusal{"partner reassembly limit", 503, smpp.StatusMsgQFul, 503}
	errTooLong     = &Refusal{"more segments than the partner's max_segments", 413, smpp.StatusInvMsgLen, 413}
	errUnavailable = &Refusal{"store unavailable", 503, smpp.StatusXTAppn, 503}
	errDraining    = &Refusal{"draining", 503, smpp.StatusXTAppn, 503}
	errSuspended   = &Refusal{"partner suspended", 503, smpp.StatusXTAppn, 503}
	errNotRunning  = &Refusal{"starting or stopping", 503, smpp.StatusXTAppn, 503}
	errNoPartner   = &Refusal{"unknown partner", 403, smpp.StatusInvSysID, 403}
	errBadText     = &Refusal{"text cannot be decoded", 415, smpp.StatusXPAppn, 415}
	errBadValidity = &Refusal{"validity period unreadable", 400, smpp.StatusInvExpiry, 400}
)

var (
	// errNoPager: a message for the pager side toward RCS, and no trunk.
	errNoPager = errors.New("interwork: no pager trunk toward the RCS side")
	// errLeaseLost ends a worker whose conversation another node took.
	errLeaseLost = errors.New("interwork: lease lost")
	// errNotSent marks a delivery that failed before its first segment
	// left: it may be retried without sending anything twice.
	errNotSent = errors.New("interwork: nothing sent")
	// errNoTextForm: the peer's SDP accepts neither message/cpim around
	// text/plain nor text/plain: the session cannot carry texts.
	errNoTextForm = errors.New("interwork: the peer accepts neither text/plain in message/cpim nor text/plain")
	// errRunTwice: an Engine runs once.
	errRunTwice = errors.New("interwork: Run called twice")
	// errIncomplete: segments of a concatenated SMS stopped arriving.
	errIncomplete = errors.New("interwork: segments stopped arriving")
	// errNoName: a partner without a name.
	errNoName = errors.New("name: empty")
)
