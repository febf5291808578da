package sipsession

import (
	"errors"
	"testing"

	"iwf/internal/testutil"
)

// Live lists an established call by Call-ID and MSRP session; End by
// either id sends the BYE the peer sees, and an unknown id is ErrNoCall.
func TestLiveAndEnd(t *testing.T) {
	for _, by := range []string{"call-id", "msrp-session"} {
		t.Run(by, func(t *testing.T) {
			w := newIWF(t, nil)
			p := newUASPeer(t, answerMSRP)
			ctx := testutil.Context(t)
			c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: trunkTo(p.st, "tcp")})
			if err != nil {
				t.Fatal(err)
			}
			nextReq(t, p.acks, "ack")
			live := w.m.Live()
			if len(live) != 1 || live[0].CallID != c.CallID() || live[0].MSRPSession != c.MSRPSessionID() || live[0].Direction != Outgoing {
				t.Fatalf("Live %+v", live)
			}
			if _, err := w.m.End(ctx, "no-such-call"); !errors.Is(err, ErrNoCall) {
				t.Fatalf("End of an unknown id: %v", err)
			}
			id := live[0].CallID
			if by == "msrp-session" {
				id = live[0].MSRPSession
			}
			info, err := w.m.End(ctx, id)
			if err != nil || info.CallID != c.CallID() {
				t.Fatalf("End: %+v %v", info, err)
			}
			nextReq(t, p.byes, "bye")
			<-c.Done()
			if c.Reason() != ReasonLocal {
				t.Fatalf("reason %v", c.Reason())
			}
			if n := len(w.m.Live()); n != 0 {
				t.Fatalf("%d calls live after End", n)
			}
		})
	}
}
