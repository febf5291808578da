// Package smpptest is an SMSC for tests, in the style of net/http/httptest:
// NewServer listens on 127.0.0.1:0 and serves at once, Addr says where,
// Close stops it. It records every submit_sm, answers binds, enquire_link
// and unbind, injects deliver_sm (MO messages and delivery receipts), and
// misbehaves on demand: the next N submits answered with a chosen status
// (ESME_RTHROTTLED, ESME_RMSGQFUL...), responses held back to fill an
// ESME's window, connections dropped.
//
// It is built on github.com/linxGnu/gosmpp's PDU codec only, not on package
// smpp, so that it checks the client against an independent reading of
// SMPP 3.4.
package smpptest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// SMPP 3.4 command_status values tests use most.
const (
	StatusOK        uint32 = 0x00
	StatusSysErr    uint32 = 0x08
	StatusInvPaswd  uint32 = 0x0E
	StatusMsgQFul   uint32 = 0x14
	StatusThrottled uint32 = 0x58
)

// Config tunes a Server.
type Config struct {
	// SystemID and Password, when set, are required of binds.
	SystemID, Password string
	// MaxPDULen bounds command_length; default 64 KiB.
	MaxPDULen int
}

// Submit is one recorded submit_sm.
type Submit struct {
	// Frame is the PDU as received, header included.
	Frame []byte
	// PDU is gosmpp's reading of it.
	PDU *pdu.SubmitSM
	// SystemID is the bind it came on.
	SystemID string
	// MessageID is what the response carried ("" for an error status).
	MessageID string
	// Status is the command_status it was answered with.
	Status uint32
	// At is when it arrived.
	At time.Time
}

// Server is a test SMSC.
type Server struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	conns       map[*conn]struct{}
	submits     []Submit
	rules       []rule
	hold        bool
	held        []held
	outstanding int
	maxOut      int
	nextID      int
	rr          int
	binds       int
	enquires    int
	unbinds     int
	changed     chan struct{}
}

type rule struct {
	n      int
	status uint32
}

type held struct {
	c     *conn
	frame []byte
}

// NewServer starts a Server on 127.0.0.1:0.
func NewServer(cfg Config) (*Server, error) {
	if cfg.MaxPDULen == 0 {
		cfg.MaxPDULen = 64 << 10
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smpptest: listen: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, conns: map[*conn]struct{}{}, changed: make(chan struct{})}
	s.wg.Go(s.accept)
	return s, nil
}

// Start is NewServer for a test: it fails t on error and closes the
// server when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, closes every connection and waits for its
// goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	_ = s.ln.Close()
	s.Drop()
	s.wg.Wait()
}

// Drop closes every current connection abruptly, as an SMSC restart or a
// network failure would. Held responses are discarded.
func (s *Server) Drop() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.outstanding -= len(s.held)
	s.held = nil
	s.notifyLocked()
	s.mu.Unlock()
}

// RespondNext answers the next n submit_sm with status instead of
// ESME_ROK. Calls queue up: RespondNext(2, throttled) then RespondNext(1,
// sysErr) answers two throttled, then one system error.
func (s *Server) RespondNext(n int, status uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, rule{n: n, status: status})
}

// Hold keeps back the responses to submit_sm from now on, so that an ESME's
// window fills; Release sends them.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = true
}

// Release sends the held responses in arrival order and stops holding.
func (s *Server) Release() {
	s.mu.Lock()
	hs := s.held
	s.held, s.hold = nil, false
	s.outstanding -= len(hs)
	s.notifyLocked()
	s.mu.Unlock()
	for _, h := range hs {
		_ = h.c.write(h.frame)
	}
}

// Outstanding is the number of submit_sm held without a response.
func (s *Server) Outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outstanding
}

// MaxOutstanding is the most submit_sm ever held at once.
func (s *Server) MaxOutstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxOut
}

// Submits returns the submit_sm received so far.
func (s *Server) Submits() []Submit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submit(nil), s.submits...)
}

// Bound is the number of connections currently bound.
func (s *Server) Bound() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.kind != "" {
			n++
		}
	}
	return n
}

// BindCount is the number of successful binds since the start.
func (s *Server) BindCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.binds
}

// EnquireLinks is the number of enquire_link received.
func (s *Server) EnquireLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enquires
}

// Wait blocks until cond holds for the server's State or ctx ends; cond is
// checked again after every change.
func (s *Server) Wait(ctx context.Context, cond func(State) bool) error {
	for {
		s.mu.Lock()
		st := s.stateLocked()
		ch := s.changed
		s.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("smpptest: waiting: %w (state %+v)", ctx.Err(), st)
		}
	}
}

