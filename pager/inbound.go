package pager

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/address"
	"iwf/internal/sipstack"
	"iwf/pager/body"
)

// Inbound defaults.
const (
	DefaultAcceptTimeout = 5 * time.Second
	DefaultDedupTTL      = 5 * time.Minute
	DefaultDedupSize     = 100_000
	// drainRetryAfter is the Retry-After of the 503 sent while the
	// process shuts down: another node, or this one restarted, takes it.
	drainRetryAfter = 5
)

// InboundConfig configures Inbound.
type InboundConfig struct {
	// Trunks says which partners may send and their limits.
	Trunks *Trunks
	// Store receives every accepted message before it is answered.
	Store Store
	// Replies sends the relay-layer answers to SMS over IP MESSAGEs
	// (smsip.go); nil leaves them unsent.
	Replies RPSender
	// Logger gets the component=pager attribute; nil discards.
	Logger *slog.Logger
	// AcceptTimeout bounds Store.Accept; default 5 s. Beyond it the
	// MESSAGE is answered 503 and the sender's retry is deduplicated.
	AcceptTimeout time.Duration
	// DedupTTL and DedupSize bound the memory of answered requests;
	// defaults 5 min and 100000.
	DedupTTL  time.Duration
	DedupSize int
	// ServerName goes in the Server header; default "iwf".
	ServerName string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Inbound handles MESSAGE requests (RFC 3428) from partner trunks: it
// checks the source, the request and the body, hands the message to the
// Store and answers 202 Accepted only then.
type Inbound struct {
	cfg   InboundConfig
	log   *slog.Logger
	dedup *dedup
	stats inboundStats
	// serverHeader goes in every answer; acceptedHeaders are a 202's.
	serverHeader    sip.Header
	acceptedHeaders []sip.Header
}

// NewInbound checks cfg and fills its defaults. It starts nothing.
func NewInbound(cfg InboundConfig) (*Inbound, error) {
	if cfg.Trunks == nil || cfg.Store == nil {
		return nil, errors.New("pager: inbound needs Trunks and a Store")
	}
	setDur(&cfg.AcceptTimeout, DefaultAcceptTimeout)
	setDur(&cfg.DedupTTL, DefaultDedupTTL)
	setInt(&cfg.DedupSize, DefaultDedupSize)
	if cfg.ServerName == "" {
		cfg.ServerName = "iwf"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	server := sip.NewHeader("Server", cfg.ServerName)
	return &Inbound{
		cfg:             cfg,
		log:             log.With("component", "pager"),
		dedup:           newDedup(cfg.DedupTTL, cfg.DedupSize),
		serverHeader:    server,
		acceptedHeaders: []sip.Header{server},
	}, nil
}

// Register installs the MESSAGE handler on srv; call it before the server
// serves. ctx is the run context: once it ends, MESSAGEs are answered 503
// with Retry-After, and Accept calls derive their deadline from it.
func (in *Inbound) Register(ctx context.Context, srv *sipgo.Server) {
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		in.Handle(ctx, req, tx)
	})
}

// RegisterStack installs the MESSAGE handler on st: over tcp and tls on
// its sipgo server, as Register does, and over udp as a stateless UAS
// (RFC 3261 section 8.2.7), without a sipgo server transaction per
// MESSAGE. A retransmission then reaches Handle again; the deduplication
// of accept answers it as the first copy was answered, without a second
// Accept. SMS over IP MESSAGEs stay on the server transaction: their
// answer at the relay layer (an RP-ACK sent as a MESSAGE of our own)
// must not go out again for a retransmission.
func (in *Inbound) RegisterStack(ctx context.Context, st *sipstack.Stack) {
	in.Register(ctx, st.Server())
	st.HandleStatelessUDP(sip.MESSAGE, sipstack.StatelessHandler{
		Take: func(req *sip.Request) bool {
			ct := req.ContentType()
			return ct == nil || !isSMSType(ct.Value())
		},
		Handle: func(req *sip.Request, r sipstack.Responder) { in.Handle(ctx, req, r) },
	})
}

