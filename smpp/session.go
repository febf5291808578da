package smpp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/pdu"
)

// A session is one SMPP connection, for either side: the server's end of a
// partner bind (role smsc) or one of the client's binds (role esme). It
// owns the socket, the read loop, request/response correlation by
// sequence number, the window of outstanding requests and the inbound
// message handlers. Owners (server.go, client.go) decide what a bind
// means; the session only moves PDUs.

// bindKind is the bind type of a session (SMPP 3.4 2.2).
type bindKind uint32

const (
	kindNone bindKind = iota
	kindReceiver
	kindTransmitter
	kindTransceiver
)

func (k bindKind) String() string {
	switch k {
	case kindReceiver:
		return "receiver"
	case kindTransmitter:
		return "transmitter"
	case kindTransceiver:
		return "transceiver"
	}
	return "open"
}

// submits tells whether the ESME end may send submit_sm on this bind.
func (k bindKind) submits() bool { return k == kindTransmitter || k == kindTransceiver }

// delivers tells whether the SMSC end may send deliver_sm on this bind.
func (k bindKind) delivers() bool { return k == kindReceiver || k == kindTransceiver }

func bindCommand(k bindKind) uint32 {
	switch k {
	case kindReceiver:
		return CmdBindReceiver
	case kindTransmitter:
		return CmdBindTransmitter
	}
	return CmdBindTransceiver
}

func kindOf(cmd uint32) bindKind {
	switch cmd &^ respBit {
	case CmdBindReceiver:
		return kindReceiver
	case CmdBindTransmitter:
		return kindTransmitter
	case CmdBindTransceiver:
		return kindTransceiver
	}
	return kindNone
}

var (
	errIdle        = errors.New("smpp: peer idle past the idle timeout")
	errBindTimeout = errors.New("smpp: no bind within the bind timeout")
	errUnbound     = errors.New("smpp: unbound")
)

type sessionOpts struct {
	log     *slog.Logger
	maxPDU  int
	window  int // outgoing windowed requests
	inbound int // inbound messages handled at once
	// inboundCmd is the message request this end handles: CmdSubmitSM on
	// the server, CmdDeliverSM on the client.
	inboundCmd     uint32
	respTimeout    time.Duration
	handlerTimeout time.Duration
	// handle stores an inbound message and returns its message_id.
	handle func(ctx context.Context, m *Message) (string, error)
	// bind answers a bind request in the open state (server only); it
	// returns the command_status and, on success, the kind to enter.
	bind func(s *session, req *pdu.BindRequest) uint32
	// bound, when set, is called once a bind that bind accepted is in
	// force: its bind_resp queued (not yet written) and the session able
	// to carry traffic.
	bound func()
	// ourID is the system_id written in bind responses.
	ourID    string
	counters *counters
	// writeQueue caps the answers waiting to be written; default
	// DefaultWriteQueue.
	writeQueue int
	// yield lets goroutines that are ready to queue frames run before
	// the writer takes the queue; runtime.Gosched unless a test steps it.
	yield func()
	// under is the connection below any wrapper (a listener's budget
	// accounting), for CloseWrite; nc when unset.
	under net.Conn
}

type response struct {
	h   header
	p   pdu.PDU
	err error
}

type call struct {
	seq uint32
	// win is the window the call holds a slot in, nil outside it.
	win  chan struct{}
	done chan response
}

func (c *call) release() {
	if c.win != nil {
		<-c.win
	}
}

type session struct {
	opts sessionOpts
	nc   net.Conn
	br   *bufio.Reader
	// ctx is the run context handlers derive from: a handler finishes its
	// store write even if the connection dies meanwhile.
	ctx context.Context

	out  outbox
	seq  atomic.Uint32
	kind atomic.Uint32
	// legacy is set when the peer bound with interface_version 0x33 or
	// lower (SMPP 3.4 5.2.4): it knows no TLVs, so none are sent to it.
	legacy atomic.Bool
	start  time.Time
	last   atomic.Int64 // unix nanoseconds of the last PDU read

	mu sync.Mutex
	// window holds a slot per outstanding windowed request, slots one per
	// inbound message being handled. The server sizes them at bind time.
	window    chan struct{}
	slots     chan struct{}
	pending   map[uint32]*call
	closing   bool // no new requests either way
	unbinding bool
	err       error
	dead      chan struct{}
	handlers  sync.WaitGroup // inbound message handlers
	aux       sync.WaitGroup // watchdog, unbind responder
}

