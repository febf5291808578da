package smpp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
	"iwf/smpp/receipt"
)

// peer is a partner ESME played by gosmpp's own client session.
type peer struct {
	sess   *gosmpp.Session
	pdus   chan pdu.PDU
	closed chan gosmpp.State
}

type connectorFunc func(gosmpp.Dialer, gosmpp.Auth) gosmpp.Connector

var (
	trx = func(d gosmpp.Dialer, a gosmpp.Auth) gosmpp.Connector { return gosmpp.TRXConnector(d, a) }
	rx  = func(d gosmpp.Dialer, a gosmpp.Auth) gosmpp.Connector { return gosmpp.RXConnector(d, a) }
	tx  = gosmpp.TXConnector
)

// dialPeer binds a gosmpp session. answer builds the response to a request
// the server sends (nil: answer deliver_sm, enquire_link and unbind OK);
// every PDU received is also put on peer.pdus, in order.
func dialPeer(t *testing.T, addr, systemID, password string, conn connectorFunc, answer func(pdu.PDU) pdu.PDU) (*peer, error) {
	t.Helper()
	return dialPeerWith(t, gosmpp.NonTLSDialer, addr, systemID, password, conn, answer)
}

func dialPeerWith(t *testing.T, d gosmpp.Dialer, addr, systemID, password string, conn connectorFunc, answer func(pdu.PDU) pdu.PDU) (*peer, error) {
	t.Helper()
	p := &peer{pdus: make(chan pdu.PDU, 1024), closed: make(chan gosmpp.State, 4)}
	settings := gosmpp.Settings{
		ReadTimeout: 10 * time.Second,
		// OnAllPDU, not OnPDU: the library's OnPDU answers deliver_sm
		// before the application sees it (LIBRARIES.md).
		OnAllPDU: func(q pdu.PDU) (pdu.PDU, bool) {
			p.pdus <- q
			if answer != nil {
				if r := answer(q); r != nil {
					return r, false
				}
			}
			switch q.(type) {
			case *pdu.DeliverSM, *pdu.EnquireLink:
				return q.GetResponse(), false
			case *pdu.Unbind:
				return q.GetResponse(), true
			}
			return nil, false
		},
		OnClosed: func(s gosmpp.State) {
			select {
			case p.closed <- s:
			default:
			}
		},
	}
	auth := gosmpp.Auth{SMSC: addr, SystemID: systemID, Password: password}
	sess, err := gosmpp.NewSession(conn(d, auth), settings, 0)
	if err != nil {
		return nil, err
	}
	p.sess = sess
	t.Cleanup(func() { _ = sess.Close() })
	return p, nil
}

func mustPeer(t *testing.T, addr string, conn connectorFunc, answer func(pdu.PDU) pdu.PDU) *peer {
	t.Helper()
	p, err := dialPeer(t, addr, "acme", "pw", conn, answer)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// next returns the next PDU the peer received, skipping none.
func (p *peer) next(t *testing.T) pdu.PDU {
	t.Helper()
	select {
	case q := <-p.pdus:
		return q
	case <-testutil.Context(t).Done():
		t.Fatal("peer received nothing")
		return nil
	}
}

func acme() ServerPartner {
	return ServerPartner{Name: "acme", SystemID: "acme", Password: "pw", MaxBinds: 4, Window: 4}
}

func bindStatus(err error) uint32 {
	var be gosmpp.BindError
	if errors.As(err, &be) {
		return uint32(be.CommandStatus)
	}
	return 0xFFFFFFFF
}

func TestServerBind(t *testing.T) {
	testutil.CheckLeaks(t)
	tlsOnly := acme()
	tlsOnly.Name, tlsOnly.SystemID, tlsOnly.RequireTLS = "secure", "secure", true
	srv := startServer(t, serverConfig(acme(), tlsOnly), nil)
	addr := srv.Addr().String()
	tests := []struct {
		name, systemID, password string
		conn                     connectorFunc
		want                     uint32
	}{
		{"transceiver", "acme", "pw", trx, StatusOK},
		{"transmitter", "acme", "pw", tx, StatusOK},
		{"receiver", "acme", "pw", rx, StatusOK},
		{"wrong password", "acme", "pX", trx, StatusInvPaswd},
		{"password prefix", "acme", "p", trx, StatusInvPaswd},
		{"unknown system_id answers like a wrong password", "nobody", "pw", trx, StatusInvPaswd},
		{"TLS required", "secure", "pw", trx, StatusBindFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dialPeer(t, addr, tc.systemID, tc.password, tc.conn, nil)
			if tc.want == StatusOK {
				if err != nil {
					t.Fatal(err)
				}
				if p.sess.Transceiver().SystemID() != DefaultServerSystemID {
					t.Errorf("bind_resp system_id %q", p.sess.Transceiver().SystemID())
				}
				return
			}
			if got := bindStatus(err); got != tc.want {
				t.Fatalf("bind: %v, want %s", err, StatusName(tc.want))
			}
		})
	}
}

