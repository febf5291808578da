package sipsession

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrpsdp"
	"iwf/session/msrptest"
)

// uasPeer is an RCS side built on sipgo: it answers the IWF's INVITEs
// as the test's behaviour says, with an MSRP endpoint of its own.
type uasPeer struct {
	st      *sipstack.Stack
	ep      *session.Endpoint
	dialogs *sipgo.DialogServerCache
	rec     *recorder
	invites chan *sip.Request
	acks    chan *sip.Request
	byes    chan *sip.Request
	cancel  *signal
	sess    chan *session.Session
}

type behaviour func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction)

func newUASPeer(t testing.TB, b behaviour) *uasPeer {
	t.Helper()
	p := &uasPeer{
		ep: msrptest.NewEndpoint(t, session.Config{}), rec: newRecorder(),
		invites: make(chan *sip.Request, 4), acks: make(chan *sip.Request, 4), byes: make(chan *sip.Request, 4),
		cancel: newSignal(), sess: make(chan *session.Session, 4),
	}
	sipstacktest.Start(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		p.st = st
		client, err := st.Client("udp")
		if err != nil {
			t.Fatal(err)
		}
		p.dialogs = sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: st.Contact("udp", "peer")})
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			p.invites <- req
			b(p, req, tx)
		})
		srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = p.dialogs.ReadAck(req, tx)
			p.acks <- req
		})
		srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			if err := p.dialogs.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
			}
			p.byes <- req
		})
	})
	return p
}

// answerMSRP answers with an MSRP SDP (passive), as an RCS client does.
func answerMSRP(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
	dlg, err := p.dialogs.ReadInvite(req, tx)
	if err != nil {
		return
	}
	offer, err := msrpsdp.Parse(req.Body())
	if err != nil {
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		return
	}
	ctx := context.Background()
	s, err := p.ep.NewSession(ctx, session.SessionOptions{Handler: p.rec.handler()})
	if err != nil {
		_ = dlg.Respond(500, "Server Error", nil)
		return
	}
	o, _ := msrpsdp.NewOrigin("127.0.0.1")
	body, neg, err := msrpsdp.BuildAnswer(o, offer, peerMedia(s, msrpsdp.SetupPassive))
	if err != nil {
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		return
	}
	_ = s.Connect(ctx, neg.Remote.Path, neg.Active)
	p.sess <- s
	respondSDP(p, dlg, body)
}

// respondSDP answers 200 with body and a Contact on the INVITE's
// transport, and waits for the ACK.
func respondSDP(p *uasPeer, dlg *sipgo.DialogServerSession, body []byte) {
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, body)
	res.AppendHeader(&sip.ContactHeader{Address: p.st.Contact(strings.ToLower(dlg.InviteRequest.Transport()), "peer")})
	_ = dlg.WriteResponse(res)
}

func nextReq(t testing.TB, ch chan *sip.Request, what string) *sip.Request { return recv(t, ch, what) }

func TestOpenEstablishesAndCarriesMessages(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			w := newIWF(t, nil)
			p := newUASPeer(t, answerMSRP)
			ctx := testutil.Context(t)
			c, err := w.m.Open(ctx, OpenRequest{
				From: "sip:+15550001@iwf.example", To: "tel:+15550002",
				Trunk: trunkTo(p.st, tp), ConversationID: "conv-1",
			})
			if err != nil {
				t.Fatal(err)
			}
			inv := nextReq(t, p.invites, "invite")
			for name, want := range map[string]string{
				"Accept-Contact":      AcceptContactSession,
				"P-Preferred-Service": DefaultPreferredService,
				"Conversation-ID":     "conv-1",
				"User-Agent":          "iwf",
				"Content-Type":        "application/sdp",
			} {
				if h := inv.GetHeader(name); h == nil || h.Value() != want {
					t.Errorf("%s = %v, want %q", name, h, want)
				}
			}
			if h := inv.GetHeader("Contribution-ID"); h == nil || h.Value() == "" {
				t.Error("no Contribution-ID")
			}
			if got := inv.From().Address.User; got != "+15550001" {
				t.Errorf("From user %q", got)
			}
			if u := inv.Recipient; u.User != "+15550002" || u.Scheme != "sip" {
				t.Errorf("Request-URI %s, want sip:+15550002@...;user=phone", u.String())
			}
			if !strings.Contains(string(inv.Body()), "a=setup:actpass") {
				t.Errorf("offer without actpass:\n%s", inv.Body())
			}
			nextReq(t, p.acks, "ack")
			if !c.Negotiated().Active {
				t.Error("peer answered passive: we should connect")
			}

			// IWF -> peer over the MSRP connection the IWF opened.
			if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("hello rcs")}); err != nil {
				t.Fatal(err)
			}
			if m := p.rec.next(t); string(m.Body) != "hello rcs" {
				t.Fatalf("peer got %q", m.Body)
			}
			// peer -> IWF: an Events message.
			ps := <-p.sess
			if _, err := ps.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("hello iwf")}); err != nil {
				t.Fatal(err)
			}
			if ev := nextEvent(t, c); ev.Kind != EventMessage || string(ev.Message.Body) != "hello iwf" {
				t.Fatalf("event %+v", ev)
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			nextReq(t, p.byes, "bye")
			if ev := waitClosed(t, c); ev.Reason != ReasonLocal {
				t.Fatalf("closed with %v", ev.Reason)
			}
			if n := w.m.Calls(); n != 0 {
				t.Fatalf("%d calls left", n)
			}
		})
	}
}

