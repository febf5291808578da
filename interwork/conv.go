package interwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"iwf/internal/cpim"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/store"
)

// conv is a conversation this node owns: its worker goroutine, the call
// carrying its MSRP session, and what waits for reports.
type conv struct {
	e       *Engine
	k       convKey
	key     string
	partner *partner
	// ctx is the worker's context; work that must finish after it ended
	// (a BYE, the record of the end) derives from it WithoutCancel.
	ctx context.Context
	// cancel ends the worker when its lease is lost (Engine.renewLeases).
	cancel context.CancelCauseFunc
	lost   atomic.Bool

	wakeCh   chan struct{}
	attachCh chan Call

	mu sync.Mutex
	// call is the session's call (nil when none); written by the worker.
	call Call
	// awaiting maps the ids of a message sent toward the RCS side, its
	// MSRP Message-ID and its own (the IMDN's), to the receipt its REPORT
	// or IMDN turns into; pruneAt is when its expired entries are next
	// pruned (receipts_imdn.go).
	awaiting map[string]*awaited
	pruneAt  time.Time
	// inbound maps the id of a message from the RCS side to what answers
	// it once the pager side took it: its REPORT and IMDN.
	inbound map[string]inboundMsg
	// progress maps the id of a message toward the SMS side that is
	// partly sent to how far it went (egress.go).
	progress map[string]*smsProgress

	attempts   int
	lastActive time.Time
	// sent are the entries handled and not yet acknowledged in the
	// store; ackFailures counts the acks it refused in a row.
	sent        []string
	ackFailures int
	// owing maps a message whose provisional receipt is being written
	// to what is closed once the write returned (receipts_owing.go);
	// owes counts those writes, which the worker waits for before it
	// acknowledges anything; owingWaits counts the later writes
	// waiting for one.
	owing      map[*queued]chan struct{}
	owes       sync.WaitGroup
	owingWaits atomic.Int32
	// losses counts the sessions lost under the first queued message;
	// resendNow, set with the first loss, reads the queue again without
	// the retry delay.
	losses    sessionLosses
	resendNow bool
	// peerBusy, set when the RCS side answered 503 (its queue full),
	// reads the queue again after peerBusyDelay.
	peerBusy bool
	// memSince, when not 0, is when the RP-DATA went that its SMS over
	// IP handset refused for want of memory: an RP-SMMA since then ends
	// the retry wait (smsip.go).
	memSince int64
	// gone is set, under Engine.mu, when the worker left the engine's
	// table; a later message starts a new worker.
	gone bool
	// left, set with gone by leave, is closed once the leaving worker
	// settled its queue and freed its lease (stop).
	left chan struct{}
	// recordDone is closed once the last record write issued in the
	// background (recordLater) landed; nil when none waits. The
	// worker's alone.
	recordDone chan struct{}
}

func newConv(e *Engine, k convKey, ctx context.Context, cancel context.CancelCauseFunc) *conv {
	return &conv{
		e: e, k: k, key: k.String(), partner: e.partnerNamed(k.Partner),
		ctx: ctx, cancel: cancel,
		wakeCh:   make(chan struct{}, 1),
		attachCh: make(chan Call, 4),
		awaiting: make(map[string]*awaited),
		inbound:  make(map[string]inboundMsg),
		progress: make(map[string]*smsProgress),
	}
}

// afterwards is a context for work that must be done even though the
// worker is stopping, bounded by d.
func (c *conv) afterwards(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.ctx), d)
}

func (c *conv) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

func (c *conv) currentCall() Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.call
}

func (c *conv) setCall(call Call) {
	c.mu.Lock()
	old := c.call
	c.call = call
	c.mu.Unlock()
	if call != nil {
		c.partner.sessions.Add(1)
		// In the background: the first SEND need not wait for it.
		// Only this worker reads the record (the Conversation-ID of
		// its next open, of a pager-mode relay once the call is gone),
		// and each of those reads comes after a record write of its
		// own, which waits for this one. Another node's open reads it
		// once this worker freed the lease, after stop waited for it,
		// or lost it, when any of our writes may land late. The owner
		// is the lease's, and /status lists the live calls from the
		// session table.
		c.recordLater(stateActive, call)
		go c.events(call)
	}
	if old != nil && old != call {
		c.partner.sessions.Add(-1)
		go c.closeCall(old)
	}
}