// newSession starts the session's writer: whoever makes a session must
// end it with fail (readLoop does) so that the writer returns.
func newSession(ctx context.Context, nc net.Conn, o sessionOpts) *session {
	now := time.Now()
	if o.under == nil {
		o.under = nc
	}
	if o.writeQueue <= 0 {
		o.writeQueue = DefaultWriteQueue
	}
	if o.yield == nil {
		o.yield = runtime.Gosched
	}
	s := &session{
		opts:    o,
		nc:      nc,
		br:      bufio.NewReaderSize(nc, 16<<10),
		ctx:     ctx,
		start:   now,
		pending: make(map[uint32]*call),
		dead:    make(chan struct{}),
	}
	s.out.wake = make(chan struct{}, 1)
	s.last.Store(now.UnixNano())
	s.setLimits(o.window, o.inbound)
	s.aux.Add(1)
	go s.writeLoop()
	return s
}

func (s *session) bound() bindKind { return bindKind(s.kind.Load()) }

// nextSeq returns the next sequence number, 1..0x7FFFFFFF (SMPP 3.4
// 5.1.4: "The sequence_number ... should be monotonically increasing").
func (s *session) nextSeq() uint32 {
	for {
		if n := s.seq.Add(1) & 0x7FFFFFFF; n != 0 {
			return n
		}
	}
}

// fail records the first error and tears the connection down: pending
// requests are answered with ErrConnectionLost.
func (s *session) fail(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	s.closing = true
	pend := s.pending
	s.pending = map[uint32]*call{}
	s.mu.Unlock()
	close(s.dead)
	_ = s.nc.Close()
	for _, c := range pend {
		c.release()
		c.done <- response{err: ErrConnectionLost}
	}
}