func boundCount(s *Server) int {
	n := 0
	for _, st := range s.Status() {
		if st.State == StateBound {
			n++
		}
	}
	return n
}

func TestServerBindCap(t *testing.T) {
	testutil.CheckLeaks(t)
	p := acme()
	p.MaxBinds = 2
	srv := startServer(t, serverConfig(p), nil)
	addr := srv.Addr().String()
	first := mustPeer(t, addr, trx, nil)
	mustPeer(t, addr, rx, nil)
	if _, err := dialPeer(t, addr, "acme", "pw", tx, nil); bindStatus(err) != StatusBindFail {
		t.Fatalf("third bind: %v, want ESME_RBINDFAIL", err)
	}
	_ = first.sess.Close()
	testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the closed bind to leave")
	mustPeer(t, addr, tx, nil)
}

func TestServerAlreadyBound(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	c := dialRaw(t, srv.Addr().String())
	c.bind("acme", "pw", 1)
	req := pdu.NewBindRequest(pdu.Transmitter)
	req.SystemID, req.Password = "acme", "pw"
	c.sendPDU(req, 2)
	c.expect(CmdBindTransmitterResp, StatusAlyBnd, 2)
	// The first bind stands.
	c.sendPDU(pdu.NewEnquireLink(), 3)
	c.expect(CmdEnquireLinkResp, StatusOK, 3)
	if n := boundCount(srv); n != 1 {
		t.Errorf("%d binds, want 1", n)
	}
}

func TestServerSubmit(t *testing.T) {
	testutil.CheckLeaks(t)
	entered, release := make(chan *Message, 1), make(chan struct{})
	h := SubmitHandlerFunc(func(_ context.Context, partner string, m *Message) (string, error) {
		if partner != "acme" {
			t.Errorf("partner %q", partner)
		}
		entered <- m
		<-release
		return "iwf-42", nil
	})
	srv := startServer(t, serverConfig(acme()), h)
	p := mustPeer(t, srv.Addr().String(), trx, nil)

	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	_ = sm.SourceAddr.SetAddress("4915112345678")
	_ = sm.DestAddr.SetAddress("4917612345678")
	sm.RegisteredDelivery = 1
	msg, _ := pdu.NewShortMessageWithEncoding("héllo €", data.UCS2)
	sm.Message = msg
	if err := p.sess.Transceiver().Submit(sm); err != nil {
		t.Fatal(err)
	}
	m := recv(t, entered)
	if m.Dest.Addr != "4917612345678" || m.DataCoding != 8 || m.RegisteredDelivery != 1 {
		t.Errorf("handler got %+v", m)
	}
	if text, err := m.Text(false); err != nil || text != "héllo €" {
		t.Errorf("text %q, %v", text, err)
	}
	// While the handler runs, an enquire_link is answered; the server
	// writes in order, so a submit_sm_resp sent before the handler ran
	// would reach the peer first.
	el := pdu.NewEnquireLink()
	if err := p.sess.Transceiver().Submit(el); err != nil {
		t.Fatal(err)
	}
	if r, ok := p.next(t).(*pdu.EnquireLinkResp); !ok || r.SequenceNumber != el.GetSequenceNumber() {
		t.Fatalf("want the enquire_link_resp first, got %T", r)
	}
	close(release)
	r, ok := p.next(t).(*pdu.SubmitSMResp)
	if !ok || r.MessageID != "iwf-42" || !r.IsOk() || r.SequenceNumber != sm.SequenceNumber {
		t.Fatalf("got %+v", r)
	}
	st := srv.Status()[0]
	if st.Partner != "acme" || st.Counters.Received != 1 || st.Kind != "transceiver" {
		t.Errorf("status %+v", st)
	}
}