// dropCall forgets the call (it died, or went idle) and ends it.
func (c *conv) dropCall() {
	c.mu.Lock()
	old := c.call
	c.call = nil
	c.mu.Unlock()
	if old != nil {
		c.partner.sessions.Add(-1)
		c.record(stateClosing, old)
		c.closeCall(old)
		c.record(stateIdle, nil)
	}
}

func (c *conv) closeCall(call Call) {
	ctx, cancel := c.afterwards(5 * time.Second)
	defer cancel()
	_ = call.Close(ctx)
}

// reportParallel bounds the REPORTs of one call turned into receipts at
// once.
const reportParallel = 16

// events turns the call's REPORTs into receipts. Once the call ended,
// none can come for what was sent on it (spillAwaiting). Each receipt
// is a store write: taken one after the other they fell behind a
// session sending as fast as its peer answers, filled the call's events
// buffer and held up its reader; so they run concurrently. The
// receipts of different messages are independent, and a second REPORT
// of one message finds it taken (reported).
func (c *conv) events(call Call) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		c.spillAwaiting(call)
	}()
	sem := make(chan struct{}, reportParallel)
	for ev := range call.Events() {
		switch ev.Kind {
		case sipsession.EventReport:
			id, o := ev.Report.MessageID, OutcomeOfMSRP(ev.Report.Status)
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c.reported(id, o)
			})
		case sipsession.EventClosed:
			c.wake()
			return
		}
	}
}

// reported turns the REPORT or IMDN of a message waiting for one into
// its receipt; false when none waits here under id.
func (c *conv) reported(id string, o Outcome) bool {
	c.mu.Lock()
	a, ok := c.awaiting[id]
	if ok {
		delete(c.awaiting, a.q.ID)
		delete(c.awaiting, msrpMessageID(a.q.ID))
	}
	c.mu.Unlock()
	if ok {
		q := a.q
		// A report may come after the worker stopped (an IMDN much
		// later): its receipt is still due while the engine runs.
		c.finish(context.WithoutCancel(c.ctx), q, o)
	}
	return ok
}

// inboundMsg is a message from the RCS side waiting for its outcome.
type inboundMsg struct {
	msg *session.Message
	// call carried it; its IMDN goes back on it.
	call Call
	// cpim is its CPIM document when the sender asked for IMDN delivery
	// notifications, else nil.
	cpim *cpim.Message
}

func (c *conv) expectReport(id string, m inboundMsg) {
	c.mu.Lock()
	c.inbound[id] = m
	c.mu.Unlock()
}

func (c *conv) forgetReport(id string) {
	c.mu.Lock()
	delete(c.inbound, id)
	c.mu.Unlock()
}

// takeReport returns and forgets what answers the inbound message id.
func (c *conv) takeReport(id string) (inboundMsg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.inbound[id]
	delete(c.inbound, id)
	return in, ok
}

// queueBatch is how many queued messages a worker reads at once.
const queueBatch = 64

// sendWindow bounds the messages of a conversation in flight in its
// session at once (sendRun): below the 32 complete messages a receiver
// of this project queues per session by default
// (session.Config.MaxQueuedMessages), beyond which it answers 503.
const sendWindow = 16

// peerBusyDelay is the pause before a message the RCS side answered 503
// goes again.
const peerBusyDelay = 250 * time.Millisecond

