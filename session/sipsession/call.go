package sipsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/session"
	"iwf/session/msrpsdp"
)

// Direction says who sent the INVITE.
type Direction uint8

// Directions.
const (
	Outgoing Direction = iota + 1 // we sent the INVITE (Open)
	Incoming                      // the peer did
)

// String is "outgoing" or "incoming".
func (d Direction) String() string {
	if d == Outgoing {
		return "outgoing"
	}
	return "incoming"
}

// MarshalText writes the direction by its name, as listings show it.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a name MarshalText wrote.
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "outgoing":
		*d = Outgoing
	case "incoming":
		*d = Incoming
	default:
		return fmt.Errorf("sipsession: direction %q", b)
	}
	return nil
}

// EventKind tells what an Event carries.
type EventKind uint8

// Event kinds.
const (
	EventMessage EventKind = iota + 1 // Message is set
	EventReport                       // Report is set
	EventClosed                       // Reason and Err are set; the last event
)

// Event is something that happened on a call.
type Event struct {
	Kind    EventKind
	Message *session.Message
	Report  session.Report
	Reason  CloseReason
	Err     error
}

// CloseReason says why a call ended.
type CloseReason uint8

// Close reasons.
const (
	ReasonLocal          CloseReason = iota + 1 // Close was called (BYE sent)
	ReasonPeerBye                               // the peer sent BYE
	ReasonMSRPLost                              // the MSRP session or connection failed
	ReasonAckTimeout                            // our 2xx was never acknowledged
	ReasonCanceled                              // the peer cancelled before the answer
	ReasonRejected                              // OnIncoming or the offer refused the call
	ReasonShutdown                              // the Manager closed
	ReasonSessionExpired                        // RFC 4028: no refresh came, or ours failed (BYE sent)
)

var reasonNames = [...]string{"", "local", "peer-bye", "msrp-lost", "ack-timeout", "canceled", "rejected", "shutdown", "session-expired"}

// String names the reason.
func (r CloseReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "invalid"
}

// Call is one INVITE dialog and the MSRP session it carries. Its methods
// are safe for concurrent use.
type Call struct {
	m         *Manager
	dir       Direction
	callID    string
	partner   string
	from, to  sip.Uri
	convID    string
	contribID string
	// service is the ICSI of our Contact in the dialog's requests.
	service string
	sess    *session.Session
	log     *slog.Logger

	// Set once while the call is set up, read-only after.
	dialogID string
	uac      *sipgo.DialogClientSession
	uas      *sipgo.DialogServerSession
	neg      msrpsdp.Negotiated

	mu     sync.Mutex
	origin msrpsdp.Origin // last SDP we sent, for re-INVITE answers
	local  msrpsdp.Media

	ackWaits map[uint32]chan *sip.Request // 2xx to INVITEs waiting for their ACKs, by CSeq
	timer    sessionTimerState            // RFC 4028
	ended    bool                         // no timer starts any more

	ctx    context.Context // ends with the call
	cancel context.CancelFunc
	// ready is closed once the MSRP session is connected (or, passive,
	// waits for the peer): an incoming call is handed to OnIncoming
	// before its answer, and Send waits for this.
	ready     chan struct{}
	readyOnce sync.Once
	answered  bool // a 2xx went out on an incoming call; under mu

	events  chan Event
	sendMu  sync.RWMutex // read: a delivery in flight; write: closing events
	done    chan struct{}
	endOnce sync.Once
	reason  CloseReason
	endErr  error
	// release gives back an incoming call's place under Config.Limits;
	// set once before the call is shared.
	release func()
	// counts are what listings show (list.go).
	counts callCounters
}

func (m *Manager) newCall(dir Direction, partner string) *Call {
	ctx, cancel := context.WithCancel(context.Background())
	return &Call{
		counts:  callCounters{started: time.Now()},
		m:       m,
		dir:     dir,
		partner: partner,
		ctx:     ctx,
		cancel:  cancel,
		service: DefaultPreferredService,
		ready:   make(chan struct{}),
		events:  make(chan Event, m.cfg.EventBuffer),
		done:    make(chan struct{}),
		log:     m.log,
	}
}

// Direction says who sent the INVITE.
func (c *Call) Direction() Direction { return c.dir }

// CallID is the SIP Call-ID.
func (c *Call) CallID() string { return c.callID }

// Partner is the partner (trunk name) of the call.
func (c *Call) Partner() string { return c.partner }

