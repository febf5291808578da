package pager

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/pager/split"
)

// viaAllowance is added to a request's size before it has its Via (the
// client adds it) when choosing UDP or TCP: "Via: SIP/2.0/UDP host:port;
// branch=z9hG4bK...;rport" with a long host stays under it.
const viaAllowance = 160

// Clients gives the client that sends over a transport (udp, tcp, tls);
// *sipstack.Stack is one.
type Clients interface {
	Client(transport string) (*sipgo.Client, error)
}

// SenderConfig configures Sender.
type SenderConfig struct {
	Trunks  *Trunks
	Clients Clients
	// Domain is the host of From for a number sender
	// (sip:+number@domain;user=phone); sipstack.Stack.Domain gives it.
	Domain string
	// UserAgent goes in User-Agent; default "iwf".
	UserAgent string
	// Logger gets component=pager; nil discards.
	Logger *slog.Logger
}

// Sender sends MESSAGE requests to partners' next hops with their retry
// policies.
type Sender struct {
	cfg SenderConfig
	log *slog.Logger
}

// NewSender checks cfg. It starts nothing.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.Trunks == nil || cfg.Clients == nil || cfg.Domain == "" {
		return nil, errors.New("pager: sender needs Trunks, Clients and a Domain")
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "iwf"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, log: log.With("component", "pager")}, nil
}

// Outgoing is a text to send to a partner.
type Outgoing struct {
	Partner  string
	From, To address.Address
	Text     string
	// CallID, when set, is the Call-ID (split parts add "-2", "-3"...):
	// a caller that retries a whole send after a crash gives the same
	// one, so the partner can recognise the copy. Empty draws one.
	CallID string

	// The fields below serve CPM trunks (ProfileCPM).

	// MessageID is the imdn.Message-ID; empty draws one.
	MessageID string
	// Disposition is the imdn.Disposition-Notification asked for.
	Disposition cpim.Disposition
	// DateTime is the CPIM DateTime; zero is the time of sending.
	DateTime time.Time
	// ConversationID is the OMA CPM Conversation-ID, which RCS clients
	// thread by: the one of the conversation's sessions keeps pager and
	// session traffic in one thread. Empty draws one.
	ConversationID string
	// CPIM, when set, is a message/cpim document sent as it is in one
	// MESSAGE (an IMDN notification), on any trunk; Text is unused.
	CPIM []byte
}

// Outcome is how a MESSAGE ended.
type Outcome uint8

// The outcomes.
const (
	// Delivered: a 2xx answer.
	Delivered Outcome = iota + 1
	// Rejected: a final 3xx-6xx answer that retrying would not change
	// (Status holds it).
	Rejected
	// TimedOut: no final answer within the attempts.
	TimedOut
	// Failed: the attempts ran out on 5xx answers or transport errors,
	// or a Retry-After was longer than the policy allows.
	Failed
)

var outcomeNames = []string{Delivered: "delivered", Rejected: "rejected", TimedOut: "timeout", Failed: "failed"}

// String returns delivered, rejected, timeout or failed.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is the final outcome of one MESSAGE.
type Result struct {
	Outcome Outcome
	// Status and Reason are the last SIP answer's, 0 and "" without one.
	Status int
	Reason string
	// Attempts is how many times the MESSAGE was sent.
	Attempts int
	// Transport is the one used: udp, tcp or tls.
	Transport string
	// CallID is the request's Call-ID.
	CallID string
	// Err is the last attempt's transport or timeout error, if any.
	Err error
}

// SIPStatus is the status to report upstream: the answer's, 408 for a
// timeout, 503 for a failure without an answer.
func (r Result) SIPStatus() int {
	switch {
	case r.Status != 0:
		return r.Status
	case r.Outcome == TimedOut:
		return 408
	}
	return 503
}

// Send sends one MESSAGE with text/plain;charset=UTF-8 and returns its
// final Result. The error is for what prevented any attempt: an unknown
// partner, a text over the trunk's body limit, ctx ended.
func (s *Sender) Send(ctx context.Context, m Outgoing) (Result, error) {
	tr, ok := s.cfg.Trunks.lookup(m.Partner)
	if !ok {
		return Result{}, ErrUnknownPartner
	}
	b, err := s.body(tr, m)
	if err != nil {
		return Result{}, err
	}
	if m.CallID == "" {
		m.CallID = randomID()
	}
	return s.send(ctx, tr, m, b)
}

