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
	"iwf/session/msrp"
	"iwf/session/msrpsdp"
	"iwf/session/msrptest"
)

// uacPeer is an RCS client built on sipgo that calls the IWF.
type uacPeer struct {
	st      *sipstack.Stack
	dialogs *sipgo.DialogClientCache
	byes    chan *sip.Request
}

func newUACPeer(t *testing.T) *uacPeer {
	t.Helper()
	p := &uacPeer{byes: make(chan *sip.Request, 4)}
	sipstacktest.Start(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		p.st = st
		client, err := st.Client("udp")
		if err != nil {
			t.Fatal(err)
		}
		p.dialogs = sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: st.Contact("udp", "alice")})
		srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = p.dialogs.ReadBye(req, tx)
			p.byes <- req
		})
	})
	return p
}

// iwfURI is the IWF's address as a Request-URI.
func iwfURI(w *iwf, user string) sip.Uri {
	return w.st.Contact("udp", user)
}

// invite starts an INVITE with an SDP offer toward the IWF.
func (p *uacPeer) invite(t *testing.T, ctx context.Context, w *iwf, offer []byte) *sipgo.DialogClientSession {
	t.Helper()
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+15550100", Host: "rcs.example"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	dlg, err := p.dialogs.Invite(ctx, iwfURI(w, "+15550200"), offer,
		sip.NewHeader("Content-Type", "application/sdp"), from,
		sip.NewHeader("Conversation-ID", "conv-in"), sip.NewHeader("Contribution-ID", "contrib-in"))
	if err != nil {
		t.Fatal(err)
	}
	return dlg
}

