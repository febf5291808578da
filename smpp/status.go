package smpp

import (
	"log/slog"
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
