package interwork

import (
	"context"
	"errors"
	"fmt"
	"time"

	"iwf/internal/cpim"
	"iwf/session"
	"iwf/session/sipsession"
)

// Incoming implements sipsession.Handler: an RCS user opens a session
// toward a number on the SMS side. The recipient routes to a partner;
// the call joins the conversation, whose worker will also use it for
// the SMS side's answers.
func (e *Engine) Incoming(call *sipsession.Call) error {
	if e.draining.Load() {
		return sipsession.Reject(503, "draining")
	}
	from, to := call.From(), call.To()
	rcs, sms := readParty(from.String()), readParty(to.String())
	p, ok := e.route(sms)
	if !ok {
		return sipsession.Reject(404, "no partner serves "+sms.id)
	}
	if e.Suspended(p.Name) {
		return sipsession.Reject(503, "partner suspended")
	}
	ctx, cancel := context.WithTimeout(call.Context(), 5*time.Second)
	defer cancel()
	// The SIP side may serve a moment before Run starts.
	select {
	case <-e.running:
	case <-ctx.Done():
		return errNotRunning
	}
	if e.workCtx() == nil {
		return errNotRunning
	}
	key := convKey{p.Name, sms, rcs}
	e.mu.Lock()
	e.calls[call] = key
	e.mu.Unlock()
	go func() {
		<-call.Done()
		e.mu.Lock()
		delete(e.calls, call)
		e.mu.Unlock()
	}()
	e.attach(ctx, key, call)
	return nil
}

// Message implements sipsession.Handler: a complete MSRP message. It is
// queued durably before it returns, so the 200 means "stored".
func (e *Engine) Message(ctx context.Context, call *sipsession.Call, m *session.Message) error {
	e.mu.Lock()
	key, ok := e.calls[call]
	c := e.convs[key.String()]
	e.mu.Unlock()
	if !ok {
		// A session we opened: its conversation's worker owns it.
		c = e.convOfCall(call)
		if c == nil {
			return session.Reject(481, "no conversation")
		}
		key = c.k
	}
	text, id, cm, note, err := readContent(m)
	if err != nil {
		return err
	}
	if note != nil {
		return e.notified(ctx, key, *note)
	}
	p, _ := e.lookupPartner(key.Partner)
	if e.draining.Load() {
		return errDraining
	}
	if p == nil || p.removed {
		return errNoPartner
	}
	if e.Suspended(p.Name) {
		return errSuspended
	}
	if id == "" {
		id = m.ID
	}
	q := &queued{ID: id, Dir: toSMS, Ingress: ingressMSRP, Text: text, At: time.Now().UnixNano()}
	in := inboundMsg{msg: m, call: call}
	if cm != nil {
		if i, err := cm.IMDN(); err == nil && i.Disposition&(cpim.PositiveDelivery|cpim.NegativeDelivery) != 0 {
			in.cpim = cm
			q.CPIM = m.Body // for the IMDN an SMSC's receipt becomes, on any node
		}
	}
	if c != nil {
		c.expectReport(id, in)
	}
	if _, err := e.enqueue(ctx, p, key, "msrp:"+m.ID, q); err != nil {
		if c != nil {
			c.forgetReport(id)
		}
		return err
	}
	return nil
}

func (e *Engine) convOfCall(call Call) *conv {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.convs {
		if c.currentCall() == call {
			return c
		}
	}
	return nil
}

// readContent takes the text out of an MSRP message: text/plain as is,
// message/cpim unwrapped (its imdn.Message-ID is the message's id, cm the
// document), or an IMDN notification about a message we sent.
func readContent(m *session.Message) (text, id string, cm *cpim.Message, note *cpim.Notification, err error) {
	switch m.MediaType() {
	case "text/plain":
		return string(m.Body), "", nil, nil, nil
	case "message/cpim":
	default:
		return "", "", nil, nil, session.Reject(415, "unsupported content type")
	}
	cm, err = cpim.Parse(m.Body)
	if err != nil {
		return "", "", nil, nil, session.Reject(400, "bad message/cpim")
	}
	if cm.IsNotification() {
		n, err := cm.Notification()
		if err != nil {
			return "", "", nil, nil, session.Reject(400, "bad imdn")
		}
		return "", "", nil, &n, nil
	}
	if cm.MediaType() != "text/plain" {
		return "", "", nil, nil, session.Reject(415, "unsupported wrapped type")
	}
	if i, err := cm.IMDN(); err == nil {
		id = i.MessageID
	}
	return string(cm.Body), id, cm, nil, nil
}