// Handle answers one MESSAGE request through tx, a sipgo server
// transaction or a stateless answer.
func (in *Inbound) Handle(ctx context.Context, req *sip.Request, tx sipstack.Responder) {
	m, dup, err := in.receive(ctx, req)
	res := in.answer(err)
	in.stats.count(res.status, dup)
	// The accepted path is the hot one: its debug line costs nothing
	// unless debug is on (no per-request logger, no attributes built).
	switch {
	case err == nil && m != nil:
		if in.log.Enabled(ctx, slog.LevelDebug) {
			in.log.Debug("message accepted", "call_id", callID(req), "status", res.status,
				"partner", m.Partner, "message_id", m.ID, "duplicate", dup)
		}
	case res.status >= 500:
		in.log.Warn("message not accepted", "call_id", callID(req), "status", res.status, "error", err)
	default:
		if in.log.Enabled(ctx, slog.LevelDebug) {
			in.log.Debug("message refused", "call_id", callID(req), "status", res.status, "error", err)
		}
	}
	if err := res.send(req, tx); err != nil {
		in.log.Debug("respond failed", "call_id", callID(req), "error", err)
	}
	if err == nil && m != nil && m.SMS != nil && m.SMS.needsReply() {
		in.replySMS(ctx, m)
	}
}

func callID(req *sip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// requestError is a refusal with its status, reason and extra headers.
type requestError struct {
	status  int
	reason  string
	headers []sip.Header
}

func (e *requestError) Error() string {
	return "pager: " + strconv.Itoa(e.status) + " " + e.reason
}

func (e *requestError) SIPStatus() int { return e.status }

func refuse(status int, reason string, headers ...sip.Header) error {
	return &requestError{status: status, reason: reason, headers: headers}
}

// receive checks req and hands its message to the Store. It returns the
// message, whether it was a duplicate, and the error that chooses a
// failure answer.
func (in *Inbound) receive(ctx context.Context, req *sip.Request) (*Message, bool, error) {
	if ctx.Err() != nil {
		return nil, false, refuse(503, "shutting down", sip.NewHeader("Retry-After", strconv.Itoa(drainRetryAfter)))
	}
	// Source first: a peer that is not a partner learns nothing more
	// (the trunk's allowed networks, design "Partners").
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil, false, refuse(403, "unknown source "+req.Source())
	}
	tr := in.cfg.Trunks.bySource(src.Addr())
	if tr == nil {
		return nil, false, refuse(403, "source "+src.Addr().String()+" is no partner's")
	}
	m, err := in.check(req, tr)
	if err != nil {
		return nil, false, err
	}
	m.ReceivedAt = in.cfg.Now()
	if m.SMS != nil && (m.SMS.Cause != 0 || isSMMA(m.SMS)) {
		return m, false, nil // answered at the relay layer only (smsip.go)
	}
	dup, err := in.accept(ctx, m)
	if err != nil && m.SMS != nil && m.SMS.needsReply() {
		m.SMS.Cause, err = causeOf(err), nil
	}
	return m, dup, err
}

