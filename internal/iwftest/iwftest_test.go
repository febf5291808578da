package iwftest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/session/sipsession"
	"iwf/smpp"
)

// Down hangs up the calls the RCS side holds and refuses INVITEs with its
// status; Up takes them again.
func TestRCSDownUp(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	caller := iwftest.StartRCSOn(t, "127.0.0.2")
	trunk := sipsession.DefaultTrunk()
	trunk.Name = "rcs"
	trunk.NextHop = "sip:" + rcs.TCP() + ";transport=tcp"
	req := sipsession.OpenRequest{From: "sip:+46700000009@rcs.test", To: "sip:+46700000001@rcs.test", Trunk: trunk}
	ctx := testutil.Context(t)

	call, err := caller.Manager.Open(ctx, req)
	if err != nil {
		t.Fatalf("INVITE before Down: %v", err)
	}
	<-rcs.Calls
	if err := rcs.Down(ctx, 503); err != nil {
		t.Fatalf("Down: %v", err)
	}
	select {
	case <-call.Done():
	case <-time.After(iwftest.Wait):
		t.Fatal("the call outlived Down")
	}
	var se *sipsession.Error
	if _, err := caller.Manager.Open(ctx, req); !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("INVITE while down: %v, want 503", err)
	}
	rcs.Up()
	again, err := caller.Manager.Open(ctx, req)
	if err != nil {
		t.Fatalf("INVITE after Up: %v", err)
	}
	<-rcs.Calls
	_ = again.Close(ctx)
}

// BindESMEWith's Answer decides each deliver_sm_resp: a status, or none.
func TestESMEAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smpp.NewServer(ln, smpp.ServerConfig{
		ResponseTimeout: time.Minute,
		Partners:        []smpp.ServerPartner{{Name: "demo", SystemID: "demo", Password: "demo", MaxBinds: 1, Window: 10}},
	}, smpp.SubmitHandlerFunc(func(context.Context, string, *smpp.Message) (string, error) { return "id", nil }), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(context.WithoutCancel(t.Context())) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	answers := []struct {
		status data.CommandStatusType
		answer bool
	}{{data.ESME_ROK, true}, {data.ESME_RTHROTTLED, true}, {0, false}}
	n := 0
	e := iwftest.BindESMEWith(t, ln.Addr().String(), "demo", "demo", iwftest.ESMEOptions{
		Answer: func(*pdu.DeliverSM) (data.CommandStatusType, bool) {
			a := answers[n%len(answers)]
			n++
			return a.status, a.answer
		},
	})
	testutil.Eventually(t, func() bool { return srv.HasReceiver("demo") }, "the bind")
	msg := &smpp.Message{
		Source: smpp.Address{TON: 1, NPI: 1, Addr: "46700000009"}, Dest: smpp.Address{TON: 1, NPI: 1, Addr: "46700000001"},
		ShortMessage: []byte("hello"),
	}
	ctx := testutil.Context(t)
	if _, err := srv.Deliver(ctx, "demo", msg); err != nil {
		t.Fatalf("first deliver_sm: %v, want ESME_ROK", err)
	}
	var se *smpp.StatusError
	if _, err := srv.Deliver(ctx, "demo", msg); !errors.As(err, &se) || se.Status != uint32(data.ESME_RTHROTTLED) {
		t.Fatalf("second deliver_sm: %v, want ESME_RTHROTTLED", err)
	}
	// No answer: the deadline, not a measured time, is how the test sees
	// that none comes.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := srv.Deliver(short, "demo", msg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third deliver_sm: %v, want no answer", err)
	}
	for i := range 3 {
		if _, ok := e.Next(t).(*pdu.DeliverSM); !ok {
			t.Fatalf("PDU %d is not a deliver_sm", i)
		}
	}
}
