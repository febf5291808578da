package smpptest

import (
	"errors"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
)

// bindPeer binds gosmpp's transceiver and returns it with the PDUs it gets.
func bindPeer(t *testing.T, s *Server, password string) (*gosmpp.Session, chan pdu.PDU, error) {
	t.Helper()
	got := make(chan pdu.PDU, 64)
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(gosmpp.NonTLSDialer, gosmpp.Auth{SMSC: s.Addr(), SystemID: "esme", Password: password}),
		gosmpp.Settings{ReadTimeout: 10 * time.Second, OnAllPDU: func(p pdu.PDU) (pdu.PDU, bool) {
			got <- p
			if _, ok := p.(*pdu.DeliverSM); ok {
				return p.GetResponse(), false
			}
			return nil, false
		}}, 0)
	if err == nil {
		t.Cleanup(func() { _ = sess.Close() })
	}
	return sess, got, err
}

func next(t *testing.T, ch chan pdu.PDU) pdu.PDU {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
		return nil
	}
}

func TestServer(t *testing.T) {
	s := Start(t, Config{SystemID: "esme", Password: "pw"})
	if _, _, err := bindPeer(t, s, "bad"); !errors.As(err, new(gosmpp.BindError)) {
		t.Fatalf("wrong password bound: %v", err)
	}
	sess, got, err := bindPeer(t, s, "pw")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Context(t)
	if err := s.Wait(ctx, func(st State) bool { return st.Bound == 1 }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		status uint32
		wantID string
	}{
		{"accepted", StatusOK, "msg-1"},
		{"throttled on demand", StatusThrottled, ""},
		{"accepted again", StatusOK, "msg-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != StatusOK {
				s.RespondNext(1, tc.status)
			}
			if err := sess.Transceiver().Submit(pdu.NewSubmitSM()); err != nil {
				t.Fatal(err)
			}
			r, ok := next(t, got).(*pdu.SubmitSMResp)
			if !ok || uint32(r.CommandStatus) != tc.status || r.MessageID != tc.wantID {
				t.Fatalf("got %+v", r)
			}
		})
	}
	if n := len(s.Submits()); n != 3 {
		t.Errorf("recorded %d submits", n)
	}
	status, err := s.DeliverReceipt(ctx, "1", "2", "msg-1", "DELIVRD", 2)
	if err != nil || status != StatusOK {
		t.Fatalf("receipt: %d %v", status, err)
	}
	if d, ok := next(t, got).(*pdu.DeliverSM); !ok || d.EsmClass != 0x04 {
		t.Fatalf("got %+v", d)
	}
	s.Drop()
	if err := s.Wait(ctx, func(st State) bool { return st.Bound == 0 }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, Deliver{Source: "1", Dest: "2"}); !errors.Is(err, ErrNoReceiver) {
		t.Errorf("deliver without binds: %v", err)
	}
}