// open starts an MSRP session toward the conversation's RCS party.
func (c *conv) open(ctx context.Context) (Call, error) {
	req, err := c.openRequest()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.partner.Policy.OpenTimeout)
	defer cancel()
	rec, rerr := c.recordOpening(ctx)
	return c.invite(ctx, req, rec, rerr)
}

// openReserved is open for a session that counts against the partner's
// max_sessions (reserveSession); reserved is false, and nothing opened,
// when the limit refuses it. Otherwise the caller ends the reservation
// (partner.opened) once the call is set or the open failed. When the
// store keeps the shared count (a Cluster), its answer and the record's
// opening write are two round trips on unrelated keys that both come
// before the INVITE: they go at once, and a refusal puts the record
// back as it was (restoreRecord), as a refusal before the write left it.
func (c *conv) openReserved(ctx context.Context) (call Call, reserved bool, err error) {
	e, p := c.e, c.partner
	req, err := c.openRequest()
	_, restorable := e.cfg.Records.(recordRestorer)
	if e.cfg.Cluster == nil || !restorable || err != nil {
		if !e.reserveSession(ctx, p) {
			return nil, false, nil
		}
		if err != nil {
			return nil, true, err
		}
		call, err := c.open(ctx)
		return call, true, err
	}
	mine, ok := p.reserveLocal()
	if !ok {
		return nil, false, nil
	}
	shared := make(chan bool, 1)
	go func() { shared <- e.reserveShared(ctx, p, mine) }()
	octx, cancel := context.WithTimeout(ctx, p.Policy.OpenTimeout)
	defer cancel()
	rec, rerr := c.recordOpening(octx)
	if !<-shared {
		c.restoreRecord(rec, rerr)
		return nil, false, nil
	}
	call, err = c.invite(octx, req, rec, rerr)
	return call, true, err
}

// openRequest is the INVITE of a session toward the conversation's RCS
// party, but for its Conversation-ID.
func (c *conv) openRequest() (sipsession.OpenRequest, error) {
	e := c.e
	to, err := c.k.RCS.address()
	if err != nil {
		return sipsession.OpenRequest{}, fmt.Errorf("interwork: recipient %q: %w", c.k.RCS.id, err)
	}
	from, err := c.k.SMS.address()
	if err != nil {
		return sipsession.OpenRequest{}, fmt.Errorf("interwork: sender %q: %w", c.k.SMS.id, err)
	}
	trunk := e.cfg.RCS.Trunk
	trunk.Name = c.partner.Name
	return sipsession.OpenRequest{
		From:  from.SIPURI(e.cfg.RCS.Domain),
		To:    to.SIPURI(trunk.NextHopHost()),
		Trunk: trunk,
	}, nil
}

// invite sends req, under the Conversation-ID of rec, the record as
// recordOpening found it (rerr its error).
func (c *conv) invite(ctx context.Context, req sipsession.OpenRequest, rec map[string]string, rerr error) (Call, error) {
	// A later session of the conversation keeps its Conversation-ID
	// (OMA CPM): the RCS client shows one thread.
	if rerr == nil {
		req.ConversationID = rec["conversation_id"]
	}
	return c.e.cfg.RCS.Sessions.Open(ctx, req)
}

// cpimBody wraps text for the RCS side with its IMDN Message-ID, asking
// for a delivery notification when the SMS sender wants a receipt.
func (c *conv) cpimBody(q *queued) ([]byte, error) {
	if err := errors.Join(c.k.SMS.err, c.k.RCS.err); err != nil {
		return nil, fmt.Errorf("interwork: cpim identities of %s: %w", c.key, err)
	}
	domain := c.e.cfg.RCS.Domain
	i := cpim.IMDN{MessageID: q.ID, DateTime: time.Unix(0, q.At).UTC()}
	if q.Receipt != nil {
		i.Disposition = cpim.PositiveDelivery | cpim.NegativeDelivery
	}
	m, err := cpim.Wrap(c.k.SMS.cpimIdentity(domain), c.k.RCS.cpimIdentity(domain), "text/plain;charset=UTF-8", []byte(q.Text), i)
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}

// recordLoadSaver is a Records that reads a record and writes it in one
// call (*store.Store).
type recordLoadSaver interface {
	LoadSaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) (map[string]string, error)
}