// run is the conversation's worker: it holds the lease, reads the queue
// in order and acknowledges each entry once it was handled.
func (c *conv) run(ctx context.Context) {
	idle := time.NewTimer(c.partner.Policy.IdleTimeout)
	defer func() {
		idle.Stop()
		if len(c.sent) > 0 {
			// Sent is sent: what waited for the next read's round trip is
			// acknowledged before the lease goes.
			c.ackSent(ctx)
		}
		c.stop()
	}()
	c.lastActive = time.Now()
	var retry <-chan time.Time
	for {
		if retry == nil {
			var done bool
			retry, done = c.work(ctx)
			if done {
				return
			}
		}
		idle.Reset(time.Until(c.lastActive.Add(c.partner.Policy.IdleTimeout)))
		var ended <-chan struct{}
		if call := c.currentCall(); call != nil {
			ended = call.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wakeCh:
			if retry != nil && c.memoryBack(ctx) {
				retry = nil // the handset has memory again (RP-SMMA)
			}
		case <-retry:
			retry = nil
		case call := <-c.attachCh:
			c.setCall(call)
			c.lastActive = time.Now()
		case <-ended:
			c.dropCall()
		case <-idle.C:
			if time.Since(c.lastActive) >= c.partner.Policy.IdleTimeout {
				c.dropCall() // BYE; the record stays for the next message
			}
		}
	}
}

// work handles what is queued. It returns a timer when the queue must be
// read again later (a message waits for a retry, the store failed), and
// done when the worker is to stop: it was stopped, lost its lease, or
// nothing is left and it left the engine's table.
func (c *conv) work(ctx context.Context) (retry <-chan time.Time, done bool) {
	e := c.e
	// Entries sent but not yet acknowledged are acknowledged first: until
	// the store takes the acks, nothing more is read or sent, and what was
	// sent is never sent again. The acks go with the next read, in one
	// round trip (AckOwnedRead reads nothing when they fail); a failure
	// takes the acks alone, with their lease and backoff handling.
	entries, err := c.ackRead(ctx)
	if ctx.Err() != nil {
		return nil, true
	}
	if len(c.sent) > 0 {
		if !c.ackSent(ctx) {
			if ctx.Err() != nil {
				return nil, true
			}
			return time.After(c.ackBackoff()), false
		}
		entries, err = e.cfg.Queue.Read(ctx, c.key, queueBatch, 0)
		if ctx.Err() != nil {
			return nil, true
		}
	}
	if err != nil {
		e.log.Warn("read queue", "conversation", c.key, "error", err)
		return time.After(500 * time.Millisecond), false
	}
	if len(entries) == 0 {
		// Nothing left: the worker leaves, and settles the queue and frees
		// the lease on its way out (stop).
		if c.currentCall() == nil && c.leave() {
			return nil, true
		}
		return nil, false
	}
	qs := c.decode(entries)
	for i := 0; i < len(entries) && ctx.Err() == nil; {
		if qs[i] == nil {
			c.sent = append(c.sent, entries[i].ID)
			i++
			continue
		}
		n, ok := c.handle(ctx, qs[i:])
		for _, en := range entries[i : i+n] {
			c.sent = append(c.sent, en.ID)
		}
		i += n
		if !ok {
			switch {
			case c.peerBusy:
				retry = time.After(peerBusyDelay)
			case !c.resendNow:
				retry = time.After(c.retryDelay())
			}
			c.resendNow, c.peerBusy = false, false
			break
		}
	}
	// Sent entries are acknowledged only once their provisional
	// receipts are in the store (sendDone waited for each already).
	c.owes.Wait()
	c.lastActive = time.Now()
	if retry == nil && ctx.Err() == nil {
		// More may be queued: read again, with the acks of this batch,
		// before waiting.
		c.wake()
		return nil, false
	}
	if len(c.sent) > 0 && !c.ackSent(ctx) {
		if ctx.Err() != nil {
			return nil, true
		}
		return time.After(c.ackBackoff()), false
	}
	return retry, false
}

// ackRead acknowledges the entries sent and reads the next ones in one
// round trip, or only reads when none waits for its ack. c.sent is
// emptied once the store took the acks.
func (c *conv) ackRead(ctx context.Context) ([]store.Entry, error) {
	e := c.e
	if len(c.sent) == 0 {
		return e.cfg.Queue.Read(ctx, c.key, queueBatch, 0)
	}
	entries, err := e.cfg.Queue.AckOwnedRead(ctx, c.key, e.cfg.Node, c.sent, queueBatch)
	if err != nil {
		return nil, err
	}
	c.sent = c.sent[:0]
	c.ackFailures = 0
	return entries, nil
}

