package smpp

import (
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/data"
)

// BindState is where a bind is in its life, for the status page.
type BindState string

// The bind states.
const (
	// StateConnecting: dialling and binding (client).
	StateConnecting BindState = "connecting"
	// StateBound: bound and carrying traffic.
	StateBound BindState = "bound"
	// StateThrottled: bound, paused after ESME_RTHROTTLED (client).
	StateThrottled BindState = "throttled"
	// StateBackoff: waiting before the next bind attempt (client).
	StateBackoff BindState = "backoff"
	// StateClosed: closed for good.
	StateClosed BindState = "closed"
	// StateUnbound: unbound by an operator, down until Client.Rebind
	// (client).
	StateUnbound BindState = "unbound"
)

// BindCounters count one bind's traffic since the Client or Server
// started (a client bind keeps them across rebinds).
type BindCounters struct {
	// Binds counts successful binds, BindFailures refused or failed ones.
	Binds, BindFailures uint64
	// Sent counts outgoing submit_sm (client) or deliver_sm (server)
	// written; Accepted those answered ESME_ROK, Rejected those answered
	// with a final error status.
	Sent, Accepted, Rejected uint64
	// Throttled and QueueFull count ESME_RTHROTTLED and ESME_RMSGQFUL
	// answers; Lost counts requests whose response never came.
	Throttled, QueueFull, Lost uint64
	// Received counts inbound messages (deliver_sm on the client,
	// submit_sm on the server) stored and acknowledged; ReceivedFailed
	// those answered with an error, ReceivedThrottled those refused for
	// exceeding the window.
	Received, ReceivedFailed, ReceivedThrottled uint64
	// Nacks counts generic_nack sent.
	Nacks uint64
}

// BindStatus is a snapshot of one bind.
type BindStatus struct {
	Partner string `json:"partner"`
	// Name identifies the bind: "partner/0/transceiver" on the client,
	// "partner/<remote address>" on the server.
	Name     string    `json:"name"`
	SystemID string    `json:"system_id"`
	Kind     string    `json:"kind"`
	Remote   string    `json:"remote,omitempty"`
	State    BindState `json:"state"`
	Since    time.Time `json:"since"`
	// Outstanding counts requests sent and not yet answered.
	Outstanding int          `json:"outstanding"`
	Counters    BindCounters `json:"counters"`
	LastError   string       `json:"last_error,omitempty"`
	LastErrorAt time.Time    `json:"last_error_at,omitzero"`
}

// ServerStats are a Server's connection and bind counts since it was
// made, for the status page and metrics.
type ServerStats struct {
	// Open is the connections open now, bound or not.
	Open int64 `json:"open"`
	// Accepted counts connections taken; Refused those closed at once
	// for max_connections or max_per_source; AcceptErrors transient
	// accept failures (out of file descriptors...) waited out.
	Accepted     uint64 `json:"accepted"`
	Refused      uint64 `json:"refused"`
	AcceptErrors uint64 `json:"accept_errors"`
	// ClosedBindTimeout counts connections closed for not binding within
	// bind_timeout, ClosedIdle binds silent past idle_timeout,
	// ClosedSlowReader peers that did not read what they were sent.
	ClosedBindTimeout uint64 `json:"closed_bind_timeout"`
	ClosedIdle        uint64 `json:"closed_idle"`
	ClosedSlowReader  uint64 `json:"closed_slow_reader"`
	// BindFailures counts refused binds, whatever the cause;
	// BindsRefusedSource those from outside the partner's
	// allowed_sources; BindsDelayed the binds held back by the back-off
	// after failed binds from their source address.
	BindFailures       uint64 `json:"bind_failures"`
	BindsRefusedSource uint64 `json:"binds_refused_source"`
	BindsDelayed       uint64 `json:"binds_delayed"`
}

// serverCounters are the live ServerStats the server keeps itself.
type serverCounters struct {
	closedBindTimeout, closedIdle, closedSlowReader atomic.Uint64
	bindFailures, bindsRefusedSource, bindsDelayed  atomic.Uint64
}

// countClose counts a connection that ended with err.
func (c *serverCounters) countClose(err error) {
	switch {
	case errors.Is(err, errBindTimeout):
		c.closedBindTimeout.Add(1)
	case errors.Is(err, errIdle):
		c.closedIdle.Add(1)
	case errors.Is(err, errSlowReader):
		c.closedSlowReader.Add(1)
	}
}

func (c *serverCounters) snapshot() ServerStats {
	return ServerStats{
		ClosedBindTimeout: c.closedBindTimeout.Load(), ClosedIdle: c.closedIdle.Load(), ClosedSlowReader: c.closedSlowReader.Load(),
		BindFailures: c.bindFailures.Load(), BindsRefusedSource: c.bindsRefusedSource.Load(), BindsDelayed: c.bindsDelayed.Load(),
	}
}

// counters are the live BindCounters.
type counters struct {
	binds, bindFailures                atomic.Uint64
	sent, accepted, rejected           atomic.Uint64
	throttled, queueFull, lost         atomic.Uint64
	inOK, inFailed, inThrottled, nacks atomic.Uint64
}

func (c *counters) snapshot() BindCounters {
	return BindCounters{
		Binds: c.binds.Load(), BindFailures: c.bindFailures.Load(),
		Sent: c.sent.Load(), Accepted: c.accepted.Load(), Rejected: c.rejected.Load(),
		Throttled: c.throttled.Load(), QueueFull: c.queueFull.Load(), Lost: c.lost.Load(),
		Received: c.inOK.Load(), ReceivedFailed: c.inFailed.Load(), ReceivedThrottled: c.inThrottled.Load(),
		Nacks: c.nacks.Load(),
	}
}

// countResult counts the outcome of one outgoing message request.
func (c *counters) countResult(status uint32, err error) {
	switch {
	case err != nil:
		c.lost.Add(1)
	case status == StatusOK:
		c.accepted.Add(1)
	case status == StatusThrottled:
		c.throttled.Add(1)
	case status == StatusMsgQFul:
		c.queueFull.Add(1)
	default:
		c.rejected.Add(1)
	}
}

// stateBox holds a bind's state and last error under a lock.
type stateBox struct {
	mu      sync.Mutex
	state   BindState
	since   time.Time
	lastErr string
	errAt   time.Time
}

func (b *stateBox) set(s BindState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != s {
		b.state, b.since = s, time.Now()
	}
}

func (b *stateBox) setErr(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastErr, b.errAt = err.Error(), time.Now()
}

func (b *stateBox) fill(st *BindStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st.State, st.Since, st.LastError, st.LastErrorAt = b.state, b.since, b.lastErr, b.errAt
}

// componentLog tags log with component=smpp; nil logs nothing.
func componentLog(log *slog.Logger) *slog.Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log.With("component", "smpp")
}

func statusType(s uint32) data.CommandStatusType { return data.CommandStatusType(int32(s)) }

// maxLogged bounds a peer-supplied string in a log record.
const maxLogged = 40

// peerString is how a string from the wire (system_id, an address)
// enters a log: quoted with Go escapes, so no control character or
// newline reaches the log as such, and cut to maxLogged bytes with the
// full length noted, so a peer cannot fill the logs.
func peerString(s string) string {
	if len(s) <= maxLogged {
		return strconv.QuoteToASCII(s)
	}
	return strconv.QuoteToASCII(s[:maxLogged]) + "..." + strconv.Itoa(len(s)) + " bytes"
}
