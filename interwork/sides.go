package interwork

import (
	"context"
	"time"

	"iwf/pager"
	"iwf/session"
	"iwf/session/msrpsdp"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/store"
)

// What interwork needs from the store, by role. *store.Store implements
// them all; tests put in-memory fakes in their place.

// Queue holds each conversation's messages between their acknowledgement
// and their delivery: a stream read in order and acknowledged explicitly.
type Queue interface {
	// Enqueue appends payload unless msgID was seen within dedupTTL
	// (dup is then true); store.ErrQueueFull beyond maxLen.
	Enqueue(ctx context.Context, conv, msgID string, payload []byte, dedupTTL time.Duration, maxLen int) (dup bool, err error)
	// Read returns unacknowledged entries first, then new ones.
	Read(ctx context.Context, conv string, count int, block time.Duration) ([]store.Entry, error)
	// AckOwned acknowledges entries while owner holds conv's lease, and
	// returns store.ErrNotHolder, acknowledging nothing, once it does not:
	// the lease fences a node that lost the conversation.
	AckOwned(ctx context.Context, conv, owner string, ids ...string) error
	// AckOwnedRead is AckOwned of ids then Read of up to count entries,
	// without blocking, in one round trip; it returns no entries when the
	// acknowledgement failed.
	AckOwnedRead(ctx context.Context, conv, owner string, ids []string, count int) ([]store.Entry, error)
	QueueLen(ctx context.Context, conv string) (int64, error)
	// PendingConversations lists conversations with queued messages.
	PendingConversations(ctx context.Context, limit int) ([]string, error)
	// Settle takes an empty conversation off the pending list; false when
	// a message arrived meanwhile.
	Settle(ctx context.Context, conv string) (bool, error)
}

// Leases say which node works on a conversation, and let nodes wake each
// other's workers.
type Leases interface {
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// RenewAll extends, in one round trip, each lease of names that owner
	// holds, and says which.
	RenewAll(ctx context.Context, names []string, owner string, ttl time.Duration) ([]bool, error)
	Release(ctx context.Context, name, owner string) error
	Owner(ctx context.Context, name string) (string, error)
	Notify(ctx context.Context, node, conv string) error
	Subscribe(ctx context.Context, node string) (<-chan string, error)
}

// Records keeps what outlives a session: the conversation records, the
// promotion threshold's windows, the receipts owed to partner ESMEs (a
// schedule any node with a receiving bind takes from), how far a
// message in several segments went, and SMSC message ids.
type Records interface {
	SaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) error
	LoadConversation(ctx context.Context, conv string) (map[string]string, error)
	// Hit counts an event in a sliding window and returns the count.
	Hit(ctx context.Context, key string, window time.Duration) (int64, error)
	// Pop takes from the lists where older versions parked receipts.
	Pop(ctx context.Context, list string, block time.Duration) ([]byte, bool, error)
	// Schedule, TakeDue, Reschedule and Unschedule are a durable set of
	// jobs taken when due, held while in hand (see store.Store.Schedule).
	Schedule(ctx context.Context, name, id string, value []byte, due time.Time, maxLen int, ttl time.Duration) error
	TakeDue(ctx context.Context, name string, now time.Time, hold time.Duration, count int) ([]store.Scheduled, error)
	Reschedule(ctx context.Context, name, id string, value []byte, due time.Time) (bool, error)
	Unschedule(ctx context.Context, name, id string, value []byte) (bool, error)
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Delete(ctx context.Context, key string) error
}

// Sessions opens MSRP sessions toward the RCS side.
type Sessions interface {
	Open(ctx context.Context, r sipsession.OpenRequest) (Call, error)
}

// Call is an MSRP session with its SIP call, as a conversation uses it.
// *sipsession.Call implements it.
type Call interface {
	Send(ctx context.Context, m *session.OutgoingMessage) (string, error)
	// Queue puts m into the session and returns before its answer;
	// messages queued one after the other go out in that order.
	Queue(ctx context.Context, m *session.OutgoingMessage) (sipsession.Pending, error)
	// Events carries the session's REPORTs, and its end.
	Events() <-chan sipsession.Event
	Done() <-chan struct{}
	Close(ctx context.Context) error

	CallID() string
	ConversationID() string
	ContributionID() string
	Direction() sipsession.Direction
	MSRPSessionID() string
	// Negotiated is the offer/answer outcome: what the peer's SDP
	// accepts (a=accept-types, a=accept-wrapped-types, a=max-size).
	Negotiated() msrpsdp.Negotiated
}

// ManagerSessions adapts a *sipsession.Manager to Sessions.
type ManagerSessions struct{ *sipsession.Manager }

// Open implements Sessions.
func (m ManagerSessions) Open(ctx context.Context, r sipsession.OpenRequest) (Call, error) {
	c, err := m.Manager.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Pager sends SIP MESSAGEs, split to the trunk's size limit;
// *pager.Sender implements it.
type Pager interface {
	SendText(ctx context.Context, m pager.Outgoing) ([]pager.Result, error)
}

// SMS reaches partners over SMPP; *smpp.Gateway implements it.
type SMS interface {
	// Send sends one segment toward partner (asking its SMSC for a
	// receipt when receipt is set) and returns the SMSC's message id
	// ("" when it went to an ESME). A refusal by the peer is a
	// *smpp.StatusError.
	Send(ctx context.Context, partner string, m *smpp.Message, receipt bool) (string, error)
	// AcceptsBinds reports whether partner ESMEs bind to us: only then
	// do their submits get delivery receipts.
	AcceptsBinds() bool
	// Deliver sends a delivery receipt to one of partner's receiving
	// ESME binds on this node; smpp.ErrNoBind when there is none here.
	Deliver(ctx context.Context, partner string, m *smpp.Message) error
	// HasReceiver reports whether partner has a receiving bind here.
	HasReceiver(partner string) bool
}

// Metrics receives events for /metrics; *status.Metrics implements it.
type Metrics interface {
	Message(partner, direction, ingress, outcome string)
	SessionOpen(partner string, ok bool)
	Delivery(partner, direction string, d time.Duration)
	Error(partner, where string)
}

type nopMetrics struct{}

func (nopMetrics) Message(string, string, string, string) {}
func (nopMetrics) SessionOpen(string, bool)               {}
func (nopMetrics) Delivery(string, string, time.Duration) {}
func (nopMetrics) Error(string, string)                   {}