type codedErr uint32

func (e codedErr) Error() string      { return fmt.Sprintf("coded %d", uint32(e)) }
func (e codedErr) SMPPStatus() uint32 { return uint32(e) }

func TestServerSubmitStatuses(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name string
		err  error
		conn connectorFunc
		want uint32
	}{
		{"error with its own status", fmt.Errorf("store: %w", codedErr(0x45)), trx, 0x45},
		{"plain error is a system error", errors.New("redis down"), trx, StatusSysErr},
		{"receiver may not submit", nil, rx, StatusInvBndSts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) { return "id", tc.err })
			srv := startServer(t, serverConfig(acme()), h)
			p := mustPeer(t, srv.Addr().String(), tc.conn, nil)
			sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
			// A destination, which the server checks before the handler.
			_ = sm.DestAddr.SetAddress("4917612345678")
			if err := p.sess.Transceiver().Submit(sm); err != nil {
				t.Fatal(err)
			}
			r, ok := p.next(t).(*pdu.SubmitSMResp)
			if !ok || uint32(r.CommandStatus) != tc.want || r.MessageID != "" {
				t.Fatalf("got %+v, want status %s", r, StatusName(tc.want))
			}
		})
	}
}

func TestServerEnquireLinkUnbind(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	p := mustPeer(t, srv.Addr().String(), trx, nil)
	el := pdu.NewEnquireLink()
	if err := p.sess.Transceiver().Submit(el); err != nil {
		t.Fatal(err)
	}
	if r, ok := p.next(t).(*pdu.EnquireLinkResp); !ok || !r.IsOk() || r.SequenceNumber != el.GetSequenceNumber() {
		t.Fatalf("got %+v", r)
	}
	ub := pdu.NewUnbind()
	if err := p.sess.Transceiver().Submit(ub); err != nil {
		t.Fatal(err)
	}
	if r, ok := p.next(t).(*pdu.UnbindResp); !ok || !r.IsOk() || r.SequenceNumber != ub.GetSequenceNumber() {
		t.Fatalf("got %+v", r)
	}
	testutil.Eventually(t, func() bool { return len(srv.Status()) == 0 }, "the server to drop the unbound connection")
}

