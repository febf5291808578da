package session_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"iwf/internal/testcert"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

func TestTLSSession(t *testing.T) {
	cert, pool := testcert.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	b, err := session.NewEndpoint(session.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Secure: true,
		TLS: serverTLS, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve(context.Background(), tls.NewListener(ln, serverTLS))
	t.Cleanup(func() { b.Close() })
	a := msrptest.NewEndpoint(t, session.Config{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	rb := newRecorder()
	sa, sb := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{Handler: rb})
	if !sb.LocalURI().Secure || sb.LocalPath()[0].String()[:8] != "msrps://" {
		t.Fatalf("local path %v", sb.LocalPath())
	}
	if _, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("over TLS")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rb.msgs, "TLS message"); string(m.Body) != "over TLS" {
		t.Fatalf("got %q", m.Body)
	}
}

func TestTLSRejectsUntrustedPeer(t *testing.T) {
	cert, _ := testcert.New(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln := tls.NewListener(raw, serverTLS)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	a := msrptest.NewEndpoint(t, session.Config{})
	s, err := a.NewSession(testutil.Context(t), session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := msrp.URI{Secure: true, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, SessionID: "x", Transport: "tcp"}
	if err := s.Connect(testutil.Context(t), []msrp.URI{u}, true); err == nil {
		t.Fatal("connected to a peer with an untrusted certificate")
	}
	if st := a.Stats(); st.ConnectFailures != 1 {
		t.Fatalf("connect failures %d", st.ConnectFailures)
	}
}

func TestSenderSeesConnectionLossWithoutLeaks(t *testing.T) {
	leaks := testutil.NewLeakCheck()
	func() {
		a := newEndpointNoCleanup(t)
		defer a.Close()
		b := newEndpointNoCleanup(t)
		sink := &hashSink{h: sha256.New()}
		sa, _ := pair(t, a, b, session.SessionOptions{}, session.SessionOptions{AcceptTypes: []string{"*"},
			NewSink: func(*session.Message) (session.Sink, error) { return sink, nil }})
		errc := make(chan error, 1)
		go func() {
			_, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "application/octet-stream", Reader: &patternReader{n: 1 << 40}, Size: -1})
			errc <- err
		}()
		recv(t, sink.reached(1<<20), "first MB")
		b.Close()
		if err := recv(t, errc, "send result"); !errors.Is(err, session.ErrConnLost) {
			t.Fatalf("send after peer loss: %v", err)
		}
		if err := sa.Err(); !errors.Is(err, session.ErrConnLost) {
			t.Fatalf("session error %v", err)
		}
	}()
	leaks.Check(t)
}

func TestManualReports(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{})
	ra, rb := newRecorder(), newRecorder()
	sa, _ := pair(t, a, b, session.SessionOptions{Handler: ra}, session.SessionOptions{Handler: rb, ManualReports: true})
	for _, body := range []string{"to be delivered", "to fail"} {
		if _, err := sa.Send(testutil.Context(t), &session.OutgoingMessage{ContentType: "text/plain", Body: []byte(body), SuccessReport: true}); err != nil {
			t.Fatal(err)
		}
	}
	ok, bad := recv(t, rb.msgs, "first"), recv(t, rb.msgs, "second")
	select {
	case r := <-ra.reports:
		t.Fatalf("report before the application decided: %+v", r)
	default:
	}
	// Later, once the pager side answered:
	if err := bad.Report(413, "Too Large For SMS"); err != nil {
		t.Fatal(err)
	}
	if err := ok.Report(200, "OK"); err != nil {
		t.Fatal(err)
	}
	r1, r2 := recv(t, ra.reports, "failure report"), recv(t, ra.reports, "success report")
	if r1.MessageID != bad.ID || r1.Status != 413 || r2.MessageID != ok.ID || r2.Status != 200 {
		t.Fatalf("reports %+v %+v", r1, r2)
	}
}