// ackSent acknowledges the entries handled and not yet acknowledged;
// false when the store did not take the acks. A lease lost meanwhile
// stops the worker: the next owner may already be sending.
func (c *conv) ackSent(ctx context.Context) bool {
	e := c.e
	// Sent is sent: a stop now must not leave them to be sent again by
	// the next owner.
	actx, cancel := c.afterwards(2 * time.Second)
	defer cancel()
	err := e.cfg.Queue.AckOwned(actx, c.key, e.cfg.Node, c.sent...)
	if errors.Is(err, store.ErrNotHolder) {
		// The lease may only have lapsed (a store stall longer than the
		// lease): when no other node took it, take it back and go on, as
		// lease renewal does; the worker never stopped acting alone.
		if got, aerr := e.cfg.Leases.Acquire(actx, c.key, e.cfg.Node, e.cfg.LeaseTTL); aerr == nil && got {
			err = e.cfg.Queue.AckOwned(actx, c.key, e.cfg.Node, c.sent...)
		}
	}
	switch {
	case errors.Is(err, store.ErrNotHolder):
		c.lost.Store(true)
		e.fail(c.partner.Name, "ack", fmt.Errorf("%w: %s", errLeaseLost, c.key))
		c.cancel(errLeaseLost)
		return false
	case err != nil:
		c.ackFailures++
		e.log.Warn("ack", "conversation", c.key, "entries", len(c.sent), "failures", c.ackFailures, "error", err)
		return false
	}
	c.sent = c.sent[:0]
	c.ackFailures = 0
	return true
}

// ackBackoff is the wait before acknowledging again: it doubles from
// 100 ms up to 5 s while the store refuses.
func (c *conv) ackBackoff() time.Duration {
	return min(100*time.Millisecond<<min(c.ackFailures, 6), 5*time.Second)
}

