package main

import (
	"context"
	"net"
	"testing"

	"iwf/internal/testutil"
	"iwf/session"
)

// startResponder runs the RCS side on loopback port 0 until the test
// ends, recording into tr.
func startResponder(t *testing.T, tr *tracker) (udp, tcp net.Addr) {
	t.Helper()
	cfg := Config{RCS: "127.0.0.1:0", MSRP: "127.0.0.1:0", Logger: testutil.Logger(t)}.withDefaults()
	r, err := newResponder(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-r.ready()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("responder run: %v", err)
		}
	})
	return r.sipAddrs()
}

// sent is one MSRP message a test UAC sends.
type sent struct {
	contentType string
	body        []byte
}

func TestResponderCountsMessages(t *testing.T) {
	const run = "r1"
	cpimOf := func(tb testing.TB, text string) sent {
		return sent{"message/cpim", cpimText(tb, "+46700000000", "+4671000000", text)}
	}
	tests := []struct {
		name      string
		transport string
		called    string // number the session is opened to
		msgs      func(tb testing.TB) []sent
		// want counters
		received, duplicates, foreign, misrouted int
	}{
		{
			name: "three cpim messages over udp", transport: "udp", called: "+4671000000",
			msgs: func(tb testing.TB) []sent {
				return []sent{cpimOf(tb, "load r1 0"), cpimOf(tb, "load r1 1"), cpimOf(tb, "load r1 2")}
			},
			received: 3,
		},
		{
			name: "three cpim messages over tcp", transport: "tcp", called: "+4671000000",
			msgs: func(tb testing.TB) []sent {
				return []sent{cpimOf(tb, "load r1 2"), cpimOf(tb, "load r1 0"), cpimOf(tb, "load r1 1")}
			},
			received: 3,
		},
		{
			name: "duplicate and foreign", transport: "tcp", called: "+4671000000",
			msgs: func(tb testing.TB) []sent {
				return []sent{
					cpimOf(tb, "load r1 0"), cpimOf(tb, "load r1 0"),
					cpimOf(tb, "load other 1"), // an earlier run's leftover
					cpimOf(tb, "load r1 99"),   // beyond -n
					{"message/cpim", []byte("not cpim at all")},
					{"text/plain", []byte("load r1 1")}, // bare text is still counted
				}
			},
			received: 2, duplicates: 1, foreign: 3,
		},
		{
			name: "session to another number", transport: "udp", called: "+4671000007",
			msgs: func(tb testing.TB) []sent {
				return []sent{cpimOf(tb, "load r1 0"), cpimOf(tb, "load r1 1")}
			},
			received: 2, misrouted: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			// The UAC outlives the responder, which ends its sessions with BYE.
			u := startUAC(t)
			tr := newTracker(run, 3, 1)
			udp, tcp := startResponder(t, tr)
			ctx := testutil.Context(t)
			hop := udp
			if tc.transport == "tcp" {
				hop = tcp
			}
			call, err := u.open(ctx, "+46700000000", tc.called, hop, tc.transport)
			if err != nil {
				t.Fatal(err)
			}
			msgs := tc.msgs(t)
			for _, m := range msgs {
				if _, err := call.Send(ctx, &session.OutgoingMessage{ContentType: m.contentType, Body: m.body}); err != nil {
					t.Fatal(err)
				}
			}
			// Every message is answered 200 after the responder counted it.
			if err := tr.wait(ctx, func(tr *tracker) bool {
				return tr.received+tr.duplicates+tr.foreign == len(msgs)
			}); err != nil {
				t.Fatalf("counted %d of %d: %v", tr.received+tr.duplicates+tr.foreign, len(msgs), err)
			}
			rep := tr.report(Report{}, tr.lastRecv)
			if rep.Received != tc.received || rep.Duplicates != tc.duplicates || rep.Foreign != tc.foreign ||
				rep.Misrouted != tc.misrouted || rep.Sessions != 1 {
				t.Errorf("report %+v, want received %d duplicates %d foreign %d misrouted %d on 1 session",
					rep, tc.received, tc.duplicates, tc.foreign, tc.misrouted)
			}
			if tc.foreign > 0 && rep.ForeignFirst == "" {
				t.Error("no reason given for the foreign messages")
			}
			if err := call.Close(ctx); err != nil {
				t.Errorf("bye: %v", err)
			}
			// The responder sees the BYE end its session.
			if err := tr.wait(ctx, func(tr *tracker) bool { return tr.ended == 1 }); err != nil {
				t.Errorf("session not ended by the bye: %v", err)
			}
		})
	}
}