// State is a snapshot of the server's counters for Wait.
type State struct {
	Submits, Bound, Binds, Outstanding, EnquireLinks int
	// Unbinds counts the unbind requests the ESMEs sent.
	Unbinds int
}

func (s *Server) stateLocked() State {
	st := State{Submits: len(s.submits), Binds: s.binds, Outstanding: s.outstanding, EnquireLinks: s.enquires, Unbinds: s.unbinds}
	for c := range s.conns {
		if c.kind != "" {
			st.Bound++
		}
	}
	return st
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, nc: nc, pending: map[int32]chan pdu.PDU{}}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(c.serve)
	}
}

// conn is one ESME connection.
type conn struct {
	s   *Server
	nc  net.Conn
	wmu sync.Mutex
	// Under Server.mu:
	kind     string
	systemID string
	seq      int32
	pending  map[int32]chan pdu.PDU
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) writePDU(p pdu.PDU) error {
	b := pdu.NewBuffer(make([]byte, 0, 64))
	p.Marshal(b)
	return c.write(b.Bytes())
}

func (c *conn) serve() {
	defer func() {
		_ = c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		for _, ch := range c.pending {
			close(ch)
		}
		c.pending = map[int32]chan pdu.PDU{}
		c.s.notifyLocked()
		c.s.mu.Unlock()
	}()
	r := bufio.NewReader(c.nc)
	for {
		var hdr [16]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < 16 || n > uint32(c.s.cfg.MaxPDULen) {
			return
		}
		frame := make([]byte, n)
		copy(frame, hdr[:])
		if _, err := io.ReadFull(r, frame[16:]); err != nil {
			return
		}
		p, err := pdu.Parse(bytes.NewReader(frame))
		if err != nil {
			// Unknown command or undecodable body: generic_nack
			// (SMPP 3.4 3.3), keep the connection.
			n := pdu.NewGenericNack()
			n.SetSequenceNumber(int32(binary.BigEndian.Uint32(frame[12:])))
			n.(*pdu.GenericNack).CommandStatus = data.ESME_RINVCMDID
			if c.writePDU(n) != nil {
				return
			}
			continue
		}
		if !c.handle(p, frame) {
			return
		}
	}
}

// handle answers one PDU; false closes the connection.
func (c *conn) handle(p pdu.PDU, frame []byte) bool {
	s := c.s
	switch q := p.(type) {
	case *pdu.BindRequest:
		resp := q.GetResponse().(*pdu.BindResp)
		resp.SystemID = "smpptest"
		ok := (s.cfg.SystemID == "" || q.SystemID == s.cfg.SystemID) &&
			(s.cfg.Password == "" || subtle.ConstantTimeCompare([]byte(q.Password), []byte(s.cfg.Password)) == 1)
		if !ok {
			resp.CommandStatus = data.CommandStatusType(StatusInvPaswd)
			_ = c.writePDU(resp)
			return false
		}
		// Bound once the response is written, and nothing (a deliver_sm
		// from Deliver) may be written before it: hold the write lock.
		c.wmu.Lock()
		defer c.wmu.Unlock()
		s.mu.Lock()
		c.kind, c.systemID = kindName(q.BindingType), q.SystemID
		s.binds++
		s.notifyLocked()
		s.mu.Unlock()
		out := pdu.NewBuffer(make([]byte, 0, 64))
		resp.Marshal(out)
		_, err := c.nc.Write(out.Bytes())
		return err == nil
	case *pdu.EnquireLink:
		s.mu.Lock()
		s.enquires++
		s.notifyLocked()
		s.mu.Unlock()
		return c.writePDU(q.GetResponse()) == nil
	case *pdu.Unbind:
		s.mu.Lock()
		s.unbinds++
		s.notifyLocked()
		s.mu.Unlock()
		_ = c.writePDU(q.GetResponse())
		return false
	case *pdu.SubmitSM:
		return c.submit(q, frame)
	case *pdu.DeliverSMResp, *pdu.GenericNack:
		s.mu.Lock()
		ch := c.pending[p.GetSequenceNumber()]
		delete(c.pending, p.GetSequenceNumber())
		s.mu.Unlock()
		if ch != nil {
			ch <- p
		}
		return true
	}
	if p.CanResponse() {
		n := pdu.NewGenericNack()
		n.SetSequenceNumber(p.GetSequenceNumber())
		n.(*pdu.GenericNack).CommandStatus = data.ESME_RINVCMDID
		return c.writePDU(n) == nil
	}
	return true
}