func TestServerGenericNack(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	hdr := func(length, cmd, seq uint32) []byte {
		return appendHeader(nil, header{Length: length, Command: cmd, Seq: seq})
	}
	tests := []struct {
		name      string
		bind      bool
		send      []byte
		cmd, st   uint32
		seq       uint32
		wantClose bool
	}{
		{"unknown command", true, hdr(16, 0x00000777, 7), CmdGenericNack, StatusInvCmdID, 7, false},
		{"unknown command with a body", true, append(hdr(20, 0x00000778, 8), 1, 2, 3, 4), CmdGenericNack, StatusInvCmdID, 8, false},
		{"submit_multi not supported", true, append(hdr(19, CmdSubmitMulti, 9), 'x', 0, 0), CmdGenericNack, StatusInvCmdID, 9, false},
		{"garbage body in enquire_link", true, append(hdr(18, CmdEnquireLink, 10), 0xFF, 0xFF), CmdEnquireLinkResp, StatusOK, 10, false},
		{"command_length below the header", true, hdr(8, CmdEnquireLink, 11), CmdGenericNack, StatusInvCmdLen, 11, true},
		{"command_length above 64 KiB", true, hdr(70000, CmdSubmitSM, 12), CmdGenericNack, StatusInvCmdLen, 12, true},
		{"submit_sm before bind", false, hdr(16, CmdSubmitSM, 13), CmdSubmitSMResp, StatusInvBndSts, 13, false},
		{"unknown command before bind", false, hdr(16, 0x00000777, 14), CmdGenericNack, StatusInvCmdID, 14, false},
		{"known command before bind", false, hdr(16, CmdSubmitMulti, 16), CmdGenericNack, StatusInvBndSts, 16, false},
		{"truncated submit_sm", true, append(hdr(20, CmdSubmitSM, 15), 'a', 'b', 'c', 'd'), CmdSubmitSMResp, StatusInvCmdLen, 15, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.Addr().String())
			if tc.bind {
				c.bind("acme", "pw", 1)
			}
			c.send(tc.send)
			c.expect(tc.cmd, tc.st, tc.seq)
			if tc.wantClose {
				if _, _, err := c.next(); !isEOF(err) {
					t.Fatalf("connection not closed after a bad length: %v", err)
				}
				return
			}
			c.sendPDU(pdu.NewEnquireLink(), 99)
			c.expect(CmdEnquireLinkResp, StatusOK, 99)
		})
	}
}

func TestServerDeliver(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	p := mustPeer(t, srv.Addr().String(), rx, nil)
	testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the bind")
	ctx := testutil.Context(t)

	mt := testMessage("hi there")
	mt.ESMClass = 0x40 // UDHI: the header must pass through untouched
	mt.ShortMessage = append([]byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}, "hi there"...)
	mt.TLVs = []TLV{{Tag: 0x020A, Value: []byte{0x0B, 0x84}}} // source_port
	res, err := srv.Deliver(ctx, "acme", mt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Partner != "acme" || res.Bind == "" {
		t.Errorf("result %+v", res)
	}
	d, ok := p.next(t).(*pdu.DeliverSM)
	if !ok {
		t.Fatalf("peer got %T", d)
	}
	udh, _ := d.Message.UDH().MarshalBinary()
	body, _ := d.Message.GetMessageData()
	if d.DestAddr.Address() != mt.Dest.Addr || d.EsmClass != 0x40 || !bytes.Equal(append(udh, body...), mt.ShortMessage) {
		t.Errorf("peer got dest %q esm 0x%02x sm %x", d.DestAddr.Address(), d.EsmClass, append(udh, body...))
	}
	if v := d.OptionalParameters[pdu.TagSourcePort]; !bytes.Equal(v.Data, []byte{0x0B, 0x84}) {
		t.Errorf("source_port %x", v.Data)
	}

	rm, err := ReceiptMessage(mt.Dest, mt.Source, receipt.Receipt{ID: "iwf-42", State: receipt.Delivered, Submitted: 1, Delivered: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Deliver(ctx, "acme", rm); err != nil {
		t.Fatal(err)
	}
	d = p.next(t).(*pdu.DeliverSM)
	rid := d.OptionalParameters[pdu.TagReceiptedMessageID]
	if d.EsmClass != 0x04 || rid.String() != "iwf-42" {
		t.Errorf("receipt esm 0x%02x, receipted_message_id %q", d.EsmClass, rid.String())
	}
	if st := srv.Status()[0]; st.Counters.Sent != 2 || st.Counters.Accepted != 2 {
		t.Errorf("counters %+v", st.Counters)
	}
}

func TestServerDeliverErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name    string
		conn    connectorFunc
		partner string
		answer  uint32
		wantErr error
		status  uint32
	}{
		{"partner refuses temporarily", rx, "acme", StatusXTAppn, nil, StatusXTAppn},
		{"transmitter only", tx, "acme", 0, ErrNoBind, 0},
		{"unknown partner", rx, "nobody", 0, ErrUnknownPartner, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, serverConfig(acme()), nil)
			mustPeer(t, srv.Addr().String(), tc.conn, func(q pdu.PDU) pdu.PDU {
				if d, ok := q.(*pdu.DeliverSM); ok && tc.answer != 0 {
					r := d.GetResponse()
					r.(*pdu.DeliverSMResp).CommandStatus = data.CommandStatusType(tc.answer)
					return r
				}
				return nil
			})
			testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the bind")
			_, err := srv.Deliver(testutil.Context(t), tc.partner, testMessage("x"))
			var se *StatusError
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			case tc.status != 0 && (!errors.As(err, &se) || se.Status != tc.status || !se.Temporary()):
				t.Fatalf("error %v, want %s", err, StatusName(tc.status))
			}
		})
	}
}