// raw sends one request outside any dialog and returns the final answer.
func (p *uacPeer) raw(t *testing.T, w *iwf, method sip.RequestMethod, body []byte, headers ...sip.Header) *sip.Response {
	t.Helper()
	req := sip.NewRequest(method, iwfURI(w, "+15550200"))
	req.AppendHeader(&sip.ContactHeader{Address: p.st.Contact("udp", "alice")})
	for _, h := range headers {
		req.AppendHeader(h)
	}
	if body != nil {
		req.SetBody(body)
	}
	client, err := p.st.Client("udp")
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(testutil.Context(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func answerOf(t *testing.T, dlg *sipgo.DialogClientSession) msrpsdp.Media {
	t.Helper()
	d, err := msrpsdp.Parse(dlg.InviteResponse.Body())
	if err != nil {
		t.Fatalf("answer: %v\n%s", err, dlg.InviteResponse.Body())
	}
	return d.Media
}

func nextCall(t *testing.T, w *iwf) *Call { return recv(t, w.incoming, "incoming call") }

// offerMedia is a raw peer's media: setup active, so the test's raw MSRP
// connection is the one that binds.
func offerMedia(id string) msrpsdp.Media {
	return msrpsdp.Media{
		Addr: "127.0.0.1", Port: 9, Path: fakePath(id),
		AcceptTypes: []string{"message/cpim", "text/plain"}, Setup: msrpsdp.SetupActive,
	}
}

func TestIncomingCallLifecycle(t *testing.T) {
	w := newIWF(t, nil)
	p := newUACPeer(t)
	ctx := testutil.Context(t)

	dlg := p.invite(t, ctx, w, buildOffer(t, offerMedia("peerA")))
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	ans := answerOf(t, dlg)
	if ans.Setup != msrpsdp.SetupPassive {
		t.Errorf("answer setup %v, want passive against an active offer", ans.Setup)
	}
	if err := dlg.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	c := nextCall(t, w)
	if c.Direction() != Incoming || c.ConversationID() != "conv-in" || c.ContributionID() != "contrib-in" || c.From().User != "+15550100" {
		t.Errorf("call %v conv %q contrib %q from %s", c.Direction(), c.ConversationID(), c.ContributionID(), c.From().User)
	}

	// The peer connects (it is active) and sends: the message reaches the
	// Call handed to OnIncoming.
	iwfURI := ans.Path[len(ans.Path)-1]
	mp := msrptest.Dial(t, iwfURI.Addr())
	mp.Write(t, &msrp.Frame{
		Method: msrp.MethodSEND, TransactionID: "tid00001", ToPath: iwfURI.String(), FromPath: fakePath("peerA")[0].String(),
		MessageID: "msg00001", ByteRange: msrp.ByteRange{Start: 1, End: 5, Total: 5}, ContentType: "text/plain", Body: []byte("hello"), Flag: msrp.FlagEnd,
	})
	if r := mp.Read(t); r.StatusCode != 200 {
		t.Fatalf("send answered %d %s", r.StatusCode, r.Comment)
	}
	if ev := nextEvent(t, c); ev.Kind != EventMessage || string(ev.Message.Body) != "hello" {
		t.Fatalf("event %+v", ev)
	}

	reinvite := func(body []byte) *sip.Response {
		t.Helper()
		req := sip.NewRequest(sip.INVITE, dlg.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
		res, err := dlg.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.IsSuccess() {
			if err := dlg.WriteRequest(sip.NewRequest(sip.ACK, req.Recipient)); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
	// A re-INVITE we cannot take: 488, the session stays.
	bad := offerMedia("peerA")
	bad.AcceptTypes = []string{"image/png"}
	if res := reinvite(buildOffer(t, bad)); res.StatusCode != 488 || res.GetHeader("Warning") == nil {
		t.Fatalf("bad re-invite answered %d, warning %v", res.StatusCode, res.GetHeader("Warning"))
	}
	// A new path (an SBC moved the media): our requests follow it.
	if res := reinvite(buildOffer(t, offerMedia("peerB"))); res.StatusCode != 200 {
		t.Fatalf("re-invite answered %d", res.StatusCode)
	}
	if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("to b"), FailureReport: msrp.ReportNo}); err != nil {
		t.Fatal(err)
	}
	if f := mp.Read(t); f.ToPath != fakePath("peerB")[0].String() || string(f.Body) != "to b" {
		t.Fatalf("send after re-invite: To-Path %s body %q", f.ToPath, f.Body)
	}

	// BYE from the peer closes the call.
	if err := dlg.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := waitClosed(t, c); ev.Reason != ReasonPeerBye {
		t.Fatalf("closed with %v", ev.Reason)
	}
	select {
	case <-c.Session().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("msrp session still open after BYE")
	}
}

func TestIncomingRefused(t *testing.T) {
	good := func(t *testing.T) []byte { return buildOffer(t, offerMedia("peer")) }
	sdpType := sip.NewHeader("Content-Type", "application/sdp")
	tests := []struct {
		name     string
		method   sip.RequestMethod
		body     func(t *testing.T) []byte
		headers  []sip.Header
		reject   error
		status   int
		warning  string // substring of the Warning header
		wantHdrs map[string]string
	}{
		{name: "no body", method: sip.INVITE, status: 400},
		{name: "not sdp", method: sip.INVITE, body: func(*testing.T) []byte { return []byte("hi") },
			headers: []sip.Header{sip.NewHeader("Content-Type", "text/plain")}, status: 415, wantHdrs: map[string]string{"Accept": "application/sdp"}},
		{name: "malformed sdp", method: sip.INVITE, body: func(*testing.T) []byte { return []byte("v=0\r\nbogus\r\n") },
			headers: []sip.Header{sdpType}, status: 488, warning: "307"},
		{name: "audio only", method: sip.INVITE, headers: []sip.Header{sdpType}, status: 488, warning: "304",
			body: func(*testing.T) []byte {
				return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
			}},
		{name: "no common type", method: sip.INVITE, headers: []sip.Header{sdpType}, status: 488, warning: "305",
			body: func(t *testing.T) []byte {
				m := offerMedia("peer")
				m.AcceptTypes = []string{"image/png"}
				return buildOffer(t, m)
			}},
		{name: "tls offer", method: sip.INVITE, headers: []sip.Header{sdpType}, status: 488, warning: "302",
			body: func(t *testing.T) []byte {
				m := offerMedia("peer")
				m.Secure = true
				m.Path[0].Secure = true
				return buildOffer(t, m)
			}},
		{name: "busy", method: sip.INVITE, body: good, headers: []sip.Header{sdpType}, reject: Reject(486, "Busy Here"), status: 486},
		{name: "handler error", method: sip.INVITE, body: good, headers: []sip.Header{sdpType}, reject: errors.New("boom"), status: 500},
		{name: "unknown dialog", method: sip.INVITE, body: good, status: 481,
			headers: []sip.Header{sdpType, &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "x", Host: "iwf"}, Params: sip.HeaderParams{{K: "tag", V: "nosuch"}}}}},
		{name: "bye unknown", method: sip.BYE, status: 481},
		{name: "cancel unknown", method: sip.CANCEL, status: 481},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, func(c *Config) {
				if tc.reject != nil {
					c.OnIncoming = func(*Call) error { return tc.reject }
				}
			})
			p := newUACPeer(t)
			var body []byte
			if tc.body != nil {
				body = tc.body(t)
			}
			res := p.raw(t, w, tc.method, body, tc.headers...)
			if res.StatusCode != tc.status {
				t.Fatalf("answered %d %s, want %d", res.StatusCode, res.Reason, tc.status)
			}
			if tc.warning != "" {
				h := res.GetHeader("Warning")
				if h == nil || !strings.HasPrefix(h.Value(), tc.warning+" ") {
					t.Fatalf("Warning %v, want code %s", h, tc.warning)
				}
			}
			for k, v := range tc.wantHdrs {
				if h := res.GetHeader(k); h == nil || h.Value() != v {
					t.Errorf("%s = %v, want %q", k, h, v)
				}
			}
			if w.m.Calls() != 0 {
				t.Errorf("%d calls left", w.m.Calls())
			}
		})
	}
}