// body is what a MESSAGE of m carries: a ready CPIM document, a CPM
// trunk's CPIM wrapping of the text, or the text. Over the trunk's body
// limit it is a *BodyTooLargeError.
func (s *Sender) body(tr *trunk, m Outgoing) (outBody, error) {
	b := outBody{contentType: "text/plain;charset=UTF-8", data: []byte(m.Text)}
	switch {
	case m.CPIM != nil:
		b = outBody{contentType: "message/cpim", data: m.CPIM}
	case tr.Profile == ProfileCPM:
		doc, err := s.cpmBody(m)
		if err != nil {
			return outBody{}, err
		}
		b = outBody{contentType: "message/cpim", data: doc, cpm: true}
	}
	if len(b.data) > tr.MaxBodyBytes {
		return outBody{}, &BodyTooLargeError{Size: len(b.data), Limit: tr.MaxBodyBytes}
	}
	b.cpm = b.cpm || tr.Profile == ProfileCPM
	if b.cpm {
		b.conversationID = m.ConversationID
		if b.conversationID == "" {
			b.conversationID = randomID()
		}
		b.contributionID = randomID()
	}
	return b, nil
}

// outBody is the body of a MESSAGE and the headers that go with it.
type outBody struct {
	contentType string
	data        []byte
	// cpm adds the CPM standalone-message headers.
	cpm                            bool
	conversationID, contributionID string
	// headers go before Content-Type.
	headers []sip.Header
}

// Profile is the profile of partner's trunk (ProfilePlain or
// ProfileCPM), "" for a partner without one: on a CPM trunk a 2xx only
// says the RCS core took the message, its delivery comes as an IMDN.
func (s *Sender) Profile(partner string) string {
	if tr, ok := s.cfg.Trunks.byName[partner]; ok {
		return tr.Profile
	}
	return ""
}

// SendText sends a text of any length: over the trunk's body limit it is
// split, truncated or refused (*split.OverflowError) as the trunk's
// overflow policy says, and the parts go in order, one MESSAGE each. It
// stops at the first part not delivered; the results say how far it got.
// A CPM trunk's text, and a ready CPIM document, go as one MESSAGE or,
// over the limit, not at all: *BodyTooLargeError, for the caller to send
// in Large Message Mode.
func (s *Sender) SendText(ctx context.Context, m Outgoing) ([]Result, error) {
	tr, ok := s.cfg.Trunks.lookup(m.Partner)
	if !ok {
		return nil, ErrUnknownPartner
	}
	if m.CPIM != nil || tr.Profile == ProfileCPM {
		r, err := s.Send(ctx, m)
		if err != nil {
			return nil, err
		}
		return []Result{r}, nil
	}
	parts, err := split.Text(m.Text, split.Options{
		Limit:    tr.MaxBodyBytes,
		MaxParts: tr.Overflow.MaxParts,
		Policy:   tr.Overflow.Policy,
		Marker:   *tr.Overflow.Marker,
		Counter:  tr.Overflow.Counter,
	})
	if err != nil {
		return nil, err
	}
	base := m.CallID
	if base == "" {
		base = randomID()
	}
	var results []Result
	for i, p := range parts {
		part := m
		part.Text = p.Text
		part.CallID = base
		if i > 0 {
			part.CallID = base + "-" + strconv.Itoa(i+1)
		}
		r, err := s.send(ctx, tr, part, outBody{contentType: "text/plain;charset=UTF-8", data: []byte(part.Text)})
		if err != nil {
			return results, err
		}
		results = append(results, r)
		if r.Outcome != Delivered {
			break
		}
	}
	return results, nil
}

