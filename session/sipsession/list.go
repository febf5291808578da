package sipsession

import (
	"cmp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"iwf/session"
	"iwf/session/msrp"
)

// MaxListLimit caps the calls one Sessions call returns: the status page
// asks for a page at a time, and a node may hold tens of thousands.
const MaxListLimit = 1000

// Call states as Sessions names them.
const (
	StateConnecting  = "connecting"  // outgoing, before the MSRP session is up
	StateAnswering   = "answering"   // incoming, before the MSRP session is up
	StateEstablished = "established" // the MSRP session carries messages
	StateEnding      = "ending"      // ended, about to leave the table
)

// callCounters are what a call carried each way, kept apart from the
// call's mutex: they are bumped on every message and read by listings.
type callCounters struct {
	started           time.Time // set once in newCall
	msgsIn, msgsOut   atomic.Int64
	bytesIn, bytesOut atomic.Int64
	peer              atomic.Pointer[string] // first hop of the peer's a=path
}

// countIn counts a message the peer sent.
func (c *Call) countIn(m *session.Message) {
	c.counts.msgsIn.Add(1)
	c.counts.bytesIn.Add(max(m.Size, int64(len(m.Body))))
}

// countOut counts a message the peer accepted from us.
func (c *Call) countOut(m *session.OutgoingMessage) {
	size := m.Size
	if m.Body != nil || m.Reader == nil {
		size = int64(len(m.Body))
	}
	c.counts.msgsOut.Add(1)
	c.counts.bytesOut.Add(max(size, 0))
}

// notePeer records where the peer's MSRP side is: the first hop of its
// a=path (a relay, or the peer itself).
func (c *Call) notePeer(path []msrp.URI) {
	if len(path) == 0 {
		return
	}
	p := path[0].Addr()
	c.counts.peer.Store(&p)
}

// CallInfo is one live call as a listing shows it (the status page, the
// admin API).
type CallInfo struct {
	// CallID is the SIP Call-ID; MSRPSession our MSRP session-id, ""
	// until the session is set up. Manager.End takes either.
	CallID      string    `json:"call_id"`
	MSRPSession string    `json:"msrp_session,omitempty"`
	Direction   Direction `json:"direction"`
	Partner     string    `json:"partner,omitempty"`
	// From and To are the parties of the INVITE.
	From string `json:"from"`
	To   string `json:"to"`
	// Peer is the first hop of the peer's MSRP path (host:port), "" before
	// the offer/answer settled it.
	Peer string `json:"peer,omitempty"`
	// Started is when the call began (INVITE sent or received).
	Started time.Time `json:"started"`
	// State is one of the State* names.
	State string `json:"state"`
	// MessagesIn, BytesIn count what the peer sent; MessagesOut, BytesOut
	// what it accepted from us.
	MessagesIn  int64 `json:"messages_in"`
	MessagesOut int64 `json:"messages_out"`
	BytesIn     int64 `json:"bytes_in"`
	BytesOut    int64 `json:"bytes_out"`
}

// info reads the call's listing row; every field it reads is either set
// before the call enters the table or atomic.
func (c *Call) info() CallInfo {
	ci := CallInfo{
		CallID: c.callID, MSRPSession: c.readySessionID(), Direction: c.dir, Partner: c.partner,
		From: c.from.String(), To: c.to.String(), Started: c.counts.started,
		MessagesIn: c.counts.msgsIn.Load(), MessagesOut: c.counts.msgsOut.Load(),
		BytesIn: c.counts.bytesIn.Load(), BytesOut: c.counts.bytesOut.Load(),
	}
	if p := c.counts.peer.Load(); p != nil {
		ci.Peer = *p
	}
	select {
	case <-c.done:
		ci.State = StateEnding
		return ci
	default:
	}
	select {
	case <-c.ready:
		ci.State = StateEstablished
	default:
		ci.State = StateConnecting
		if c.dir == Incoming {
			ci.State = StateAnswering
		}
	}
	return ci
}

// matches reports whether filter (lower case) occurs in one of the
// fields an operator searches by.
func (ci *CallInfo) matches(filter string) bool {
	for _, f := range []string{ci.CallID, ci.MSRPSession, ci.Partner, ci.From, ci.To, ci.Peer, ci.State} {
		if strings.Contains(strings.ToLower(f), filter) {
			return true
		}
	}
	return false
}

// Sessions lists the live calls, oldest first, whose Call-ID, MSRP
// session-id, partner, parties, peer or state contain filter (case
// folded; "" matches all). It returns at most limit of them (capped at
// MaxListLimit) after skipping offset, and how many matched in all, so
// that a page of a large table costs one pass over it and no more rows
// than asked are built into the answer.
func (m *Manager) Sessions(offset, limit int, filter string) ([]CallInfo, int) {
	limit = min(max(limit, 0), MaxListLimit)
	offset = max(offset, 0)
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	filter = strings.ToLower(filter)
	rows := make([]CallInfo, 0, len(calls))
	for _, c := range calls {
		ci := c.info()
		if filter == "" || ci.matches(filter) {
			rows = append(rows, ci)
		}
	}
	// Oldest first, Call-ID for ties: a stable order, so that paging
	// through a table that changes between requests skips or repeats
	// only the calls that came or went.
	slices.SortFunc(rows, func(a, b CallInfo) int {
		return cmp.Or(a.Started.Compare(b.Started), strings.Compare(a.CallID, b.CallID))
	})
	total := len(rows)
	if offset >= total {
		return []CallInfo{}, total
	}
	return slices.Clone(rows[offset:min(offset+limit, total)]), total
}
