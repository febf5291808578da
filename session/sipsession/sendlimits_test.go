package sipsession

import (
	"context"
	"errors"
	"testing"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrpsdp"
)

// answerLimited answers as answerMSRP does, with a peer that takes only
// text/plain and at most 10 octets.
func answerLimited(p *uasPeer, req *sip.Request, tx sip.ServerTransaction) {
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
	local := peerMedia(s, msrpsdp.SetupPassive)
	local.AcceptTypes, local.MaxSize = []string{"text/plain"}, 10
	o, _ := msrpsdp.NewOrigin("127.0.0.1")
	body, neg, err := msrpsdp.BuildAnswer(o, offer, local)
	if err != nil {
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		return
	}
	_ = s.Connect(ctx, neg.Remote.Path, neg.Active)
	p.sess <- s
	respondSDP(p, dlg, body)
}

// RFC 4975 section 8.6: Send puts on the wire only what the peer's SDP
// takes; the rest is refused before it leaves, and the session stays.
func TestSendWithinPeerLimits(t *testing.T) {
	w := newIWF(t, nil)
	p := newUASPeer(t, answerLimited)
	ctx := testutil.Context(t)
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: trunkTo(p.st, "tcp")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    session.OutgoingMessage
		want error
	}{
		{"cpim refused", session.OutgoingMessage{ContentType: "message/cpim", Body: []byte("x")}, ErrContentRefused},
		{"over max-size", session.OutgoingMessage{ContentType: "text/plain", Body: []byte("eleven byte")}, ErrTooLarge},
		{"fits", session.OutgoingMessage{ContentType: "text/plain;charset=UTF-8", Body: []byte("ten bytes!")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Send(ctx, &tc.m); !errors.Is(err, tc.want) {
				t.Fatalf("Send = %v, want %v", err, tc.want)
			}
		})
	}
	if m := p.rec.next(t); string(m.Body) != "ten bytes!" {
		t.Fatalf("peer got %q", m.Body)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	nextReq(t, p.byes, "bye")
}

// Queue checks what Send checks before anything leaves, counts the
// message in the call's listing once it was answered (once, however
// often its outcome is taken), and refuses a call that ended.
func TestQueueWithinPeerLimits(t *testing.T) {
	w := newIWF(t, nil)
	p := newUASPeer(t, answerLimited)
	ctx := testutil.Context(t)
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: trunkTo(p.st, "tcp")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    session.OutgoingMessage
		want error
	}{
		{"cpim refused", session.OutgoingMessage{ContentType: "message/cpim", Body: []byte("x")}, ErrContentRefused},
		{"over max-size", session.OutgoingMessage{ContentType: "text/plain", Body: []byte("eleven byte")}, ErrTooLarge},
	} {
		if pd, err := c.Queue(ctx, &tc.m); !errors.Is(err, tc.want) || pd != nil {
			t.Fatalf("%s: Queue = %v, %v, want %v", tc.name, pd, err, tc.want)
		}
	}
	pd, err := c.Queue(ctx, &session.OutgoingMessage{MessageID: "fits0001", ContentType: "text/plain", Body: []byte("ten bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if id, err := pd.Wait(ctx); err != nil || id != "fits0001" {
			t.Fatalf("Wait = %s, %v", id, err)
		}
	}
	if m := p.rec.next(t); string(m.Body) != "ten bytes!" {
		t.Fatalf("peer got %q", m.Body)
	}
	if rows, _ := w.m.Sessions(0, 10, ""); len(rows) != 1 || rows[0].MessagesOut != 1 || rows[0].BytesOut != 10 {
		t.Fatalf("listed %+v, want 1 message (10 bytes) out", rows)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	nextReq(t, p.byes, "bye")
	if _, err := c.Queue(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Queue on an ended call = %v, want ErrClosed", err)
	}
}