// From and To are the identities of the INVITE: for an incoming call From
// is the remote party, the P-Asserted-Identity of a trusted source
// (Config.Trusted, RFC 3325 section 9.1) when it sent one, else its From.
func (c *Call) From() sip.Uri { return c.from }

// To is the INVITE's To URI.
func (c *Call) To() sip.Uri { return c.to }

// ConversationID and ContributionID are the OMA CPM headers of the INVITE
// (sent by us or received).
func (c *Call) ConversationID() string { return c.convID }

// ContributionID is the Contribution-ID of the INVITE.
func (c *Call) ContributionID() string { return c.contribID }

// Session is the MSRP session.
func (c *Call) Session() *session.Session { return c.sess }

// MSRPSessionID is the session-id of our MSRP URI (RFC 4975 section
// 6), "" before the session exists.
func (c *Call) MSRPSessionID() string {
	if c.sess == nil {
		return ""
	}
	return c.sess.LocalURI().SessionID
}

// Negotiated is the outcome of the offer/answer exchange (the peer's
// accept-types, max-size, who connected).
func (c *Call) Negotiated() msrpsdp.Negotiated { return c.neg }

// Context ends when the call does, or, for an incoming call not yet
// answered, when the peer cancels it.
func (c *Call) Context() context.Context { return c.ctx }

// Events delivers what happens on the call. It is closed when the call
// ends; the last event is EventClosed unless the channel was full then
// (Reason and Err always tell). Read it steadily: a full channel holds
// back the MSRP 200 of the next message, which is the backpressure.
func (c *Call) Events() <-chan Event { return c.events }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Reason says why the call ended (0 while it runs).
func (c *Call) Reason() CloseReason {
	select {
	case <-c.done:
		return c.reason
	default:
		return 0
	}
}

// Err is the error that ended the call, if any (nil for a BYE).
func (c *Call) Err() error {
	select {
	case <-c.done:
		return c.endErr
	default:
		return nil
	}
}

// Send sends a message on the MSRP session; see session.Session.Send. On
// an incoming call not yet answered and connected it waits for that. A
// message the peer's SDP does not allow is not sent: ErrContentRefused
// or ErrTooLarge.
func (c *Call) Send(ctx context.Context, m *session.OutgoingMessage) (string, error) {
	if err := c.sendable(ctx, m); err != nil {
		return "", err
	}
	id, err := c.sess.Send(ctx, m)
	if err == nil {
		c.countOut(m)
	}
	return id, err
}

// Pending is a message queued on a call (Call.Queue), its answer to
// come.
type Pending interface {
	// Wait returns what Call.Send would have returned for the message;
	// cancelling ctx ends the wait only.
	Wait(ctx context.Context) (string, error)
}

// Queue puts a message on the MSRP session and returns before its
// answer; see session.Session.Queue: messages queued one after the
// other from one goroutine go out in that order. It checks what Send
// checks, and waits as Send does for an incoming call to be ready.
func (c *Call) Queue(ctx context.Context, m *session.OutgoingMessage) (Pending, error) {
	if err := c.sendable(ctx, m); err != nil {
		return nil, err
	}
	p, err := c.sess.Queue(ctx, m)
	if err != nil {
		return nil, err
	}
	return &queuedMessage{c: c, m: m, p: p}, nil
}

// queuedMessage is a Pending of a call: the message is counted once
// answered.
type queuedMessage struct {
	c       *Call
	m       *session.OutgoingMessage
	p       *session.Pending
	counted atomic.Bool
}

func (q *queuedMessage) Wait(ctx context.Context) (string, error) {
	id, err := q.p.Wait(ctx)
	if err == nil && q.counted.CompareAndSwap(false, true) {
		q.c.countOut(q.m)
	}
	return id, err
}

