package sipsession

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// ErrNoCall is returned by End when no live call has the id.
var ErrNoCall = errors.New("sipsession: no such call")

// CallInfo describes a live call for an operator.
type CallInfo struct {
	// CallID is the dialog's Call-ID; End takes it.
	CallID string `json:"call_id"`
	// MSRPSession is the session-id of our MSRP URI, "" until the
	// session is set up; End takes it too.
	MSRPSession string `json:"msrp_session,omitempty"`
	// Direction is "incoming" (the RCS side's INVITE) or "outgoing".
	Direction string `json:"direction"`
	// Partner names the trunk of the call.
	Partner string `json:"partner,omitempty"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// Live lists the live calls, ordered by Call-ID.
func (m *Manager) Live() []CallInfo {
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out := make([]CallInfo, 0, len(calls))
	for _, c := range calls {
		// The fields read here are set before the call enters the table.
		out = append(out, CallInfo{CallID: c.callID, MSRPSession: c.readySessionID(), Direction: c.dir.String(),
			Partner: c.partner, From: c.from.String(), To: c.to.String()})
	}
	slices.SortFunc(out, func(a, b CallInfo) int { return strings.Compare(a.CallID, b.CallID) })
	return out
}

// readySessionID is MSRPSessionID once the session is set up: an
// incoming call enters the table before its MSRP session exists, and
// ready orders the read after the write.
func (c *Call) readySessionID() string {
	select {
	case <-c.ready:
		return c.MSRPSessionID()
	default:
		return ""
	}
}

// End ends the live call whose Call-ID or MSRP session-id is id, with a
// BYE (RFC 3261 section 15), as Call.Close does; its handler sees the
// call closed with ReasonLocal. ErrNoCall when no live call has the id.
func (m *Manager) End(ctx context.Context, id string) (CallInfo, error) {
	if id == "" {
		return CallInfo{}, ErrNoCall
	}
	m.mu.Lock()
	var found *Call
	for _, c := range m.calls {
		if c.callID == id {
			found = c
			break
		}
	}
	if found == nil {
		for _, c := range m.calls {
			if c.readySessionID() == id {
				found = c
				break
			}
		}
	}
	m.mu.Unlock()
	if found == nil {
		return CallInfo{}, ErrNoCall
	}
	info := CallInfo{CallID: found.callID, MSRPSession: found.readySessionID(), Direction: found.dir.String(),
		Partner: found.partner, From: found.from.String(), To: found.to.String()}
	return info, found.Close(ctx)
}
