package status

import (
	"context"
	"time"
)

// Snapshot is what /status shows: the node's own view of itself, its store,
// its listeners and every configured partner, taken when the page is
// requested. JSON field names are snake_case.
type Snapshot struct {
	// Node names this IWF instance (unique in a cluster sharing a store).
	Node string `json:"node"`
	// Version is the build version.
	Version string `json:"version"`
	// Started is when the process started; uptime is Now - Started.
	Started time.Time `json:"started"`
	// Now is when the snapshot was taken; the handler fills it in when
	// the snapshot function leaves it zero.
	Now time.Time `json:"now"`
	// Draining is true once the node stopped taking new work.
	Draining bool `json:"draining"`
	// Config is the configuration's version and when it was loaded
	// (reload.go); nil when the caller does not say.
	Config *ConfigInfo `json:"config,omitempty"`
	// Store is the state of the shared store.
	Store StoreStatus `json:"store"`
	// Listeners are the addresses this node serves on.
	Listeners []Listener `json:"listeners"`
	// RCSCalls are the SIP calls that carry MSRP sessions with the RCS
	// network, and the INVITEs refused; nil when the node has no session
	// side.
	RCSCalls *RCSCalls `json:"rcs_calls,omitempty"`
	// Partners are the configured peering partners, in configuration order.
	Partners []Partner `json:"partners"`
	// Totals are cluster-wide counters read from the store.
	Totals map[string]int64 `json:"totals"`
	// Sessions is the page of live MSRP sessions the request asked for
	// (Options.Sessions fills it in); nil when the node lists none.
	Sessions *SessionPage `json:"sessions,omitempty"`
	// LastErrors are the most recent errors of every partner, newest
	// first, each naming its partner.
	LastErrors []ErrorEntry `json:"last_errors"`
	// Nodes are the IWF nodes alive on the shared store (their
	// heartbeats), this one among them; nil when they could not be read.
	Nodes []ClusterNode `json:"nodes,omitempty"`
}

// ClusterNode is one IWF node alive, as its last heartbeat told.
type ClusterNode struct {
	Name string `json:"name"`
	// Conversations is how many conversations it works on; Sessions its
	// live MSRP sessions, all partners together.
	Conversations int `json:"conversations"`
	Sessions      int `json:"sessions"`
	// Heartbeat is when it last said it was alive, by its clock.
	Heartbeat time.Time `json:"heartbeat"`
}

// Store topologies of StoreStatus.Topology.
const (
	TopologyEmbedded = "embedded" // the in-process store
	TopologySingle   = "single"   // one Redis server
)

// SessionQuery is the page of live sessions a /status request asks for:
// sessions_offset, sessions_limit and filter in its query.
type SessionQuery struct {
	// Offset is how many matching sessions to skip, Limit how many to
	// list at most (DefaultSessionLimit when the request names none,
	// never more than MaxSessionLimit).
	Offset, Limit int
	// Filter, when not empty, keeps the sessions one of whose shown
	// fields contains it, case folded.
	Filter string
}

// Bounds of SessionQuery.Limit.
const (
	DefaultSessionLimit = 50
	MaxSessionLimit     = 500
)

// SessionPage is one page of the live MSRP sessions.
type SessionPage struct {
	// Total counts the sessions that matched Filter, all pages.
	Total int `json:"total"`
	// Offset, Limit and Filter are the query this page answers.
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Filter string `json:"filter"`
	// Items are the page's sessions, oldest first.
	Items []Session `json:"items"`
}

// Session is one live MSRP session and the SIP call that carries it.
type Session struct {
	// CallID is the SIP Call-ID; MSRPSession our MSRP session-id.
	CallID      string `json:"call_id"`
	MSRPSession string `json:"msrp_session"`
	// Direction is "incoming" (the RCS side called) or "outgoing".
	Direction string `json:"direction"`
	Partner   string `json:"partner"`
	// From and To are the parties.
	From string `json:"from"`
	To   string `json:"to"`
	// Peer is the first hop of the peer's MSRP path.
	Peer string `json:"peer"`
	// Started is when the call began; the age is the snapshot's Now
	// minus Started.
	Started time.Time `json:"started"`
	// State is "connecting", "answering", "established" or "ending".
	State string `json:"state"`
	// MessagesIn and BytesIn count what the peer sent, MessagesOut and
	// BytesOut what it took from us.
	MessagesIn  int64 `json:"messages_in"`
	MessagesOut int64 `json:"messages_out"`
	BytesIn     int64 `json:"bytes_in"`
	BytesOut    int64 `json:"bytes_out"`
}