// sendable waits for the call to be ready and checks that m may be sent
// on it.
func (c *Call) sendable(ctx context.Context, m *session.OutgoingMessage) error {
	select {
	case <-c.ready:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	return c.allowed(m)
}

// trace tells a test what happened on the dialog.
func (c *Call) trace(event string) {
	if c.m.cfg.trace != nil {
		c.m.cfg.trace(c, event)
	}
}

// allowed checks m against what the peer's SDP said it takes (RFC 4975
// section 8.6): a content type its a=accept-types lists, no more octets
// than its a=max-size. A peer sent anything else answers 415 or 413, or,
// strict, treats the session as broken; refusing here keeps the session
// and tells the caller which limit it met. A session whose SDP listed no
// accept-types (none negotiated yet) is not checked.
func (c *Call) allowed(m *session.OutgoingMessage) error {
	remote := c.neg.Remote
	if len(remote.AcceptTypes) == 0 {
		return nil
	}
	ct := m.ContentType
	if ct == "" {
		ct = "text/plain" // what session.Send puts on the wire
	}
	if !remote.Accepts(ct) {
		return fmt.Errorf("%w: %s (accept-types %s)", ErrContentRefused, ct, strings.Join(remote.AcceptTypes, " "))
	}
	size := m.Size
	if m.Body != nil || m.Reader == nil {
		size = int64(len(m.Body))
	}
	if limit := c.neg.SendLimit(); limit > 0 && size > limit {
		return fmt.Errorf("%w: %d octets, max-size %d", ErrTooLarge, size, limit)
	}
	return nil
}

func (c *Call) markReady() { c.readyOnce.Do(func() { close(c.ready) }) }

// Close ends the call: BYE (bounded by Config.ByeTimeout and ctx) and the
// MSRP session closed. It returns once the call has ended; a BYE that
// failed is returned, the call is ended all the same.
func (c *Call) Close(ctx context.Context) error {
	return c.hangup(ctx, ReasonLocal)
}

func (c *Call) hangup(ctx context.Context, reason CloseReason) error {
	if !c.claim() {
		<-c.done
		return nil
	}
	err := c.bye(ctx)
	c.finish(reason, nil)
	return err
}

// bye sends the BYE of an established dialog (RFC 3261 section 15).
func (c *Call) bye(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.m.cfg.ByeTimeout)
	defer cancel()
	var err error
	switch {
	case c.uac != nil:
		err = c.uac.Bye(ctx)
	case c.uas != nil && c.wasAnswered():
		err = c.uas.Bye(ctx)
	}
	if err != nil {
		c.log.Debug("bye failed", "error", err)
		return errors.Join(ErrTransport, err)
	}
	return nil
}

func (c *Call) wasAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// claim marks the call as ending; false if another path already did.
// Claiming before the slow part (BYE) keeps two closers from both sending
// one.
func (c *Call) claim() bool {
	claimed := false
	c.endOnce.Do(func() { claimed = true })
	return claimed
}

// end ends the call without a BYE (the peer's BYE, a lost connection,
// CANCEL) once.
func (c *Call) end(reason CloseReason, err error) {
	if c.claim() {
		c.finish(reason, err)
	}
}

// finish runs once, after claim: it closes the MSRP session, drops the
// dialog from the table and closes Events with a final EventClosed.
func (c *Call) finish(reason CloseReason, err error) {
	c.stopTimer()
	c.reason, c.endErr = reason, err
	close(c.done)
	c.cancel()
	c.m.forget(c)
	if c.release != nil {
		c.release()
	}
	if c.sess != nil {
		c.sess.Close()
	}
	c.sendMu.Lock()
	select {
	case c.events <- Event{Kind: EventClosed, Reason: reason, Err: err}:
	default:
	}
	close(c.events)
	c.sendMu.Unlock()
	c.log.Info("call ended", "reason", reason.String(), "error", err)
}

// deliver queues ev, waiting for room unless the call ends or ctx does.
func (c *Call) deliver(ctx context.Context, ev Event) error {
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	select {
	case c.events <- ev:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handler is the MSRP session handler of the call.
func (c *Call) handler() session.Handler {
	return session.HandlerFuncs{
		Message: func(ctx context.Context, _ *session.Session, msg *session.Message) error {
			c.countIn(msg)
			if c.m.cfg.OnMessage != nil {
				return c.m.cfg.OnMessage(ctx, c, msg)
			}
			if err := c.deliver(ctx, Event{Kind: EventMessage, Message: msg}); err != nil {
				// 503-like: the call is going away; the sender retries
				// elsewhere or reports failure.
				return session.Reject(481, "session ending")
			}
			return nil
		},
		Report: func(_ *session.Session, r session.Report) {
			_ = c.deliver(c.ctx, Event{Kind: EventReport, Report: r})
		},
		Close: func(_ *session.Session, err error) {
			if errors.Is(err, session.ErrClosed) {
				return // our own Close, already accounted for
			}
			// The MSRP side died under an established dialog: end it with
			// a BYE (RFC 4975 section 5.5 leaves the SIP side to us).
			c.m.spawn(func(ctx context.Context) {
				if c.claim() {
					_ = c.bye(ctx)
					c.finish(ReasonMSRPLost, err)
				}
			})
		},
	}
}