func TestIncomingCancel(t *testing.T) {
	ended := make(chan *Call, 1)
	w := newIWF(t, func(c *Config) {
		c.OnIncoming = func(call *Call) error {
			// Ringing until the caller gives up.
			<-call.Context().Done()
			ended <- call
			return errors.New("cancelled")
		}
	})
	p := newUACPeer(t)
	ctx := testutil.Context(t)
	dlg := p.invite(t, ctx, w, buildOffer(t, offerMedia("peer")))
	wctx, cancel := context.WithCancel(ctx)
	err := dlg.WaitAnswer(wctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.IsProvisional() {
			cancel() // CANCEL once the INVITE is known to have arrived
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitAnswer: %v", err)
	}
	if got := dlg.InviteResponse.StatusCode; got != 487 {
		t.Fatalf("invite answered %d, want 487", got)
	}
	c := recv(t, ended, "release of OnIncoming by the CANCEL")
	if ev := waitClosed(t, c); ev.Reason != ReasonCanceled && ev.Reason != ReasonRejected {
		t.Fatalf("closed with %v", ev.Reason)
	}
}

func TestIncomingAckTimeout(t *testing.T) {
	w := newIWF(t, func(c *Config) { c.AckTimeout = 300 * time.Millisecond })
	p := newUACPeer(t)
	// INVITE over a plain transaction: the 200 is never acknowledged.
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "rcs.example"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	res := p.raw(t, w, sip.INVITE, buildOffer(t, offerMedia("peer")), sip.NewHeader("Content-Type", "application/sdp"), from)
	if res.StatusCode != 200 {
		t.Fatalf("answered %d", res.StatusCode)
	}
	c := nextCall(t, w)
	if ev := waitClosed(t, c); ev.Reason != ReasonAckTimeout {
		t.Fatalf("closed with %v", ev.Reason)
	}
	// RFC 3261 section 13.3.1.4: the unacknowledged session gets a BYE.
	if bye := recv(t, p.byes, "BYE after the ACK timeout"); bye.CallID().Value() != res.CallID().Value() {
		t.Fatalf("bye for %s", bye.CallID().Value())
	}
}

// TestIncomingActive: the peer offers passive (or actpass with our policy
// active), so the IWF connects to the peer's path once the ACK came.
func TestIncomingActive(t *testing.T) {
	tests := []struct {
		name        string
		offerSetup  msrpsdp.Setup
		answerSetup string
	}{
		{name: "passive offer", offerSetup: msrpsdp.SetupPassive},
		{name: "actpass offer, active policy", offerSetup: msrpsdp.SetupActPass, answerSetup: "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, func(c *Config) { c.AnswerSetup = tc.answerSetup })
			p := newUACPeer(t)
			ctx := testutil.Context(t)
			rcs := msrptest.NewEndpoint(t, session.Config{})
			rec := newRecorder()
			ps, err := rcs.NewSession(ctx, session.SessionOptions{Handler: rec.handler()})
			if err != nil {
				t.Fatal(err)
			}
			dlg := p.invite(t, ctx, w, buildOffer(t, peerMedia(ps, tc.offerSetup)))
			if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			ans := answerOf(t, dlg)
			if ans.Setup != msrpsdp.SetupActive {
				t.Fatalf("answer setup %v, want active", ans.Setup)
			}
			if err := ps.Connect(ctx, ans.Path, false); err != nil {
				t.Fatal(err)
			}
			if err := dlg.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			c := nextCall(t, w)
			if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("active")}); err != nil {
				t.Fatal(err)
			}
			if m := rec.next(t); string(m.Body) != "active" {
				t.Fatalf("peer got %q", m.Body)
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			nextReq(t, p.byes, "bye from the iwf")
		})
	}
}