func TestOpenFailures(t *testing.T) {
	respond := func(code int, reason string) behaviour {
		return func(_ *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
		}
	}
	tests := []struct {
		name    string
		b       behaviour
		timeout time.Duration
		kind    Kind
		is      error
		status  int
		check   func(t *testing.T, p *uasPeer)
	}{
		{name: "busy", b: respond(486, "Busy Here"), kind: KindRejected, is: ErrRejected, status: 486},
		{name: "decline", b: respond(603, "Decline"), kind: KindRejected, is: ErrRejected, status: 603},
		{name: "server error", b: respond(503, "Service Unavailable"), kind: KindRejected, is: ErrRejected, status: 503},
		{
			name: "no answer", timeout: 700 * time.Millisecond, kind: KindTimeout, is: ErrTimeout,
			b: func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
				tx.OnCancel(func(*sip.Request) { p.cancel.fire() })
				_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
				<-tx.Done()
			},
			check: func(t *testing.T, p *uasPeer) { p.cancel.wait(t, "CANCEL at the peer") },
		},
		{
			name: "answer not acceptable", kind: KindNotAcceptable, is: msrpsdp.ErrNotAcceptable,
			b: func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
				dlg, err := p.dialogs.ReadInvite(req, tx)
				if err != nil {
					return
				}
				// An answer may not say actpass (RFC 4145 section 4.1).
				s, _ := p.ep.NewSession(context.Background(), session.SessionOptions{})
				respondSDP(p, dlg, buildOffer(t, peerMedia(s, msrpsdp.SetupActPass)))
			},
			check: func(t *testing.T, p *uasPeer) {
				nextReq(t, p.acks, "ack of the refused answer")
				nextReq(t, p.byes, "bye after the refused answer")
			},
		},
		{
			name: "2xx without sdp", kind: KindNotAcceptable, is: ErrNotAcceptable,
			b: func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
				if dlg, err := p.dialogs.ReadInvite(req, tx); err == nil {
					res := sip.NewResponseFromRequest(dlg.InviteRequest, 200, "OK", nil)
					res.AppendHeader(&sip.ContactHeader{Address: p.st.Contact(strings.ToLower(req.Transport()), "peer")})
					_ = dlg.WriteResponse(res)
				}
			},
			check: func(t *testing.T, p *uasPeer) { nextReq(t, p.byes, "bye") },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, nil)
			p := newUASPeer(t, tc.b)
			tr := trunkTo(p.st, "udp")
			if tc.timeout > 0 {
				tr.InviteTimeout = tc.timeout
			}
			c, err := w.m.Open(testutil.Context(t), OpenRequest{From: "sip:a@iwf.example", To: "sip:b@rcs.example", Trunk: tr})
			if err == nil {
				c.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind {
				t.Fatalf("error %v (%T), want kind %v", err, err, tc.kind)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not match %v", err, tc.is)
			}
			if tc.status != 0 && (e.Status != tc.status || e.SIPStatus() != tc.status) {
				t.Errorf("status %d, want %d", e.Status, tc.status)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
			if w.m.Calls() != 0 {
				t.Errorf("%d calls left", w.m.Calls())
			}
		})
	}
}

func TestOpenRedirect(t *testing.T) {
	redirect := func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 302, "Moved Temporarily", nil)
		res.AppendHeader(&sip.ContactHeader{Address: p.st.Contact("udp", "moved")})
		_ = tx.Respond(res)
	}
	tests := []struct {
		name    string
		b       behaviour
		wantErr bool
	}{
		{name: "followed once", b: func(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
			if req.Recipient.User == "moved" {
				answerMSRP(p, req, tx)
				return
			}
			redirect(p, req, tx)
		}},
		{name: "not twice", b: redirect, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, nil)
			p := newUASPeer(t, tc.b)
			ctx := testutil.Context(t)
			c, err := w.m.Open(ctx, OpenRequest{From: "sip:a@iwf.example", To: "sip:b@rcs.example", Trunk: trunkTo(p.st, "udp")})
			first := nextReq(t, p.invites, "first invite")
			second := nextReq(t, p.invites, "redirected invite")
			if second.Recipient.User != "moved" {
				t.Errorf("redirected to %s", second.Recipient.String())
			}
			if first.CallID().Value() != second.CallID().Value() || second.CSeq().SeqNo != first.CSeq().SeqNo+1 {
				t.Errorf("redirect: call-id %s/%s cseq %d/%d", first.CallID().Value(), second.CallID().Value(), first.CSeq().SeqNo, second.CSeq().SeqNo)
			}
			if tc.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Status != 302 {
					t.Fatalf("error %v, want the second 302", err)
				}
				select {
				case r := <-p.invites:
					t.Fatalf("third invite to %s", r.Recipient.String())
				default:
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMSRPLossEndsCall: the MSRP connection drops under an established
// dialog; the IWF ends the dialog with a BYE and the call with
// ReasonMSRPLost.
func TestMSRPLossEndsCall(t *testing.T) {
	w := newIWF(t, nil)
	p := newUASPeer(t, answerMSRP)
	ctx := testutil.Context(t)
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:a@iwf.example", To: "sip:b@rcs.example", Trunk: trunkTo(p.st, "udp")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ep.Close(); err != nil { // drops the peer's MSRP connections
		t.Fatal(err)
	}
	if ev := waitClosed(t, c); ev.Reason != ReasonMSRPLost || ev.Err == nil {
		t.Fatalf("closed with %v (%v)", ev.Reason, ev.Err)
	}
	nextReq(t, p.byes, "bye after the msrp loss")
	if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send on an ended call: %v", err)
	}
}
