package sipsession

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// ErrNoCall is returned by End when no live call has the id.
var ErrNoCall = errors.New("sipsession: no such call")

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
		out = append(out, c.info())
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
	return found.info(), found.Close(ctx)
}