// untilDead returns a context that ends with the session, for waits
// on its behalf (a bind's back-off).
func (s *session) untilDead() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(s.ctx)
	go func() {
		select {
		case <-s.dead:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// cause is the error that ended the session, nil while it lives.
func (s *session) cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// setLimits sizes the window and the inbound slots; the server calls it
// when a bind tells which partner the session belongs to.
func (s *session) setLimits(window, inbound int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window = make(chan struct{}, max(window, 1))
	s.slots = make(chan struct{}, max(inbound, 1))
}

// acquire takes a window slot for a request (SMPP 3.4 2.8: the window is
// the number of requests outstanding without a response) and returns the
// window to pass to send.
func (s *session) acquire(ctx context.Context) (chan struct{}, error) {
	s.mu.Lock()
	w := s.window
	s.mu.Unlock()
	select {
	case <-s.dead:
		return nil, ErrClosed
	default:
	}
	select {
	case w <- struct{}{}:
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.dead:
		return nil, ErrClosed
	}
}

// send writes a request under a new sequence number and registers it. A
// windowed request passes the window it holds a slot in (from acquire);
// the slot is freed when the response comes or the call is forgotten. An
// error means the request was not sent (it may be retried elsewhere); the
// slot is freed then too.
func (s *session) send(frame []byte, win chan struct{}, control bool) (*call, error) {
	seq := s.nextSeq()
	setSeq(frame, seq)
	c := &call{seq: seq, win: win, done: make(chan response, 1)}
	s.mu.Lock()
	if s.err != nil || (s.closing && !control) {
		s.mu.Unlock()
		c.release()
		return nil, ErrClosed
	}
	s.pending[seq] = c
	s.mu.Unlock()
	// Requests are not counted against the write queue: the window
	// bounds them.
	if err := s.enqueue(outFrame{b: frame}); err != nil {
		s.forget(c)
		return nil, err
	}
	return c, nil
}

// forget drops a call nobody waits for any more and frees its slot.
func (s *session) forget(c *call) {
	s.mu.Lock()
	own := s.pending[c.seq] == c
	if own {
		delete(s.pending, c.seq)
	}
	s.mu.Unlock()
	if own {
		c.release()
	}
}

// wait waits for the response to c, at most the response timeout.
func (s *session) wait(ctx context.Context, c *call) response {
	t := time.NewTimer(s.opts.respTimeout)
	defer t.Stop()
	var err error
	select {
	case r := <-c.done:
		return r
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = ErrResponseTimeout
	}
	s.forget(c)
	select {
	case r := <-c.done: // the response won the race with the timer
		return r
	default:
		return response{err: err}
	}
}

// request sends a PDU outside the window (binds, enquire_link, unbind)
// and waits for its response.
func (s *session) request(ctx context.Context, p pdu.PDU, control bool) response {
	c, err := s.send(marshal(p, 0), nil, control)
	if err != nil {
		return response{err: err}
	}
	return s.wait(ctx, c)
}

func (s *session) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// readLoop reads PDUs until the connection ends, then fails the session
// and waits for its handlers. It returns the error that ended it.
func (s *session) readLoop() error {
	err := s.read()
	// The peer may have ended only its side (a half-close, even in the
	// middle of a PDU): what is queued for it goes out before the
	// connection closes, as it did when answers were written at once. A
	// session that failed already, or a peer that does not read, ends
	// the wait.
	s.flush()
	s.fail(err)
	s.handlers.Wait()
	s.aux.Wait()
	return s.cause()
}

func (s *session) read() error {
	var buf []byte
	for {
		frame, err := readFrame(s.br, buf, s.opts.maxPDU)
		if err != nil {
			var le *LengthError
			if errors.As(err, &le) {
				// SMPP 3.4 3.3: a bad command_length is answered with
				// generic_nack; the stream is lost, so the connection
				// closes after it.
				s.opts.counters.nacks.Add(1)
				_ = s.writeWait(headerOnly(CmdGenericNack, StatusInvCmdLen, parseHeader(frame).Seq))
				s.opts.log.Warn("smpp: bad command_length, closing", "error", err)
			}
			if errors.Is(err, io.EOF) && s.isClosing() {
				return errUnbound
			}
			return err
		}
		buf = frame
		s.last.Store(time.Now().UnixNano())
		h := parseHeader(frame)
		if h.Command&respBit != 0 {
			s.onResponse(h, frame)
			continue
		}
		if err := s.onRequest(h, frame); err != nil {
			return err
		}
	}
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *session) onResponse(h header, frame []byte) {
	s.mu.Lock()
	c := s.pending[h.Seq]
	if c != nil {
		delete(s.pending, h.Seq)
	}
	s.mu.Unlock()
	if c == nil {
		s.opts.log.Debug("smpp: response without request", "command", CommandName(h.Command), "smpp_seq", h.Seq)
		return
	}
	c.release()
	r := response{h: h}
	if h.Command != CmdGenericNack && h.Status == StatusOK {
		r.p, r.err = parseGeneric(frame)
	}
	c.done <- r
}

// onRequest answers a request; an error ends the read loop.
func (s *session) onRequest(h header, frame []byte) error {
	kind := s.bound()
	switch h.Command {
	case CmdEnquireLink:
		// SMPP 3.4 4.11: either end may probe the link in any state.
		_ = s.write(headerOnly(CmdEnquireLinkResp, StatusOK, h.Seq))
		return nil
	case CmdUnbind:
		if kind == kindNone {
			return s.nack(h, StatusInvBndSts)
		}
		s.peerUnbind(h.Seq)
		return nil
	case CmdBindReceiver, CmdBindTransmitter, CmdBindTransceiver:
		return s.onBind(h, frame)
	case CmdAlertNotification:
		// SMPP 3.4 4.12: alert_notification has no response.
		s.opts.log.Debug("smpp: alert_notification ignored", "smpp_seq", h.Seq)
		return nil
	case s.opts.inboundCmd, CmdDataSM:
		// data_sm (SMPP 3.4 4.7) travels both ways: from an ESME it is
		// a submit, from an SMSC a delivery.
		if kind == kindNone {
			return s.answer(h, StatusInvBndSts, "")
		}
		s.onMessage(h, frame, kind)
		return nil
	}
	if kind == kindNone {
		if commandName(h.Command) == "" {
			// SMPP 3.4 5.1.3: a command_id that SMPP does not define is
			// ESME_RINVCMDID, bound or not.
			return s.nack(h, StatusInvCmdID)
		}
		// SMPP 3.4 2.3: only binds are allowed before the bind.
		return s.nack(h, StatusInvBndSts)
	}
	if s.opts.bind != nil {
		switch h.Command {
		case CmdQuerySM, CmdCancelSM, CmdReplaceSM:
			return s.onManage(h, frame, kind)
		}
	}
	// Unknown commands, and the ones this gateway does not take
	// (submit_multi, outbind, a deliver_sm sent to the SMSC end...): SMPP
	// 3.4 3.3 generic_nack with ESME_RINVCMDID.
	return s.nack(h, StatusInvCmdID)
}

// onManage answers the message management requests an ESME may send
// the SMSC end (SMPP 3.4 4.8-4.10) with their own responses. Messages
// are handed on as soon as they are stored, so none can be cancelled or
// replaced, and their state is not kept here: query_sm is answered
// UNKNOWN (5.2.28), cancel_sm ESME_RCANCELFAIL, replace_sm
// ESME_RREPLACEFAIL.
func (s *session) onManage(h header, frame []byte, kind bindKind) error {
	resp := h.Command | respBit
	if !kind.submits() {
		return s.write(headerOnly(resp, StatusInvBndSts, h.Seq))
	}
	switch h.Command {
	case CmdCancelSM:
		return s.write(headerOnly(resp, StatusCancelFail, h.Seq))
	case CmdReplaceSM:
		return s.write(headerOnly(resp, StatusReplaceFail, h.Seq))
	}
	p, err := parseGeneric(frame)
	q, _ := p.(*pdu.QuerySM)
	if err != nil || q == nil {
		return s.nack(h, StatusOf(err))
	}
	r := pdu.NewQuerySMResp().(*pdu.QuerySMResp)
	r.MessageID, r.FinalDate, r.MessageState, r.ErrorCode = q.MessageID, "", MessageStateUnknown, 0
	return s.write(marshal(r, h.Seq))
}

func (s *session) nack(h header, status uint32) error {
	s.opts.counters.nacks.Add(1)
	s.opts.log.Debug("smpp: generic_nack", "command", CommandName(h.Command), "status", StatusName(status), "smpp_seq", h.Seq)
	_ = s.write(headerOnly(CmdGenericNack, status, h.Seq))
	return nil
}

func (s *session) onBind(h header, frame []byte) error {
	if s.opts.bind == nil {
		// The client end never accepts binds.
		return s.nack(h, StatusInvCmdID)
	}
	p, err := parseGeneric(frame)
	if err != nil {
		return s.nack(h, StatusOf(err))
	}
	req, _ := p.(*pdu.BindRequest)
	if req == nil {
		return s.nack(h, StatusInvCmdID)
	}
	status := StatusAlyBnd // SMPP 3.4 5.1.3: "ESME Already in Bound State"
	if s.bound() == kindNone {
		status = s.opts.bind(s, req)
	}
	resp := req.GetResponse().(*pdu.BindResp)
	resp.CommandStatus = statusType(status)
	resp.SystemID = s.opts.ourID
	legacy := req.InterfaceVersion < Version34
	if status == StatusOK && !legacy {
		// SMPP 3.4 5.3.2.25: the SMSC tells an ESME that bound as 3.4
		// which version it speaks; a 3.3 ESME gets no TLV at all.
		resp.RegisterOptionalParam(pdu.Field{Tag: pdu.Tag(TagSCInterfaceVersion), Data: []byte{Version34}})
	}
	out := marshal(resp, h.Seq)
	if status != StatusOK && h.Command != CmdBindTransceiver {
		// SMPP 3.4 leaves the body of a failed bind response open.
		// Clients such as gosmpp read none after an error status for
		// transmitter and receiver binds (and fail on the bytes), but do
		// read system_id from a transceiver response: send what they read.
		out = headerOnly(h.Command|respBit, status, h.Seq)
	}
	if status == StatusOK {
		// Bound once the response is queued, before the writer can take
		// it: a deliver_sm sent by another goroutine as soon as it sees
		// the bind goes out after the bind_resp, and a peer that read the
		// bind_resp finds the bind in force (on the server's Status too).
		// The peer's next request is read after this returns, so it
		// finds the session bound.
		return s.enqueue(outFrame{b: out, answer: true, queued: func() {
			s.legacy.Store(legacy)
			s.kind.Store(uint32(kindOf(h.Command)))
			if s.opts.bound != nil {
				s.opts.bound()
			}
		}})
	}
	if status == StatusAlyBnd {
		return s.write(out) // the existing bind stays
	}
	// The connection closes after this answer: it has to be written
	// first.
	if werr := s.writeWait(out); werr != nil {
		return werr
	}
	// A refused bind ends the connection: a partner guessing passwords
	// has to reconnect for every guess.
	return &StatusError{Command: h.Command | respBit, Status: status}
}

// onMessage runs the handler for an inbound submit_sm / deliver_sm and
// answers after it returns: the response promises the message is stored.
func (s *session) onMessage(h header, frame []byte, kind bindKind) {
	allowed := kind.submits()
	if s.opts.inboundCmd == CmdDeliverSM {
		allowed = kind.delivers()
	}
	if !allowed {
		_ = s.answer(h, StatusInvBndSts, "")
		return
	}
	decode := DecodeMessage
	if h.Command == CmdDataSM {
		decode = DecodeDataSM
	}
	m, err := decode(frame)
	if err == nil {
		err = m.checkInbound()
	}
	if err != nil {
		s.opts.counters.inFailed.Add(1)
		s.opts.log.Info("smpp: undecodable message", "error", err, "smpp_seq", h.Seq)
		_ = s.answer(h, StatusOf(err), "")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = s.answer(h, StatusThrottled, "")
		return
	}
	slots := s.slots
	select {
	case slots <- struct{}{}:
	default:
		// More requests outstanding than the window allows (SMPP 3.4
		// 2.8): refuse with ESME_RTHROTTLED so the peer backs off.
		s.mu.Unlock()
		s.opts.counters.inThrottled.Add(1)
		_ = s.answer(h, StatusThrottled, "")
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.handlers.Done()
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.handlerTimeout)
		id, err := s.opts.handle(ctx, m)
		cancel()
		// Free the slot before answering: a peer whose window is exactly
		// ours sends its next request as soon as it reads this answer.
		<-slots
		status := StatusOf(err)
		if err != nil {
			s.opts.counters.inFailed.Add(1)
			s.opts.log.Warn("smpp: message not taken", "command", CommandName(h.Command), "status", StatusName(status), "error", err, "smpp_seq", h.Seq)
		} else {
			s.opts.counters.inOK.Add(1)
		}
		_ = s.answer(h, status, id)
	}()
}

// answer writes the response to an inbound message.
func (s *session) answer(h header, status uint32, messageID string) error {
	if h.Command == CmdDataSM {
		// data_sm_resp keeps its message_id field with an error status
		// too (SMPP 3.4 4.7.2 has no exception as 4.4.2 has), empty.
		r := pdu.NewDataSMResp().(*pdu.DataSMResp)
		r.CommandStatus = statusType(status)
		r.MessageID = ""
		if status == StatusOK {
			r.MessageID = messageID
		}
		return s.write(marshal(r, h.Seq))
	}
	if h.Command == CmdSubmitSM {
		if status != StatusOK {
			// SMPP 3.4 4.4.2: no body with an error status.
			return s.write(headerOnly(CmdSubmitSMResp, status, h.Seq))
		}
		return s.write(respFrame(CmdSubmitSMResp, StatusOK, h.Seq, messageID))
	}
	// deliver_sm_resp carries a NULL message_id (SMPP 3.4 4.6.2).
	return s.write(respFrame(CmdDeliverSMResp, status, h.Seq, ""))
}

// peerUnbind answers the peer's unbind once the handlers in flight have
// answered (SMPP 3.4 4.2), then half-closes; the read loop ends when the
// peer closes its side or the idle watchdog fires.
func (s *session) peerUnbind(seq uint32) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.aux.Add(1)
	go func() {
		defer s.aux.Done()
		s.handlers.Wait()
		if s.enqueue(outFrame{b: headerOnly(CmdUnbindResp, StatusOK, seq), answer: true, closeWrite: true}) != nil {
			return
		}
		// Give the peer a moment to close first, then close ourselves.
		t := time.NewTimer(s.opts.respTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			s.fail(errUnbound)
		case <-s.dead:
		}
	}()
}