// stop ends the worker: its call, its place in the engine's table, and
// its lease unless another node or a successor here holds it. A worker
// that left (leave) settles its queue and frees its lease in one store
// call; the successors wait for it (Engine.ensureWorker).
func (c *conv) stop() {
	e := c.e
	lost := c.lost.Load()
	c.dropCall()
	c.recordsLanded() // the record's last word is in before the lease goes
	ctx, cancel := c.afterwards(2 * time.Second)
	defer cancel()
	if c.left != nil {
		c.settleRelease(ctx)
		e.mu.Lock()
		delete(e.leaving, c.key)
		e.mu.Unlock()
		close(c.left)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.gone {
		delete(e.convs, c.key)
		c.gone = true
	}
	// A successor started since holds the same lease: keep it.
	_, successor := e.convs[c.key]
	if !lost && !successor {
		_ = e.cfg.Leases.Release(ctx, c.key, e.cfg.Node)
	}
}

// settleReleaser is a Queue that settles a queue and frees its lease in
// one call (*store.Store).
type settleReleaser interface {
	SettleRelease(ctx context.Context, conv, owner string) (bool, error)
}

// settleRelease takes the conversation off the pending list when its
// queue is empty and then frees the lease, in one round trip when the
// Queue can. When a message came meanwhile the lease stays: the worker
// its Enqueue starts here, which waited for this one, takes it on.
func (c *conv) settleRelease(ctx context.Context) {
	e := c.e
	if sr, ok := e.cfg.Queue.(settleReleaser); ok {
		if _, err := sr.SettleRelease(ctx, c.key, e.cfg.Node); err != nil {
			e.log.Warn("settle", "conversation", c.key, "error", err)
		}
		return
	}
	settled, err := e.cfg.Queue.Settle(ctx, c.key)
	if err != nil {
		e.log.Warn("settle", "conversation", c.key, "error", err)
	}
	if settled {
		_ = e.cfg.Leases.Release(ctx, c.key, e.cfg.Node)
	}
}

// decode reads the queued messages of entries; an entry that is not
// one is reported and left nil, to be acknowledged unhandled.
func (c *conv) decode(entries []store.Entry) []*queued {
	qs := make([]*queued, len(entries))
	for i, en := range entries {
		q := new(queued)
		if err := json.Unmarshal(en.Payload, q); err != nil {
			c.e.fail(c.partner.Name, "queue", err)
			continue
		}
		qs[i] = q
	}
	return qs
}

// handle handles the first of qs, or, when it starts a run of messages
// into the running session, the run (sendRun). It returns how many it
// handled, in order from the first; false keeps the next one queued
// for a retry.
func (c *conv) handle(ctx context.Context, qs []*queued) (int, bool) {
	c.adoptAttached()
	if call, wrapped, n := c.sessionRun(qs); n > 1 {
		return c.sendRun(ctx, call, wrapped, qs[:n])
	}
	if !c.process(ctx, qs[0]) {
		return 0, false
	}
	return 1, true
}

// sessionRun returns the length of the run of messages at the start of
// qs that go into the running session as they are (send): toward the
// RCS side, no notice, no forwarded IMDN; at most sendWindow of them;
// and the session with the form its peer takes them in. No run (0)
// when there is no session, or it takes no text, which send handles on
// the first.
func (c *conv) sessionRun(qs []*queued) (Call, bool, int) {
	call := c.currentCall()
	if call == nil {
		return nil, false, 0
	}
	wrapped, err := textForm(call.Negotiated())
	if err != nil {
		return nil, false, 0
	}
	n := 0
	for n < min(len(qs), sendWindow) && qs[n] != nil && qs[n].Reported == nil && qs[n].Dir != toSMS && qs[n].Notice == nil {
		n++
	}
	return call, wrapped, n
}

// inFlight is a message of a run queued into the session.
type inFlight struct {
	q   *queued
	out *session.OutgoingMessage
	p   sipsession.Pending
	// err is Queue's refusal, the message's outcome (p is nil then).
	err error
}

// sendRun puts a run of messages into the session without waiting for
// each one's answer before the next: each is prepared as send prepares
// it and queued after the one before, so they go out in queue order;
// then their outcomes are taken in that order and handled as send
// handles one. A status about one message finishes that one and the
// rest go on. When the session goes under one (sessionLost), the ones
// after it, though they went out and may have been taken, stay queued
// with it and go again, in order, into the next session: they are
// delivered at least once, never lost; what was filed for them is taken
// back as for a send that failed. It returns how many of qs it handled,
// and false when the next is to stay queued for a retry.
func (c *conv) sendRun(ctx context.Context, call Call, wrapped bool, qs []*queued) (int, bool) {
	flights := make([]inFlight, 0, len(qs))
	for i, q := range qs {
		if i > 0 && ctx.Err() != nil {
			break // stopping: the rest stay queued for the next owner
		}
		out, err := c.outgoing(q, wrapped)
		if err != nil {
			if i == 0 {
				c.e.fail(c.partner.Name, "cpim", err)
				c.finish(ctx, q, Rejected)
				return 1, true
			}
			break // it fails alone, first of the next run
		}
		c.beforeSend(ctx, call, q, out, wrapped)
		// In flight, it finishes even when the node stops (see send).
		p, err := call.Queue(context.WithoutCancel(ctx), out)
		flights = append(flights, inFlight{q: q, out: out, p: p, err: err})
		if err != nil {
			break // nothing after it was queued
		}
	}
	for i, f := range flights {
		err := f.err
		if err == nil {
			_, err = f.p.Wait(context.WithoutCancel(ctx))
		}
		ok := c.sendDone(ctx, f.q, f.out, wrapped, err)
		if ok && c.currentCall() == call {
			continue
		}
		// The session went under f (or the node stops): the ones
		// after it are sent again, whatever their answers.
		for _, later := range flights[i+1:] {
			c.unsent(ctx, later.q, later.out, wrapped)
		}
		if ok {
			return i + 1, true
		}
		return i, false
	}
	return len(flights), true
}

// process handles one queued message; false keeps it queued for a retry.
func (c *conv) process(ctx context.Context, q *queued) bool {
	c.adoptAttached()
	if q.Reported != nil {
		return c.forwardedIMDN(ctx, q)
	}
	if q.Dir == toSMS {
		return c.toSMS(ctx, q)
	}
	if q.Notice != nil {
		return c.toRCSNotice(ctx, q)
	}
	return c.toRCS(ctx, q)
}

// adoptAttached takes the calls attached while the worker was busy. An
// RCS user's session is attached before its INVITE is answered, so before
// anything it causes is queued (a message from that user, the SMSC's
// receipt its IMDN becomes): a worker that read the queue before coming
// back to its loop would otherwise find no call and open a second
// session toward a party who just opened one.
func (c *conv) adoptAttached() {
	for {
		select {
		case call := <-c.attachCh:
			c.setCall(call)
			c.lastActive = time.Now()
		default:
			return
		}
	}
}

// toRCS sends a pager message into the session, opening one when the
// policy wants it, or relays it pager-mode.
func (c *conv) toRCS(ctx context.Context, q *queued) bool {
	p := c.partner
	pol := p.Policy
	call := c.currentCall()
	if call == nil && !q.Promote {
		o := c.relay(ctx, q)
		if ctx.Err() != nil {
			return false // stopping: the message stays queued for the next start
		}
		c.finish(ctx, q, o)
		return true
	}
	if call == nil {
		opened, reserved, err := c.openReserved(ctx)
		if !reserved {
			if pol.OnSessionLimit == FallbackPager {
				c.finish(ctx, q, c.relay(ctx, q))
			} else {
				c.finish(ctx, q, Rejected)
			}
			return true
		}
		if err != nil {
			p.opened()
		}
		if err != nil && ctx.Err() != nil {
			return false // stopping, not a failure of the RCS side
		}
		c.e.cfg.Metrics.SessionOpen(p.Name, err == nil)
		if err != nil {
			c.e.fail(p.Name, "session open", err)
			return c.fallback(ctx, q, outcomeOfOpen(err))
		}
		c.attempts = 0
		c.setCall(opened)
		p.opened()
		call = opened
	}
	return c.send(ctx, call, q)
}

// send puts q into the session in the form the peer's SDP accepts.
func (c *conv) send(ctx context.Context, call Call, q *queued) bool {
	p := c.partner
	wrapped, err := textForm(call.Negotiated())
	if err != nil {
		// The session can carry none of the conversation's texts: it
		// is ended, and q fails (415 would have been the peer's
		// answer), or goes pager-mode when that is the partner's
		// fallback. Not retried: a new session would say the same.
		c.e.fail(p.Name, "msrp accept-types", err)
		c.dropCall()
		if p.Policy.OnOpenFailure == FallbackPager {
			return c.fallback(ctx, q, Undeliverable)
		}
		c.finish(ctx, q, OutcomeOfMSRP(415))
		return true
	}
	out, err := c.outgoing(q, wrapped)
	if err != nil {
		c.e.fail(p.Name, "cpim", err)
		c.finish(ctx, q, Rejected)
		return true
	}
	c.beforeSend(ctx, call, q, out, wrapped)
	// A send in flight finishes even when the node stops: cut short, the
	// peer may hold the message while it stays queued, and the next
	// owner would send it again. The session's transaction timeout
	// bounds it.
	_, err = call.Send(context.WithoutCancel(ctx), out)
	return c.sendDone(ctx, q, out, wrapped, err)
}

// outgoing is the SEND of q, in CPIM when wrapped.
func (c *conv) outgoing(q *queued, wrapped bool) (*session.OutgoingMessage, error) {
	out := &session.OutgoingMessage{MessageID: msrpMessageID(q.ID), ContentType: typeTextUTF8, Body: []byte(q.Text)}
	if wrapped {
		body, err := c.cpimBody(q)
		if err != nil {
			return nil, err
		}
		out.Body, out.ContentType = body, typeCPIM
	}
	out.SuccessReport = q.Receipt != nil && c.partner.Policy.SuccessReports
	return out, nil
}

// beforeSend files what must be in place before q's SEND goes.
func (c *conv) beforeSend(ctx context.Context, call Call, q *queued, out *session.OutgoingMessage, wrapped bool) {
	if !out.SuccessReport {
		return
	}
	// The final receipt at the end of validity when no confirmation
	// comes: written while the SEND goes, and every later write about
	// q's receipt waits for it (receipts_owing.go), so that a REPORT
	// quicker than the store replaces it rather than being replaced.
	c.oweProvisional(ctx, q)
	c.await(q, out.MessageID, call, wrapped)
}

// unsent takes back what beforeSend filed for a message whose SEND
// failed or is to go again.
func (c *conv) unsent(ctx context.Context, q *queued, out *session.OutgoingMessage, wrapped bool) {
	c.owedFirst(q)
	if out.SuccessReport && !c.unawait(q, out.MessageID) && wrapped {
		// Its session ended under the send, which spilled it to wait in
		// the store: it is not sent after all.
		c.e.forgetIMDN(ctx, c.partner.Name, q.ID)
	}
}

// sendDone handles the outcome of q's SEND; false keeps q queued.
func (c *conv) sendDone(ctx context.Context, q *queued, out *session.OutgoingMessage, wrapped bool, err error) bool {
	p := c.partner
	// Whatever comes of the SEND is written after q's provisional
	// receipt, and q is acknowledged only once that is in the store.
	c.owedFirst(q)
	if err != nil {
		c.unsent(ctx, q, out, wrapped)
		var se *session.StatusError
		switch {
		case errors.Is(err, sipsession.ErrTooLarge):
			// Larger than the peer's a=max-size: sent, it would be
			// refused 413 (RFC 4975 section 8.6); it fails now, with
			// the failure receipt a 413 gives.
			c.e.fail(p.Name, "msrp max-size", err)
			c.finish(ctx, q, OutcomeOfMSRP(413))
			return true
		case errors.As(err, &se) && !se.Local && se.Code == 503:
			// Not an RFC 4975 status; receivers (this project's among
			// them, session.Config.MaxQueuedMessages) answer it when
			// their queue is full and the sender may try again. The
			// message stays queued and goes again shortly, on the same
			// session: failing it would lose it to a passing state.
			// A peer busy until the message's validity ends has it
			// expire, as any other retry does.
			c.e.fail(p.Name, "msrp send", err)
			if c.e.now().UnixNano() >= q.expiry(p.Policy) {
				c.finish(ctx, q, Expired)
				return true
			}
			c.peerBusy = true
			return false
		case errors.As(err, &se) && !se.Local && !sessionGone(se.Code):
			// The RCS side answered about the message: its answer is final.
			c.finish(ctx, q, OutcomeOfMSRP(se.Code))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.e.fail(p.Name, "msrp send", err)
		return c.sessionLost(ctx, q)
	}
	if out.SuccessReport {
		c.e.oweAccepted(ctx, p, q, true)
	}
	c.losses = sessionLosses{}
	p.counters.add(counterOutMSRP, 1)
	c.e.cfg.Metrics.Message(p.Name, toRCS.metric(), string(q.Ingress), outcomeDelivered)
	c.e.cfg.Metrics.Delivery(p.Name, toRCS.metric(), time.Since(time.Unix(0, q.At)))
	if (q.Receipt != nil || q.SMSIP != nil) && !out.SuccessReport {
		c.finish(ctx, q, Delivered)
	}
	return true
}

// unawait takes back what await filed; false when it was no longer
// there.
func (c *conv) unawait(q *queued, msrpID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.awaiting[q.ID]
	delete(c.awaiting, q.ID)
	delete(c.awaiting, msrpID)
	return ok
}

// sessionGone reports an MSRP status about the session rather than the
// message (RFC 4975 section 10: 481 "the session does not exist", 506
// "bound to another connection"): the message goes into a new session, as
// when the session could not be opened.
func sessionGone(code int) bool { return code == 481 || code == 506 }

// sessionLosses counts the sessions lost under one message in a row.
type sessionLosses struct {
	id string
	n  int
}

// sessionLost handles a message whose session ended under it: a 481 or
// 506 (sessionGone), a transaction timeout (RFC 4975 section 7.3: the
// session is to be treated as failed), the connection or the call lost.
// That is no answer about the message: the session is ended with a BYE,
// and the message, still first in the queue with the ones after it, goes
// into a new session at once, in order. When the new session is lost
// under it too, the partner's open-failure policy decides, as for a
// session that could not be opened; so a peer that takes INVITEs and
// refuses every SEND does not make a loop.
func (c *conv) sessionLost(ctx context.Context, q *queued) bool {
	c.dropCall()
	if c.losses.id != q.ID {
		c.losses = sessionLosses{id: q.ID}
	}
	c.losses.n++
	if c.losses.n == 1 {
		c.resendNow = true
		return false
	}
	return c.fallback(ctx, q, Expired)
}

// fallback applies the partner's open-failure policy to q.
func (c *conv) fallback(ctx context.Context, q *queued, o Outcome) bool {
	pol := c.partner.Policy
	switch pol.OnOpenFailure {
	case FallbackPager:
		o := c.relay(ctx, q)
		if ctx.Err() != nil {
			return false
		}
		c.finish(ctx, q, o)
		return true
	case FallbackRetry:
		if c.mayRetry(q) {
			c.attempts++
			return false
		}
		c.attempts = 0
		if c.e.now().UnixNano() >= q.expiry(pol) {
			o = Expired // whatever the last refusal said, time ran out
		}
	}
	c.finish(ctx, q, o)
	return true
}

// mayRetry reports whether q, which just failed, may be tried again: it
// has not expired and the partner's retry cap, if any, is not spent.
func (c *conv) mayRetry(q *queued) bool {
	max := c.partner.Policy.MaxRetries
	return c.e.now().UnixNano() < q.expiry(c.partner.Policy) && (max == 0 || c.attempts < max)
}

// retryDelay is the wait before the next try: retry_delay, doubled with
// each failed attempt up to retry_max_delay.
func (c *conv) retryDelay() time.Duration {
	pol := c.partner.Policy
	d := pol.RetryDelay
	for i := 1; i < c.attempts && d < pol.RetryMaxDelay; i++ {
		d *= 2
	}
	return min(d, pol.RetryMaxDelay)
}

func outcomeOfOpen(err error) Outcome {
	var se *sipsession.Error
	if errors.As(err, &se) && se.Status > 0 {
		return OutcomeOfSIP(se.Status)
	}
	return Expired
}

// finish ends a message toward the RCS side: counters and, when the SMS
// sender asked, its delivery receipt.
func (c *conv) finish(ctx context.Context, q *queued, o Outcome) {
	p := c.partner
	// The final receipt replaces the provisional one, never the other
	// way round; a REPORT may come before the provisional one is in.
	c.owedFirst(q)
	if o != Delivered {
		p.counters.add(counterFailed, 1)
		c.e.cfg.Metrics.Message(p.Name, toRCS.metric(), string(q.Ingress), outcomeFailed)
	}
	if q.Receipt != nil && !(o == Delivered && q.imdnPending) {
		c.e.queueReceipt(ctx, p, q, o)
	}
	c.smsipStatus(ctx, q, o)
}

// leave takes the worker out of the engine's table unless a call or a
// wake-up is on its way to it; Engine.mu orders it against both. It
// then counts as leaving until stop settled the queue and freed the
// lease.
func (c *conv) leave() bool {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(c.attachCh) > 0 || len(c.wakeCh) > 0 || c.currentCall() != nil {
		return false
	}
	delete(e.convs, c.key)
	c.gone = true
	c.left = make(chan struct{})
	if e.leaving == nil {
		e.leaving = make(map[string]chan struct{})
	}
	e.leaving[c.key] = c.left
	return true
}