// A bind that Status shows bound is one Deliver can use: its state
// changes once the bind is in force, not when the bind was accepted.
// (Delivering right after seeing the bind on Status got ErrNoBind on a
// loaded machine.) Status is read without a pause while the server
// binds, to see each bind at the moment it shows bound. And the bind is
// in force before its bind_resp can be read.
func TestServerBoundMeansDeliverable(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	for i := range 300 {
		c := dialRaw(t, srv.Addr().String())
		req := pdu.NewBindRequest(pdu.Transceiver)
		req.SystemID, req.Password = "acme", "pw"
		c.sendPDU(req, 1)
		for boundCount(srv) == 0 {
			runtime.Gosched()
		}
		if _, err := srv.pick("acme"); err != nil {
			t.Fatalf("bind %d shows bound, and: %v", i, err)
		}
		c.expect(CmdBindTransceiverResp, StatusOK, 1)
		// And a peer that has its bind_resp finds itself on Status.
		c2 := dialRaw(t, srv.Addr().String())
		c2.bind("acme", "pw", 1)
		if n := boundCount(srv); n != 2 {
			t.Fatalf("bind %d answered, %d binds show bound, want 2", i, n)
		}
		_ = c.nc.Close()
		_ = c2.nc.Close()
		testutil.Eventually(t, func() bool { return len(srv.Status()) == 0 }, "bind %d to leave", i)
	}
}

