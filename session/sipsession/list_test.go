package sipsession

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/testutil"
	"iwf/session"
)

// fakeTable fills a Manager's table with n calls, started one second
// apart in reverse order of their Call-IDs, every tenth for partner
// "beta"; none runs anything.
func fakeTable(t *testing.T, n int) *Manager {
	t.Helper()
	m := &Manager{calls: make(map[string]*Call), log: testutil.Logger(t)}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		partner := "alpha"
		if i%10 == 0 {
			partner = "beta"
		}
		c := m.newCall(Incoming, partner)
		c.callID = fmt.Sprintf("call-%05d", i)
		c.dialogID = c.callID
		c.from = sip.Uri{Scheme: "sip", User: fmt.Sprintf("+4670%05d", i), Host: "rcs.test"}
		c.to = sip.Uri{Scheme: "tel", User: "+46700000001"}
		c.counts.started = base.Add(time.Duration(n-i) * time.Second)
		c.counts.msgsIn.Store(int64(i))
		if i%2 == 0 {
			c.markReady()
		}
		m.calls[c.dialogID] = c
	}
	return m
}

// The listing of 10,000 calls is paged, ordered oldest first, filtered on
// the server side, and counts all the calls that matched.
func TestSessionsPagesAndFilters(t *testing.T) {
	m := fakeTable(t, 10000)
	for _, tc := range []struct {
		name                  string
		offset, limit         int
		filter                string
		wantTotal, wantLen    int
		wantFirst, wantState  string
		wantFirstMessagesSeen int64
	}{
		{name: "first page", limit: 50, wantTotal: 10000, wantLen: 50, wantFirst: "call-09999", wantState: StateAnswering, wantFirstMessagesSeen: 9999},
		{name: "second page", offset: 50, limit: 50, wantTotal: 10000, wantLen: 50, wantFirst: "call-09949", wantState: StateAnswering, wantFirstMessagesSeen: 9949},
		{name: "last partial page", offset: 9990, limit: 50, wantTotal: 10000, wantLen: 10, wantFirst: "call-00009", wantState: StateAnswering, wantFirstMessagesSeen: 9},
		{name: "past the end", offset: 20000, limit: 50, wantTotal: 10000},
		{name: "limit capped", limit: 1 << 20, wantTotal: 10000, wantLen: MaxListLimit, wantFirst: "call-09999", wantState: StateAnswering, wantFirstMessagesSeen: 9999},
		{name: "partner filter, case folded", limit: 5, filter: "BETA", wantTotal: 1000, wantLen: 5, wantFirst: "call-09990", wantState: StateEstablished, wantFirstMessagesSeen: 9990},
		{name: "party filter", limit: 5, filter: "+46700042", wantTotal: 10, wantLen: 5, wantFirst: "call-00429", wantState: StateAnswering, wantFirstMessagesSeen: 429},
		{name: "state filter", limit: 1, filter: "established", wantTotal: 5000, wantLen: 1, wantFirst: "call-09998", wantState: StateEstablished, wantFirstMessagesSeen: 9998},
		{name: "no match", limit: 5, filter: "nobody", wantTotal: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, total := m.Sessions(tc.offset, tc.limit, tc.filter)
			if total != tc.wantTotal || len(rows) != tc.wantLen {
				t.Fatalf("%d rows of %d, want %d of %d", len(rows), total, tc.wantLen, tc.wantTotal)
			}
			if rows == nil {
				t.Fatal("nil page, want empty")
			}
			if tc.wantLen == 0 {
				return
			}
			first := rows[0]
			if first.CallID != tc.wantFirst || first.State != tc.wantState || first.MessagesIn != tc.wantFirstMessagesSeen {
				t.Fatalf("first row %+v, want %s %s with %d messages in", first, tc.wantFirst, tc.wantState, tc.wantFirstMessagesSeen)
			}
			for i := 1; i < len(rows); i++ {
				if rows[i].Started.Before(rows[i-1].Started) {
					t.Fatalf("row %d started before row %d", i, i-1)
				}
			}
		})
	}
}

// A real call lists its parties, peer, state and what it carried each
// way, and leaves the listing when it ends.
func TestSessionsCountsTraffic(t *testing.T) {
	w := newIWF(t, nil)
	p := newUASPeer(t, answerMSRP)
	ctx := testutil.Context(t)
	c, err := w.m.Open(ctx, OpenRequest{From: "sip:+15550001@iwf.example", To: "tel:+15550002", Trunk: trunkTo(p.st, "tcp")})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "three"} {
		if _, err := c.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(text)}); err != nil {
			t.Fatal(err)
		}
		p.rec.next(t)
	}
	ps := <-p.sess
	if _, err := ps.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("hello iwf")}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, c)
	rows, total := w.m.Sessions(0, 10, "")
	if total != 1 {
		t.Fatalf("%d calls listed, want 1", total)
	}
	got := rows[0]
	peer := ps.LocalURI().Addr()
	if got.CallID != c.CallID() || got.MSRPSession != c.MSRPSessionID() || got.Direction != Outgoing ||
		got.From != "sip:+15550001@iwf.example" || got.Peer != peer || got.State != StateEstablished ||
		got.MessagesOut != 2 || got.BytesOut != 8 || got.MessagesIn != 1 || got.BytesIn != 9 || got.Started.IsZero() {
		t.Fatalf("listed %+v; want call %s to peer %s, 2 messages (8 bytes) out and 1 (9 bytes) in", got, c.CallID(), peer)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, total := w.m.Sessions(0, 10, ""); total != 0 {
		t.Fatalf("%d calls listed after the call ended", total)
	}
}