// recordRestorer is a Records that can put a record back as it was
// before a LoadSaveConversation: also delete it when there was none
// (*store.Store).
type recordRestorer interface {
	recordLoadSaver
	DeleteConversation(ctx context.Context, conv string) error
}

// recordOpening records the state opening and returns the record as it
// was, for its Conversation-ID: in one round trip when the Records can,
// bounded as record's write is (the write must be done even when the
// worker stops), else the read bounded by ctx, then record. The writes
// issued before it land first.
func (c *conv) recordOpening(ctx context.Context) (map[string]string, error) {
	c.recordsLanded()
	ls, ok := c.e.cfg.Records.(recordLoadSaver)
	if !ok {
		rec, err := c.e.cfg.Records.LoadConversation(ctx, c.key)
		c.record(stateOpening, nil)
		return rec, err
	}
	wctx, cancel := c.afterwards(2 * time.Second)
	defer cancel()
	rec, err := ls.LoadSaveConversation(wctx, c.key, c.recordFields(stateOpening, nil), c.partner.Policy.ConversationTTL)
	if err != nil {
		c.e.log.Warn("conversation record", "conversation", c.key, "error", err)
	}
	return rec, err
}

// restoreRecord puts the record back as recordOpening found it, rec
// (err its error), after the session it recorded as opening was
// refused: a refusal writes no record, so the record says what it said
// before, and none is left where there was none. Every field opening
// writes is one each record write has, so writing rec's fields back
// undoes it; only the TTL keeps the one the opening write gave it. When
// the opening write failed there is nothing known to put back.
func (c *conv) restoreRecord(rec map[string]string, err error) {
	r, ok := c.e.cfg.Records.(recordRestorer)
	if !ok || err != nil {
		return
	}
	ctx, cancel := c.afterwards(2 * time.Second)
	defer cancel()
	if len(rec) == 0 {
		err = r.DeleteConversation(ctx, c.key)
	} else {
		err = c.e.cfg.Records.SaveConversation(ctx, c.key, rec, c.partner.Policy.ConversationTTL)
	}
	if err != nil {
		c.e.log.Warn("conversation record", "conversation", c.key, "error", err)
	}
}

// record saves the conversation's record (DESIGN flow 1 step 3): its
// state, owner, parties, last activity and, with a call, the session's
// identifiers. It outlives the session by conversation_ttl, so that the
// next message regroups under the same Conversation-ID. The writes
// issued before it (recordLater) land first: the record goes through
// its states in the order the worker went.
func (c *conv) record(state convState, call Call) {
	c.recordsLanded()
	c.saveRecord(c.recordFields(state, call))
}

// recordLater is record without waiting for the write: it is issued
// now, lands after the writes issued before it, and before any issued
// after it (each record waits for it). The worker's stop waits for it.
// Only the worker calls it, as it calls record.
func (c *conv) recordLater(state convState, call Call) {
	fields := c.recordFields(state, call)
	prev, done := c.recordDone, make(chan struct{})
	c.recordDone = done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		c.saveRecord(fields)
	}()
}

// recordsLanded waits for the writes recordLater issued.
func (c *conv) recordsLanded() {
	if c.recordDone != nil {
		<-c.recordDone
		c.recordDone = nil
	}
}

// saveRecord writes fields into the record, bounded as the work done
// when the worker stops is.
func (c *conv) saveRecord(fields map[string]string) {
	ctx, cancel := c.afterwards(2 * time.Second)
	defer cancel()
	if err := c.e.cfg.Records.SaveConversation(ctx, c.key, fields, c.partner.Policy.ConversationTTL); err != nil {
		c.e.log.Warn("conversation record", "conversation", c.key, "error", err)
	}
}

// recordFields are the fields record writes.
func (c *conv) recordFields(state convState, call Call) map[string]string {
	f := map[string]string{
		"state": string(state), "node": c.e.cfg.Node, "partner": c.k.Partner, "sms": c.k.SMS.id, "rcs": c.k.RCS.id,
		"last_activity": time.Now().UTC().Format(time.RFC3339Nano),
	}
	if call != nil {
		f["conversation_id"] = call.ConversationID()
		f["contribution_id"] = call.ContributionID()
		f["call_id"] = call.CallID()
		f["direction"] = call.Direction().String()
		if id := call.MSRPSessionID(); id != "" {
			f["msrp_session"] = id
		}
	}
	return f
}