func TestFailureReportPartialSkipsSuccessResponses(t *testing.T) {
	ep := msrptest.NewEndpoint(t, session.Config{})
	rec := newRecorder()
	_, p, base := rawSession(t, ep, session.SessionOptions{Handler: rec, AcceptTypes: []string{"text/plain"}})
	good := chunk(base, "tid00001", "msg00001", 1, "fine", 4, msrp.FlagEnd)
	good.FailureReport = msrp.ReportPartial
	p.Write(t, good)
	recv(t, rec.msgs, "message")
	bad := chunk(base, "tid00002", "msg00002", 1, "x", 1, msrp.FlagEnd)
	bad.ContentType = "image/png"
	bad.FailureReport = msrp.ReportPartial
	p.Write(t, bad)
	if r := p.Read(t); r.TransactionID != "tid00002" || r.StatusCode != 415 {
		t.Fatalf("got %s %d: partial must answer failures only", r.TransactionID, r.StatusCode)
	}
}

func TestSendThroughRelayUsesItsPath(t *testing.T) {
	relay := msrptest.NewRelay(t, msrptest.RelayOptions{Username: "iwf", Password: "secret"})
	ep := msrptest.NewEndpoint(t, session.Config{Relay: &session.RelayConfig{URI: relay.URI.String(), Username: "iwf", Password: "secret"}})
	s, err := ep.NewSession(testutil.Context(t), session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peer := []msrp.URI{{Host: "relay.peer.example", Port: 2855, SessionID: "pr1", Transport: "tcp"},
		{Host: "bob.example", Port: 7000, SessionID: "bob1", Transport: "tcp"}}
	// Passive by SDP, but through a relay we always connect (RFC 4976).
	if err := s.Connect(testutil.Context(t), peer, false); err != nil {
		t.Fatal(err)
	}
	fw := relay.Forwarded()
	if len(fw) != 1 {
		t.Fatalf("relay saw %d SENDs", len(fw))
	}
	want := msrp.FormatPath(append(s.LocalPath()[:1], peer...))
	if fw[0].ToPath != want || fw[0].FromPath != s.LocalURI().String() {
		t.Fatalf("To-Path %q, want %q; From-Path %q", fw[0].ToPath, want, fw[0].FromPath)
	}
	if st := ep.Stats(); st.Connections != 1 {
		t.Fatalf("AUTH and SEND should share the relay connection: %d", st.Connections)
	}
}

func TestRelayRegistrationIsRefreshed(t *testing.T) {
	relay := msrptest.NewRelay(t, msrptest.RelayOptions{Username: "iwf", Password: "secret"})
	// The relay grants what is asked; 1 s makes the refresh due at 0.8 s.
	ep := msrptest.NewEndpoint(t, session.Config{Relay: &session.RelayConfig{URI: relay.URI.String(),
		Username: "iwf", Password: "secret", Expires: time.Second}})
	if _, err := ep.NewSession(testutil.Context(t), session.SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two rounds per registration (challenge, credentials); the refresh
	// makes a third and fourth AUTH without any new session.
	for i := range 4 {
		recv(t, relay.AuthRequests(), fmt.Sprintf("AUTH %d", i+1))
	}
}

// TestCEMADialsSDPAddress: with CEMA the connection goes to the c=/m=
// address (here the real listener) while the path names an address that
// an SBC rewrote (here a closed loopback port); requests still match by
// session-id.
func TestCEMADialsSDPAddress(t *testing.T) {
	a := msrptest.NewEndpoint(t, session.Config{})
	b := msrptest.NewEndpoint(t, session.Config{})
	rb := newRecorder()
	ctx := testutil.Context(t)
	sa, err := a.NewSession(ctx, session.SessionOptions{CEMA: true})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.NewSession(ctx, session.SessionOptions{CEMA: true, Handler: rb})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
		t.Fatal(err)
	}
	rewritten := sb.LocalURI()
	rewritten.Host, rewritten.Port = "127.0.0.2", 1 // nothing listens there
	sa.SetDialAddress(sb.LocalURI().Addr())
	if err := sa.Connect(ctx, []msrp.URI{rewritten}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("via SBC")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rb.msgs, "message"); string(m.Body) != "via SBC" {
		t.Fatalf("got %q", m.Body)
	}
}