// StoreStatus is the state of the store (Redis or the embedded miniredis).
type StoreStatus struct {
	// Addr is the store address the node talks to.
	Addr string `json:"addr"`
	// Embedded is true for the in-process store, which persists nothing.
	Embedded bool `json:"embedded"`
	// OK is true when the last check of the store succeeded.
	OK bool `json:"ok"`
	// Error is the last check's failure, empty when OK.
	Error string `json:"error,omitempty"`
	// Topology is how the store is laid out: TopologyEmbedded,
	// TopologySingle, or another name a store reports (a cluster or a
	// Sentinel-watched primary).
	Topology string `json:"topology"`
	// Nodes are the store servers behind Addr when there are several;
	// empty for one.
	Nodes []string `json:"nodes,omitempty"`
	// Warnings are what the node found wrong with the store's setup when
	// it opened it (an append-only file Redis rewrites every few
	// seconds); omitted when none.
	Warnings []StoreWarning `json:"warnings,omitempty"`
}

// StoreWarning is one problem with a store server's setup that does not
// stop the node but costs it (latency, durability), with the way out.
type StoreWarning struct {
	// Master is the server it concerns.
	Master string `json:"master"`
	// Problem says what is wrong.
	Problem string `json:"problem"`
	// Settings are the server's values that make it so, by their
	// names in the server's configuration.
	Settings map[string]string `json:"settings,omitempty"`
	// Recommendation is what to change.
	Recommendation string `json:"recommendation"`
}

// Listener is one address the node serves on.
type Listener struct {
	// Name is the listener's role: "sip-udp", "sip-tcp", "msrp", "smpp",
	// "status".
	Name string `json:"name"`
	// Addr is the bound address (with the real port when configured as 0).
	Addr string `json:"addr"`
	// Connections counts the listener's connections; nil for UDP and the
	// status listener itself.
	Connections *Connections `json:"connections,omitempty"`
}

// Connections are one listener's connection counts since start.
type Connections struct {
	// Open is the connections open now.
	Open int64 `json:"open"`
	// Accepted counts connections taken; Refused those closed at once
	// because the budget (in all or per source) was full.
	Accepted uint64 `json:"accepted"`
	Refused  uint64 `json:"refused"`
	// AcceptErrors counts transient accept failures waited out (out of
	// descriptors, aborted handshakes).
	AcceptErrors uint64 `json:"accept_errors"`
	// Closed counts connections the node closed, by reason
	// ("bind_timeout", "idle", "slow_reader", "malformed", ...).
	Closed map[string]uint64 `json:"closed,omitempty"`
}

// RCSCalls are the session side's calls: those live now and the incoming
// INVITEs refused since start.
type RCSCalls struct {
	// Live is the calls up now, both directions; Incoming the ones the
	// RCS side opened (admitted, those still being answered included).
	Live     int `json:"live"`
	Incoming int `json:"incoming"`
	// Refused counts incoming INVITEs refused, by reason: "forbidden"
	// (403, not from an allowed source), "busy" (486, the source's cap)
	// and "overloaded" (503, the node's cap).
	Refused map[string]uint64 `json:"refused"`
}

// Reasons of RCSCalls.Refused.
const (
	RefusedForbidden  = "forbidden"
	RefusedBusy       = "busy"
	RefusedOverloaded = "overloaded"
)

// Partner is one peering partner as this node sees it.
type Partner struct {
	// Name is the partner's configured name.
	Name string `json:"name"`
	// SMPPBinds are the partner's SMPP binds, both the ones this node
	// opened (client) and the ones the partner opened to it (server).
	SMPPBinds []Bind `json:"smpp_binds"`
	// SIPTrunk is the partner's SIP trunk, nil when it has none.
	SIPTrunk *Trunk `json:"sip_trunk,omitempty"`
	// Sessions counts live MSRP sessions on this node.
	Sessions int `json:"sessions"`
	// Conversations counts conversations this node owns.
	Conversations int `json:"conversations"`
	// QueueDepth counts messages waiting in this partner's conversation
	// queues.
	QueueDepth int64 `json:"queue_depth"`
	// Counters are the partner's message counters, keyed by the Counter*
	// names.
	Counters map[string]int64 `json:"counters"`
	// LastErrors are the partner's most recent errors, newest first.
	LastErrors []ErrorEntry `json:"last_errors"`
	// Rates are the partner's message rates on this node.
	Rates PartnerRates `json:"rates"`
}

