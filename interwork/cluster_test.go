package interwork

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"iwf/internal/address"
	"iwf/internal/cpim"
	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// clusterNode is one engine of several sharing a real store, as the
// nodes of a deployment do; the SMS side is shared, so that a receipt
// shows whichever node sends it.
type clusterNode struct {
	eng      *Engine
	sessions *fakeSessions
}

// startClusterNodes starts n engines named n1, n2... on one real store
// (the topology IWF_TEST_STORE names), each with a store client of its
// own, with the partners given and the clock now.
func startClusterNodes(t *testing.T, n int, now func() time.Time, partners []Partner) ([]*clusterNode, *fakeSMS) {
	t.Helper()
	cfg := storeConfig(startRedis(t))
	sms := &fakeSMS{receipts: make(chan *smpp.Message, 64)}
	parts := concat.NewMemoryStore()
	var nodes []*clusterNode
	for i := range n {
		st, err := store.Open(testutil.Context(t), cfg, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		nd := &clusterNode{sessions: &fakeSessions{calls: make(chan *fakeCall, 8)}}
		nd.eng, err = New(Config{
			Node: "n" + string(rune('1'+i)), Queue: st, Leases: st, Records: st, Cluster: st,
			Parts: parts, Refs: concat.NewMemoryRefs(100, 1),
			Partners: partners,
			RCS:      RCS{Sessions: nd.sessions, Trunk: sipsession.DefaultTrunk(), Domain: "iwf.test", PagerPartner: "rcs"},
			SMS:      sms, Pager: &fakePager{sent: make(chan pager.Outgoing, 64)},
			// Long enough that a busy machine never lets a live node's
			// heartbeat or lease lapse.
			LeaseTTL: 10 * time.Second, RecoverEvery: 50 * time.Millisecond,
			Now:    now,
			Logger: testutil.Logger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = nd.eng.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-nd.eng.running
		nodes = append(nodes, nd)
	}
	return nodes, sms
}

// submitTo hands eng a submit_sm from..to asking for a receipt.
func submitTo(t *testing.T, eng *Engine, from, to, text string) error {
	t.Helper()
	msgs, err := smpp.TextMessages(smsAddr(from), smsAddr(to), text, smpp.TextOptions{}, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	msgs[0].RegisteredDelivery = 1
	_, err = eng.HandleSubmit(testutil.Context(t), "p", msgs[0])
	return err
}

// nextSession awaits the next session any node opens, and returns the
// node's index with it: any node may take a new conversation (the one
// that queued it, or another's recovery round).
func nextSession(t *testing.T, nodes []*clusterNode) (int, *fakeCall) {
	t.Helper()
	select {
	case c := <-nodes[0].sessions.calls:
		return 0, c
	case c := <-nodes[1].sessions.calls:
		return 1, c
	case <-time.After(30 * time.Second):
		t.Fatal("no session opened")
		return 0, nil
	}
}

// nextReceipt awaits the next delivery receipt toward the ESME.
func nextReceipt(t *testing.T, sms *fakeSMS) string {
	t.Helper()
	select {
	case m := <-sms.receipts:
		return string(m.ShortMessage)
	case <-time.After(30 * time.Second):
		t.Fatal("no receipt")
		return ""
	}
}

// Issue 12 item 6: a partner's rate limit holds for all nodes together.
// At one instant two nodes admit the one second's burst between them,
// not a burst each; a second later, the rate's worth again.
func TestClusterRateLimitShared(t *testing.T) {
	clk := &clock{now: time.Now()}
	pol := unitPolicy()
	pol.RateLimit = 5
	pol.Promotion = PromoteNever
	nodes, _ := startClusterNodes(t, 2, clk.Now, []Partner{{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP, Policy: pol}})
	admitted := func() int {
		n := 0
		for i := range 10 {
			err := submitTo(t, nodes[i%2].eng, "+46700000001", "+46700000002", "hi")
			switch {
			case err == nil:
				n++
			case !errors.Is(err, errThrottled):
				t.Fatal(err)
			}
		}
		return n
	}
	if n := admitted(); n != 5 {
		t.Fatalf("two nodes admitted %d messages at one instant under rate_limit 5", n)
	}
	clk.advance(time.Second)
	if n := admitted(); n != 5 {
		t.Fatalf("two nodes admitted %d messages a second later, want 5", n)
	}
}

// Issue 12 item 6: max_sessions counts the sessions of every node. With
// max_sessions 1 and a session up on the first node, the second node
// opens none for another conversation: on_session_limit fails the
// message back to its sender.
func TestClusterMaxSessionsShared(t *testing.T) {
	pol := unitPolicy()
	pol.MaxSessions = 1
	pol.OnSessionLimit = FallbackFail
	nodes, sms := startClusterNodes(t, 2, nil, []Partner{{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP, Policy: pol}})
	if err := submitTo(t, nodes[0].eng, "+46700000001", "+46700000002", "first"); err != nil {
		t.Fatal(err)
	}
	nextSession(t, nodes)
	if err := submitTo(t, nodes[1].eng, "+46700000003", "+46700000004", "second"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nodes[0].sessions.calls:
		t.Fatal("a second session opened under max_sessions 1")
	case <-nodes[1].sessions.calls:
		t.Fatal("a second session opened under max_sessions 1")
	case m := <-sms.receipts:
		if r := string(m.ShortMessage); !strings.Contains(r, "stat:REJECTD") {
			t.Fatalf("receipt %q, want the rejection", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no receipt for the message beyond max_sessions")
	}
	if n := nodes[0].sessions.openCount() + nodes[1].sessions.openCount(); n != 1 {
		t.Fatalf("%d sessions opened under max_sessions 1", n)
	}
	// The heartbeats publish the session, for the status page.
	testutil.Eventually(t, func() bool {
		ns, err := nodes[1].eng.Nodes(testutil.Context(t))
		return err == nil && len(ns) == 2 && ns[0].Name == "n1" && ns[1].Name == "n2" &&
			ns[0].Sessions["p"]+ns[1].Sessions["p"] == 1
	}, "both nodes listed with the session")
}

// Issue 12 item 6: the IMDN of a message sent in a session on one node
// comes to another (a MESSAGE the SBC handed there). The message waits
// in the first node's memory, not in the store: the IMDN is queued in
// the conversation, reaches its owner, and becomes the receipt.
func TestClusterIMDNReachesSessionOwner(t *testing.T) {
	nodes, sms := startClusterNodes(t, 2, nil, []Partner{{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP, Policy: unitPolicy()}})
	if err := submitTo(t, nodes[0].eng, "+46700000001", "+46700000002", "tell me"); err != nil {
		t.Fatal(err)
	}
	owner, call := nextSession(t, nodes)
	other := nodes[1-owner].eng
	id := imdnOf(t, call.nextSent(t).Body)
	sms1, err := address.Parse("+46700000001", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rcsUser, err := address.Parse("sip:+46700000002@rcs.test", address.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := &cpim.Notification{MessageID: id, Kind: cpim.DeliveryNotification, Status: cpim.StatusDelivered}
	if err := other.Accept(testutil.Context(t), &pager.Message{ID: "n-" + id, Partner: "rcs", From: rcsUser, To: sms1, Notification: n, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := nextReceipt(t, sms); !strings.Contains(r, "stat:DELIVRD") {
		t.Fatalf("receipt %q, want delivered", r)
	}
}