// send runs the attempts of one MESSAGE under the trunk's retry policy.
func (s *Sender) send(ctx context.Context, tr *trunk, m Outgoing, b outBody) (Result, error) {
	pol := tr.Retry
	fromTag := randomID()[:16]
	cseq := uint32(1 + rand.IntN(1<<15))
	res := Result{CallID: m.CallID}
	backoff := pol.Backoff
	for attempt := 1; attempt <= pol.Attempts; attempt++ {
		req := s.request(tr, m, b, fromTag, cseq)
		client, err := s.cfg.Clients.Client(req.Transport())
		if err != nil {
			return res, err
		}
		res.Attempts, res.Transport = attempt, strings.ToLower(req.Transport())
		actx, cancel := context.WithTimeout(ctx, pol.Timeout)
		answer, err := client.Do(actx, req)
		cancel()
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		wait := backoff
		backoff = min(2*backoff, pol.MaxBackoff)
		res.Err = err
		switch {
		case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout)):
			// The request may have arrived: the next attempt keeps the
			// CSeq, so the partner can tell the copy (RFC 3261 section
			// 8.2.2.2 identifies a request by From tag, Call-ID, CSeq).
			res.Outcome, res.Status, res.Reason = TimedOut, 0, ""
		case err != nil:
			res.Outcome, res.Status, res.Reason = Failed, 0, ""
		default:
			res.Status, res.Reason = answer.StatusCode, answer.Reason
			switch code := answer.StatusCode; {
			case code >= 200 && code < 300:
				res.Outcome = Delivered
				return res, nil
			case code == 408:
				res.Outcome = TimedOut
			case code == 503:
				res.Outcome = Failed
				// RFC 3261 section 21.5.4: Retry-After says when the
				// next hop expects to serve again.
				if ra, ok := retryAfter(answer); ok {
					if ra > pol.MaxRetryAfter {
						return res, nil
					}
					wait = ra
				}
			case code >= 500 && code < 600:
				res.Outcome = Failed
			default:
				res.Outcome = Rejected
				return res, nil
			}
			// An answered request is over: the next one is new
			// (RFC 3261 section 8.1.3.5 retries with a new CSeq).
			cseq++
		}
		s.log.Debug("message attempt failed", "partner", tr.Partner, "call_id", m.CallID, "attempt", attempt,
			"status", res.Status, "outcome", res.Outcome.String(), "error", err)
		if attempt == pol.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-t.C:
		}
	}
	return res, nil
}

// request builds one attempt of m toward the trunk's next hop.
func (s *Sender) request(tr *trunk, m Outgoing, b outBody, fromTag string, cseq uint32) *sip.Request {
	var ruri sip.Uri
	_ = sip.ParseUri(m.To.SIPURI(tr.reqHost), &ruri)
	var fromURI sip.Uri
	_ = sip.ParseUri(m.From.SIPURI(s.cfg.Domain), &fromURI)
	req := sip.NewRequest(sip.MESSAGE, ruri)
	fromParams := sip.NewParams()
	fromParams.Add("tag", fromTag)
	req.AppendHeader(&sip.FromHeader{Address: fromURI, Params: fromParams})
	req.AppendHeader(&sip.ToHeader{Address: *ruri.Clone(), Params: sip.NewParams()})
	callID := sip.CallIDHeader(m.CallID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.MESSAGE})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("User-Agent", s.cfg.UserAgent))
	// No Contact: RFC 3428 section 4, a MESSAGE starts no dialog and UAs
	// MUST NOT insert one. The advertised address reaches the partner in
	// Via, which the client fills from the listener's configuration.
	if b.cpm {
		// RCC.07 section 3.2.4: the standalone-message ICSI routes the
		// request to the client's messaging service; Conversation-ID
		// threads it with the sessions of the conversation (OMA CPM
		// conversation functions), Contribution-ID names this message.
		req.AppendHeader(sip.NewHeader("P-Preferred-Service", ICSIStandalone))
		req.AppendHeader(sip.NewHeader("Accept-Contact", AcceptContactICSI(ICSIStandalone)))
		req.AppendHeader(sip.NewHeader("Conversation-ID", b.conversationID))
		req.AppendHeader(sip.NewHeader("Contribution-ID", b.contributionID))
	}
	for _, h := range b.headers {
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", b.contentType))
	req.SetBody(b.data)
	req.SetDestination(tr.dest)
	tp := tr.transport
	if tp == "udp" && len(req.String())+viaAllowance > tr.UDPMaxBytes {
		// RFC 3261 section 18.1.1: a request over 1300 bytes on a path
		// of unknown MTU MUST use a congestion-controlled transport.
		tp = "tcp"
	}
	req.SetTransport(strings.ToUpper(tp))
	return req
}

// retryAfter reads the delta-seconds of a Retry-After header (RFC 3261
// section 20.33; a comment or parameters may follow).
func retryAfter(res *sip.Response) (time.Duration, bool) {
	h := res.GetHeader("Retry-After")
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexAny(v, " (;"); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// randomID is 128 random bits in hex: Call-IDs and tags (RFC 3261
// sections 8.1.1.4 and 19.3 ask for global uniqueness and 32 random bits
// at least).
func randomID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