func TestServerDeliverRoundRobin(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	a := mustPeer(t, srv.Addr().String(), rx, nil)
	b := mustPeer(t, srv.Addr().String(), trx, nil)
	mustPeer(t, srv.Addr().String(), tx, nil) // never chosen
	testutil.Eventually(t, func() bool { return boundCount(srv) == 3 }, "three binds")
	seen := map[string]int{}
	for i := range 6 {
		res, err := srv.Deliver(testutil.Context(t), "acme", testMessage(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		seen[res.Bind]++
	}
	if len(seen) != 2 || len(a.pdus) != 3 || len(b.pdus) != 3 {
		t.Errorf("spread %v, peers got %d and %d", seen, len(a.pdus), len(b.pdus))
	}
}

// TestServerDeliverWindow: with window 1, a second deliver_sm waits for the
// first one's response.
func TestServerDeliverWindow(t *testing.T) {
	testutil.CheckLeaks(t)
	p := acme()
	p.Window = 1
	srv := startServer(t, serverConfig(p), nil)
	c := dialRaw(t, srv.Addr().String())
	c.bind("acme", "pw", 1)
	ctx := testutil.Context(t)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if _, err := srv.Deliver(ctx, "acme", testMessage(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		})
	}
	h, _, err := c.next()
	if err != nil || h.Command != CmdDeliverSM {
		t.Fatalf("first deliver_sm: %v %+v", err, h)
	}
	// The second must not come while the first is unanswered.
	_ = c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if h2, _, err := c.next(); err == nil {
		t.Fatalf("second deliver_sm (seq %d) sent with the window full", h2.Seq)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.send(marshal(pdu.NewDeliverSMResp(), h.Seq))
	h2, _, err := c.next()
	if err != nil || h2.Command != CmdDeliverSM {
		t.Fatalf("second deliver_sm: %v", err)
	}
	c.send(marshal(pdu.NewDeliverSMResp(), h2.Seq))
	wg.Wait()
}

// TestServerInboundWindow: a partner with more submits in flight than its
// window is answered ESME_RTHROTTLED at once.
func TestServerInboundWindow(t *testing.T) {
	testutil.CheckLeaks(t)
	p := acme()
	p.Window = 2
	release := make(chan struct{})
	h := SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) {
		<-release
		return "ok", nil
	})
	srv := startServer(t, serverConfig(p), h)
	c := dialRaw(t, srv.Addr().String())
	c.bind("acme", "pw", 1)
	for seq := uint32(2); seq <= 4; seq++ {
		frame, err := AppendMessage(nil, CmdSubmitSM, seq, testMessage("x"))
		if err != nil {
			t.Fatal(err)
		}
		c.send(frame)
	}
	c.expect(CmdSubmitSMResp, StatusThrottled, 4)
	close(release)
	got := map[uint32]bool{}
	for range 2 {
		h, _, err := c.next()
		if err != nil || h.Command != CmdSubmitSMResp || h.Status != StatusOK {
			t.Fatalf("%v %+v", err, h)
		}
		got[h.Seq] = true
	}
	if !got[2] || !got[3] {
		t.Errorf("answered %v", got)
	}
	if st := srv.Status()[0]; st.Counters.ReceivedThrottled != 1 || st.Counters.Received != 2 {
		t.Errorf("counters %+v", st.Counters)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := serverConfig(acme())
	cfg.IdleTimeout = 50 * time.Millisecond
	cfg.BindTimeout = 50 * time.Millisecond
	srv := startServer(t, cfg, nil)
	tests := []struct {
		name string
		bind bool
	}{{"bound and silent", true}, {"never binds", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.Addr().String())
			if tc.bind {
				c.bind("acme", "pw", 1)
			}
			if _, _, err := c.next(); !isEOF(err) {
				t.Fatalf("want the server to close, got %v", err)
			}
		})
	}
}

// TestServerClose: Close unbinds bound partners and waits for them.
func TestServerClose(t *testing.T) {
	testutil.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ln, serverConfig(acme()), SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) {
		return "x", nil
	}), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(t.Context()) }()
	p := mustPeer(t, srv.Addr().String(), trx, nil)
	testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the bind")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errc); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.next(t).(*pdu.Unbind); !ok {
		t.Error("peer got no unbind")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := srv.Deliver(t.Context(), "acme", testMessage("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver after Close: %v", err)
	}
}

// A client whose window equals the server's per-bind window is never
// throttled: the server frees a slot before it answers, so the request the
// answer lets the client send finds the slot free.
func TestServerWindowEqualToClientWindow(t *testing.T) {
	const window = 4
	p := acme()
	p.Window = window
	srv := startServer(t, serverConfig(p), nil)
	cfg := clientConfig(srv.Addr().String())
	cfg.Partner, cfg.SystemID, cfg.Password, cfg.Window = "acme", "acme", "pw", window
	c := startClient(t, cfg, nil, nil)
	ctx := testutil.Context(t)
	errs := make(chan error, 200)
	for range 200 {
		go func() {
			_, err := c.Submit(ctx, testMessage("hi"))
			errs <- err
		}()
	}
	for range 200 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := srv.Status()[0]; st.Counters.ReceivedThrottled != 0 || st.Counters.Received != 200 {
		t.Fatalf("server counters %+v: throttled a client within its window", st.Counters)
	}
}