// unbind ends the session gracefully: no new requests, the handlers in
// flight answer, the requests in flight get their responses (at most the
// response timeout), then unbind / unbind_resp and close (SMPP 3.4 4.2).
func (s *session) unbind(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.respTimeout+s.opts.handlerTimeout)
	defer cancel()
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	again, peer := s.unbinding, s.closing
	s.unbinding, s.closing = true, true
	s.mu.Unlock()
	if again || peer {
		// Another unbind, ours or the peer's, is under way.
		select {
		case <-s.dead:
		case <-ctx.Done():
			s.fail(errUnbound)
		}
		return
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	case <-s.dead:
	}
	// Holding every window slot means no windowed request is outstanding.
	s.mu.Lock()
	w := s.window
	s.mu.Unlock()
	for range cap(w) {
		if _, err := s.acquire(ctx); err != nil {
			break
		}
	}
	if s.bound() != kindNone {
		s.request(ctx, pdu.NewUnbind(), true)
	}
	s.fail(errUnbound)
	<-done
}

// watchdog ends a session that does not bind within bindTimeout or reads
// nothing for idle. Zero disables either check.
func (s *session) watchdog(bindTimeout, idle time.Duration) {
	period := max(min(nonZero(bindTimeout, idle), nonZero(idle, bindTimeout))/4, 10*time.Millisecond)
	s.aux.Add(1)
	go func() {
		defer s.aux.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.dead:
				return
			case now := <-t.C:
				if bindTimeout > 0 && s.bound() == kindNone && now.Sub(s.start) > bindTimeout {
					s.fail(errBindTimeout)
					return
				}
				if idle > 0 && now.Sub(time.Unix(0, s.last.Load())) > idle {
					s.fail(errIdle)
					return
				}
			}
		}
	}()
}

// prober sends enquire_link on a bound session the peer has sent nothing
// on for interval (SMPP 3.4 4.11: either end may probe), so that a dead
// peer or a NAT that dropped the flow is found before a message is
// lost to it. An unanswered probe ends the session. Zero disables it.
func (s *session) prober(interval time.Duration) {
	if interval <= 0 {
		return
	}
	s.aux.Add(1)
	go func() {
		defer s.aux.Done()
		t := time.NewTicker(max(interval/4, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-s.dead:
				return
			case now := <-t.C:
				if s.bound() == kindNone || s.isClosing() || now.Sub(time.Unix(0, s.last.Load())) < interval {
					continue
				}
				ctx, cancel := s.untilDead()
				r := s.request(ctx, pdu.NewEnquireLink(), false)
				cancel()
				if errors.Is(r.err, ErrResponseTimeout) {
					s.fail(fmt.Errorf("smpp: enquire_link: %w", r.err))
					return
				}
			}
		}
	}()
}

func nonZero(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}