// PartnerRates are a partner's message rates: In counts the messages it
// sent that were accepted, Out those delivered to it.
type PartnerRates struct {
	In  Rate `json:"in"`
	Out Rate `json:"out"`
}

// Counter keys a Partner's Counters conventionally hold. The HTML page lists
// these first, in this order, then any other key alphabetically.
const (
	CounterInSMPP     = "in_smpp"
	CounterInSIP      = "in_sip"
	CounterInMSRP     = "in_msrp"
	CounterOutMSRP    = "out_msrp"
	CounterOutSMPP    = "out_smpp"
	CounterOutSIP     = "out_sip"
	CounterFailed     = "failed"
	CounterDuplicates = "duplicates"
	CounterRefused    = "refused"
)

// Bind is one SMPP bind of a partner.
type Bind struct {
	// Name is the bind's configured name.
	Name string `json:"name"`
	// Role is "client" (this node bound to the partner's SMSC) or
	// "server" (the partner's ESME bound to this node).
	Role string `json:"role"`
	// Mode is the bind type: "transmitter", "receiver", "transceiver".
	Mode string `json:"mode"`
	// State is the bind's state as the smpp package names it ("bound",
	// "connecting", "closed", ...).
	State string `json:"state"`
	// Remote is the peer address.
	Remote string `json:"remote"`
	// Since is when the bind entered State.
	Since time.Time `json:"since"`
	// Submitted counts submit_sm sent or accepted on this bind.
	Submitted int64 `json:"submitted"`
	// Delivered counts deliver_sm sent or accepted on this bind.
	Delivered int64 `json:"delivered"`
	// Errors counts failed requests on this bind.
	Errors int64 `json:"errors"`
	// Window is the bind's configured window (SMPP 3.4 section 2.7:
	// requests outstanding without a response).
	Window int `json:"window"`
	// Outstanding counts requests awaiting a response now.
	Outstanding int `json:"outstanding"`
	// RateIn is the messages the bind received (submit_sm on a server
	// bind, deliver_sm on a client bind) per second; RateOut those it
	// sent.
	RateIn  Rate `json:"rate_in"`
	RateOut Rate `json:"rate_out"`
}

// Trunk is a partner's SIP trunk.
type Trunk struct {
	// NextHop is where MESSAGE and INVITE requests for the partner go.
	NextHop string `json:"next_hop"`
	// Transport is "udp", "tcp" or "tls".
	Transport string `json:"transport"`
	// AllowedSources are the networks requests from the partner may come
	// from.
	AllowedSources []string `json:"allowed_sources"`
}

// ErrorEntry is one recorded error.
type ErrorEntry struct {
	// Partner names the partner in lists that mix partners
	// (Snapshot.LastErrors); empty in a partner's own list.
	Partner string `json:"partner,omitempty"`
	// Time is when the error was recorded.
	Time time.Time `json:"time"`
	// Where names the part that failed ("smpp", "msrp", "store", ...).
	Where string `json:"where"`
	// Error is the error text, cut to a bounded length.
	Error string `json:"error"`
}

// takeSnapshot calls fn (when there is one) under timeout and fills in what
// a snapshot function may leave out: Now, and empty rather than nil lists
// and maps, so that JSON consumers see [] and {} rather than null. The
// partners slice is copied before it is touched: its backing array may be
// the caller's live state.
func takeSnapshot(ctx context.Context, fn func(context.Context) Snapshot, timeout time.Duration) Snapshot {
	var s Snapshot
	if fn != nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		s = fn(ctx)
		cancel()
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if s.Listeners == nil {
		s.Listeners = []Listener{}
	}
	if s.Totals == nil {
		s.Totals = map[string]int64{}
	}
	if s.LastErrors == nil {
		s.LastErrors = []ErrorEntry{}
	}
	if s.Sessions != nil && s.Sessions.Items == nil {
		page := *s.Sessions
		page.Items = []Session{}
		s.Sessions = &page
	}
	partners := make([]Partner, len(s.Partners))
	copy(partners, s.Partners)
	for i := range partners {
		p := &partners[i]
		if p.SMPPBinds == nil {
			p.SMPPBinds = []Bind{}
		}
		if p.Counters == nil {
			p.Counters = map[string]int64{}
		}
		if p.LastErrors == nil {
			p.LastErrors = []ErrorEntry{}
		}
		if p.SIPTrunk != nil && p.SIPTrunk.AllowedSources == nil {
			t := *p.SIPTrunk
			t.AllowedSources = []string{}
			p.SIPTrunk = &t
		}
	}
	s.Partners = partners
	return s
}