// check validates the request in the order of RFC 3261 section 8.2 and
// builds the Message.
func (in *Inbound) check(req *sip.Request, tr *trunk) (*Message, error) {
	from, to, cid, cseq := req.From(), req.To(), req.CallID(), req.CSeq()
	switch {
	case from == nil:
		return nil, refuse(400, "missing From")
	case to == nil:
		return nil, refuse(400, "missing To")
	case cid == nil || cid.Value() == "":
		return nil, refuse(400, "missing Call-ID")
	case cseq == nil:
		return nil, refuse(400, "missing CSeq")
	case cseq.MethodName != sip.MESSAGE:
		return nil, refuse(400, "CSeq method "+string(cseq.MethodName)+" in a MESSAGE")
	}
	// RFC 3261 section 8.1.1.3: the From tag is mandatory; it is part of
	// the deduplication key.
	tag, _ := from.Params.Get("tag")
	if tag == "" {
		return nil, refuse(400, "From without tag")
	}
	// Section 8.2.2.1: a Request-URI scheme we cannot serve.
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return nil, refuse(416, "Request-URI scheme "+req.Recipient.Scheme)
	}
	// Section 8.2.2.3: no extension is supported, so any Require is
	// answered 420 naming it in Unsupported.
	if h := req.GetHeader("Require"); h != nil && strings.TrimSpace(h.Value()) != "" {
		return nil, refuse(420, "Bad Extension", sip.NewHeader("Unsupported", h.Value()))
	}
	// Section 8.2.3: only the identity content coding is understood.
	for _, name := range []string{"Content-Encoding", "e"} {
		if h := req.GetHeader(name); h != nil && !strings.EqualFold(strings.TrimSpace(h.Value()), "identity") {
			return nil, refuse(415, "content coding "+h.Value(), sip.NewHeader("Accept-Encoding", "identity"))
		}
	}
	b := req.Body()
	if len(b) > tr.MaxBodyBytes {
		return nil, refuse(413, "body of "+strconv.Itoa(len(b))+" bytes over "+strconv.Itoa(tr.MaxBodyBytes))
	}
	if len(b) == 0 {
		return nil, refuse(400, "empty body: nothing to deliver")
	}
	ct := req.ContentType()
	if ct == nil {
		// Section 7.4.1: a body MUST come with its Content-Type.
		return nil, refuse(400, "body without Content-Type")
	}
	var (
		content body.Content
		sms     *SMSOverIP
		smsTo   address.Address
		err     error
	)
	if tr.SMSOverIP && isSMSType(ct.Value()) {
		sms, smsTo, err = decodeSMS(b, tr) // smsip.go
	} else {
		content, err = body.Decode(ct.Value(), b)
	}
	if err != nil {
		return nil, err
	}
	sender := uriString(&from.Address)
	if tr.TrustAssertedIdentity {
		if pai := req.GetHeader("P-Asserted-Identity"); pai != nil {
			// RFC 3325 section 9.1: one or two values (a sip and a tel
			// URI); the first names the sender.
			sender, _, _ = strings.Cut(pai.Value(), ",")
		}
	}
	fromAddr, err := address.Parse(sender, tr.Numbering)
	if err != nil {
		return nil, refuse(400, "From: "+err.Error())
	}
	toAddr, err := address.Parse(uriString(&to.Address), tr.Numbering)
	if sms != nil {
		// The To of an SMS over IP MESSAGE is the service centre; an
		// SMS-SUBMIT names its recipient in TP-DA.
		sms.CallID = cid.Value()
		toAddr, err = smsTo, nil
	}
	if err != nil {
		return nil, refuse(400, "To: "+err.Error())
	}
	mt, _, _ := strings.Cut(strings.ToLower(ct.Value()), ";")
	var doc []byte
	if content.CPIM != nil {
		doc = bytes.Clone(b)
	}
	return &Message{
		ID:           DedupID(tr.Partner, cid.Value(), cseq.SeqNo, tag),
		Partner:      tr.Partner,
		From:         fromAddr,
		To:           toAddr,
		Text:         content.Text,
		ContentType:  strings.TrimSpace(mt),
		IMDN:         content.IMDN,
		CPIM:         doc,
		Notification: content.Notification,
		CallID:       cid.Value(),
		CSeq:         cseq.SeqNo,
		FromTag:      tag,
		SMS:          sms,
	}, nil
}

// uriString is u.String() in one allocation: sipgo's String grows its
// builder a piece at a time, a dozen allocations for a URI with
// parameters, on every MESSAGE.
func uriString(u *sip.Uri) string {
	var b strings.Builder
	b.Grow(len(u.Scheme) + len(u.User) + len(u.Host) + 64)
	u.StringWrite(&b)
	return b.String()
}

// accept hands m to the Store once however many copies arrive: the first
// copy calls Accept, the others wait for its answer. It reports whether m
// was a duplicate.
func (in *Inbound) accept(ctx context.Context, m *Message) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.AcceptTimeout)
	defer cancel()
	e, first := in.dedup.begin(m.ID, in.cfg.Now())
	if !first {
		err := e.wait(ctx)
		return err == nil, in.storeError(err)
	}
	err := in.cfg.Store.Accept(ctx, m)
	dup := errors.Is(err, ErrDuplicate)
	if dup {
		err = nil
	}
	in.dedup.finish(m.ID, e, err)
	return dup, in.storeError(err)
}

// storeError maps a failed Accept: a timeout (the store did not answer in
// time) is a 503 the sender retries, deduplicated.
func (in *Inbound) storeError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &StatusError{Status: 503, RetryAfter: 1, Err: err}
	}
	return err
}

// response is an answer to a MESSAGE: its status, reason phrase and the
// headers it adds to those copied from the request.
type response struct {
	status  int
	reason  string
	headers []sip.Header
}