func kindName(t pdu.BindingType) string {
	switch t {
	case pdu.Transmitter:
		return "tx"
	case pdu.Receiver:
		return "rx"
	}
	return "trx"
}

func (c *conn) submit(q *pdu.SubmitSM, frame []byte) bool {
	s := c.s
	rec := Submit{Frame: frame, PDU: q, At: time.Now()}
	s.mu.Lock()
	rec.SystemID = c.systemID
	if len(s.rules) > 0 {
		rec.Status = s.rules[0].status
		if s.rules[0].n--; s.rules[0].n <= 0 {
			s.rules = s.rules[1:]
		}
	}
	resp := q.GetResponse().(*pdu.SubmitSMResp)
	if rec.Status == StatusOK {
		s.nextID++
		rec.MessageID = fmt.Sprintf("msg-%d", s.nextID)
		resp.MessageID = rec.MessageID
	}
	resp.CommandStatus = data.CommandStatusType(rec.Status)
	s.submits = append(s.submits, rec)
	out := pdu.NewBuffer(make([]byte, 0, 32))
	resp.Marshal(out)
	hold := s.hold
	if hold {
		s.held = append(s.held, held{c: c, frame: out.Bytes()})
		s.outstanding++
		s.maxOut = max(s.maxOut, s.outstanding)
	}
	s.notifyLocked()
	s.mu.Unlock()
	if hold {
		return true
	}
	return c.write(out.Bytes()) == nil
}

// Deliver is a deliver_sm to inject.
type Deliver struct {
	Source, Dest string
	ESMClass     byte
	DataCoding   byte
	// ShortMessage is sent as is (user data header included when
	// ESMClass has UDHI set).
	ShortMessage []byte
	TLVs         map[uint16][]byte
}

// ErrNoReceiver is returned by Deliver when no receiver or transceiver is
// bound.
var ErrNoReceiver = errors.New("smpptest: no receiving bind")

// Deliver sends d to a bound receiver or transceiver (round robin) and
// returns the command_status of its deliver_sm_resp.
func (s *Server) Deliver(ctx context.Context, d Deliver) (uint32, error) {
	p := pdu.NewDeliverSM().(*pdu.DeliverSM)
	_ = p.SourceAddr.SetAddress(d.Source)
	_ = p.DestAddr.SetAddress(d.Dest)
	p.EsmClass = d.ESMClass
	if err := p.Message.SetMessageDataWithEncoding(d.ShortMessage, rawCoding(d.DataCoding)); err != nil {
		return 0, fmt.Errorf("smpptest: deliver_sm: %w", err)
	}
	for tag, v := range d.TLVs {
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.Tag(tag), Data: v})
	}
	s.mu.Lock()
	var rx []*conn
	for c := range s.conns {
		if c.kind != "" && c.kind != "tx" {
			rx = append(rx, c)
		}
	}
	if len(rx) == 0 {
		s.mu.Unlock()
		return 0, ErrNoReceiver
	}
	s.rr++
	c := rx[s.rr%len(rx)]
	c.seq++
	p.SetSequenceNumber(c.seq)
	ch := make(chan pdu.PDU, 1)
	c.pending[c.seq] = ch
	s.mu.Unlock()
	if err := c.writePDU(p); err != nil {
		return 0, fmt.Errorf("smpptest: deliver_sm: %w", err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return 0, errors.New("smpptest: connection closed before deliver_sm_resp")
		}
		return uint32(r.GetHeader().CommandStatus), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// DeliverReceipt injects a delivery receipt for messageID in the text form
// of SMPP 3.4 Appendix B, with the receipted_message_id and message_state
// TLVs, and returns the deliver_sm_resp status. stat is an Appendix B
// state ("DELIVRD", "UNDELIV"...), state its message_state value.
func (s *Server) DeliverReceipt(ctx context.Context, source, dest, messageID, stat string, state byte) (uint32, error) {
	now := time.Now().UTC().Format("0601021504")
	text := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:%s err:000 text:", messageID, now, now, stat)
	return s.Deliver(ctx, Deliver{
		Source: source, Dest: dest, ESMClass: 0x04, ShortMessage: []byte(text),
		TLVs: map[uint16][]byte{0x001E: append([]byte(messageID), 0), 0x0427: {state}},
	})
}

// rawCoding passes octets through under a chosen data_coding, so injected
// messages carry exactly the bytes a test gives.
type rawCoding byte

func (r rawCoding) Encode(s string) ([]byte, error) { return []byte(s), nil }
func (r rawCoding) Decode(b []byte) (string, error) { return string(b), nil }
func (r rawCoding) DataCoding() byte                { return byte(r) }
