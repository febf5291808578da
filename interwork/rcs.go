package interwork

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/session"
	"iwf/session/sipsession"
)

// Incoming is the sipsession OnIncoming hook: an RCS user opens a session
// toward a number on the SMS side. The recipient routes to a partner;
// the call joins the conversation, whose worker will also use it for
// the SMS side's answers.
func (e *Engine) Incoming(call *sipsession.Call) error {
	if e.draining.Load() {
		return sipsession.Reject(503, "draining")
	}
	rcs := uriAddress(call.From())
	sms := uriAddress(call.To())
	p, ok := e.route(sms)
	if !ok {
		return sipsession.Reject(404, "no partner serves "+sms)
	}
	key := convKey{p.Name, sms, rcs}
	e.mu.Lock()
	if e.calls == nil {
		e.calls = make(map[*sipsession.Call]convKey)
	}
	e.calls[call] = key
	e.mu.Unlock()
	go func() {
		<-call.Done()
		e.mu.Lock()
		delete(e.calls, call)
		e.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(call.Context(), 5*time.Second)
	defer cancel()
	e.attach(ctx, key, call)
	return nil
}

// Message is the sipsession OnMessage hook: a complete MSRP message. It
// is queued durably before it returns, so the 200 means "stored".
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
		if c != nil {
			c.notification(*note)
		}
		return nil
	}
	p := e.partners[key.Partner]
	if e.draining.Load() {
		return errDrainingRef
	}
	if id == "" {
		id = m.ID
	}
	q := &queued{ID: id, Dir: toSMS, Ingress: "msrp", Text: text, At: time.Now().UnixNano()}
	if c != nil {
		in := inboundMsg{msg: m, call: call}
		if cm != nil {
			if i, err := cm.IMDN(); err == nil && i.Disposition&(cpim.PositiveDelivery|cpim.NegativeDelivery) != 0 {
				in.cpim = cm
			}
		}
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

func (e *Engine) convOfCall(call *sipsession.Call) *conv {
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
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(m.ContentType, ";", 2)[0]))
	switch mt {
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
func (c *conv) open(ctx context.Context) (*sipsession.Call, error) {
	e := c.e
	ctx, cancel := context.WithTimeout(ctx, c.partner.Policy.OpenTimeout)
	defer cancel()
	hop := nextHopHost(e.cfg.RCS.Trunk.NextHop)
	to, err := address.Parse(c.k.RCS, address.Options{})
	if err != nil {
		return nil, fmt.Errorf("interwork: recipient %q: %w", c.k.RCS, err)
	}
	from, err := address.Parse(c.k.SMS, address.Options{})
	if err != nil {
		return nil, fmt.Errorf("interwork: sender %q: %w", c.k.SMS, err)
	}
	trunk := e.cfg.RCS.Trunk
	trunk.Name = c.partner.Name
	// A later session of the conversation keeps its Conversation-ID
	// (OMA CPM): the RCS client shows one thread.
	var convID string
	if rec, err := e.cfg.Store.LoadConversation(ctx, c.key); err == nil {
		convID = rec["conversation_id"]
	}
	c.record(ctx, "opening", nil)
	return e.cfg.RCS.Sessions.Open(ctx, sipsession.OpenRequest{
		From:           from.SIPURI(e.cfg.RCS.Domain),
		To:             to.SIPURI(hop),
		Trunk:          trunk,
		ConversationID: convID,
	})
}

// cpimBody wraps text for the RCS side with its IMDN Message-ID, asking
// for a delivery notification when the SMS sender wants a receipt.
func (c *conv) cpimBody(q *queued) ([]byte, error) {
	if c.from == "" {
		from, _ := address.Parse(c.k.SMS, address.Options{})
		to, _ := address.Parse(c.k.RCS, address.Options{})
		c.from, c.to = identity(from, c.e.cfg.RCS.Domain), identity(to, c.e.cfg.RCS.Domain)
	}
	i := cpim.IMDN{MessageID: q.ID, DateTime: time.Unix(0, q.At).UTC()}
	if q.Receipt != nil {
		i.Disposition = cpim.PositiveDelivery | cpim.NegativeDelivery
	}
	m, err := cpim.Wrap(c.from, c.to, "text/plain;charset=UTF-8", []byte(q.Text), i)
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}

func identity(a address.Address, domain string) string {
	if a.Kind == address.KindGlobal {
		return "<tel:" + a.Number + ">"
	}
	return "<" + a.SIPURI(domain) + ">"
}

// uriAddress normalises the identity of a SIP URI.
func uriAddress(u sip.Uri) string {
	s := u.String()
	if a, err := address.Parse(s, address.Options{}); err == nil {
		return party(a)
	}
	return s
}

// nextHopHost is host:port of a trunk's next hop URI.
func nextHopHost(uri string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(uri, "sips:"), "sip:")
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

var errNoPager = errors.New("interwork: no pager trunk toward the RCS side")

// record saves the conversation's record (DESIGN flow 1 step 3): its
// state, owner, parties, last activity and, with a call, the session's
// identifiers. It outlives the session by conversation_ttl, so that the
// next message regroups under the same Conversation-ID.
func (c *conv) record(ctx context.Context, state string, call *sipsession.Call) {
	f := map[string]string{
		"state": state, "node": c.e.cfg.Node, "partner": c.k.Partner, "sms": c.k.SMS, "rcs": c.k.RCS,
		"last_activity": time.Now().UTC().Format(time.RFC3339Nano),
	}
	if call != nil {
		f["conversation_id"] = call.ConversationID()
		f["contribution_id"] = call.ContributionID()
		f["call_id"] = call.CallID()
		f["direction"] = call.Direction().String()
		if s := call.Session(); s != nil {
			f["msrp_session"] = s.LocalURI().SessionID
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := c.e.cfg.Store.SaveConversation(ctx, c.key, f, c.partner.Policy.ConversationTTL); err != nil {
		c.e.log.Warn("conversation record", "conversation", c.key, "error", err)
	}
}