// send answers req through tx: straight from the request's headers when
// tx can (the stateless answer over UDP), else as a sip.Response.
func (r response) send(req *sip.Request, tx sipstack.Responder) error {
	if sr, ok := tx.(sipstack.StatusResponder); ok {
		return sr.RespondStatus(r.status, r.reason, r.headers...)
	}
	res := sip.NewResponseFromRequest(req, r.status, r.reason, nil)
	for _, h := range r.headers {
		res.AppendHeader(h)
	}
	return tx.Respond(res)
}

// answer is the response for err: 202 Accepted for nil (RFC 3428
// section 7: accepted for delivery, not yet delivered), else the status
// the error names (SIPStatus) or 500, with a Warning saying why (RFC
// 3261 section 20.43, code 399: miscellaneous) in the words of warnText.
func (in *Inbound) answer(err error) response {
	if err == nil {
		// Headers are shared by every answer: nothing writes to them.
		return response{status: 202, reason: "Accepted", headers: in.acceptedHeaders}
	}
	status := 500
	var sc interface{ SIPStatus() int }
	if errors.As(err, &sc) {
		status = sc.SIPStatus()
	}
	if status < 300 || status > 699 {
		status = 500
	}
	res := response{status: status, reason: sipstack.ReasonPhrase(status), headers: []sip.Header{in.serverHeader}}
	var re *requestError
	if errors.As(err, &re) {
		res.headers = append(res.headers, re.headers...)
	}
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		res.headers = append(res.headers, sip.NewHeader("Retry-After", strconv.Itoa(se.RetryAfter)))
	}
	if status == 415 && !slices.ContainsFunc(res.headers, func(h sip.Header) bool {
		return strings.EqualFold(h.Name(), "Accept") || strings.EqualFold(h.Name(), "Accept-Encoding")
	}) {
		// RFC 3261 section 21.4.13 / RFC 3428 section 7: say what is
		// accepted.
		res.headers = append(res.headers, sip.NewHeader("Accept", body.Accept))
	}
	warning := strings.NewReplacer(`"`, `'`, "\r", " ", "\n", " ").Replace(warnText(err, status))
	res.headers = append(res.headers, sip.NewHeader("Warning", `399 `+in.cfg.ServerName+` "`+warning+`"`))
	return res
}

// warnText is what the Warning of a failure answer tells the peer: what
// is wrong with its request, in our words (a refusal of check, the body
// codec's account of the body), or the text of an error that offers one
// for peers (SIPWarning). Any other error, the Store's above all, stays
// in our logs: its text can name our hosts and ports or carry Go errors
// (RFC 3261 section 20.43 makes the warn-text for people, not for
// debugging); the peer reads the reason phrase.
func warnText(err error, status int) string {
	var (
		re *requestError
		ue *body.UnsupportedError
		pe *body.ParseError
		pw interface{ SIPWarning() string }
	)
	switch {
	case errors.As(err, &re):
		return re.reason
	case errors.As(err, &ue):
		return ue.Error()
	case errors.As(err, &pe):
		return pe.Error()
	case errors.As(err, &pw):
		return pw.SIPWarning()
	}
	return sipstack.ReasonPhrase(status)
}

// InboundStats counts answers to MESSAGE requests since start.
type InboundStats struct {
	// Accepted counts 202 answers, Duplicates those of them that queued
	// nothing new.
	Accepted, Duplicates uint64
	// Refused counts failure answers by status.
	Refused map[int]uint64
}

type inboundStats struct {
	accepted, duplicates atomic.Uint64
	mu                   sync.Mutex
	refused              map[int]uint64
}

func (s *inboundStats) count(status int, dup bool) {
	if status < 300 {
		s.accepted.Add(1)
		if dup {
			s.duplicates.Add(1)
		}
		return
	}
	s.mu.Lock()
	if s.refused == nil {
		s.refused = map[int]uint64{}
	}
	s.refused[status]++
	s.mu.Unlock()
}

// Stats returns the counters, for the status endpoint.
func (in *Inbound) Stats() InboundStats {
	st := InboundStats{Accepted: in.stats.accepted.Load(), Duplicates: in.stats.duplicates.Load(), Refused: map[int]uint64{}}
	in.stats.mu.Lock()
	for k, v := range in.stats.refused {
		st.Refused[k] = v
	}
	in.stats.mu.Unlock()
	return st
}
