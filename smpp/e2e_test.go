package smpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/linxGnu/gosmpp"

	"iwf/internal/testcert"
	"iwf/internal/testutil"
	"iwf/smpp/receipt"
)

func startTLSServer(t *testing.T, cfg ServerConfig, h SubmitHandler) (*Server, *x509.CertPool) {
	t.Helper()
	cert, pool := testcert.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return serveOn(t, tln, cfg, h), pool
}

// TestEndToEndTLS runs our Client against our Server over TLS with a
// partner that requires it: bind, submit one way, MT and a receipt the
// other, and gosmpp's client over TLS as a second opinion.
func TestEndToEndTLS(t *testing.T) {
	testutil.CheckLeaks(t)
	p := acme()
	p.RequireTLS = true
	stored := make(chan *Message, 1)
	srv, pool := startTLSServer(t, serverConfig(p), SubmitHandlerFunc(func(_ context.Context, partner string, m *Message) (string, error) {
		stored <- m
		return "iwf-1", nil
	}))
	delivered := make(chan *Message, 2)
	cfg := clientConfig(srv.Addr().String())
	cfg.Partner, cfg.SystemID, cfg.Password = "peer", "acme", "pw"
	cfg.TLS, cfg.TLSConfig = true, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	c := startClient(t, cfg, DeliverHandlerFunc(func(_ context.Context, _ string, m *Message) error {
		delivered <- m
		return nil
	}), nil)
	ctx := testutil.Context(t)
	res, err := c.Submit(ctx, testMessage("over tls"))
	if err != nil {
		t.Fatal(err)
	}
	if m := recv(t, stored); res.MessageID != "iwf-1" || string(m.ShortMessage) != "over tls" {
		t.Errorf("result %+v, stored %q", res, m.ShortMessage)
	}
	testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the server to see the bind")
	if _, err := srv.Deliver(ctx, "acme", testMessage("mt")); err != nil {
		t.Fatal(err)
	}
	rm, err := ReceiptMessage(Address{Addr: "2"}, Address{Addr: "1"}, receipt.Receipt{ID: "iwf-1", State: receipt.Undeliverable, ErrorCode: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Deliver(ctx, "acme", rm); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, delivered); string(m.ShortMessage) != "mt" {
		t.Errorf("MT %q", m.ShortMessage)
	}
	m := recv(t, delivered)
	r, err := m.Receipt()
	if err != nil || r.ID != "iwf-1" || r.State != receipt.Undeliverable {
		t.Errorf("receipt %+v, %v", r, err)
	}

	// gosmpp over TLS binds too; over plain TCP the partner is refused.
	dialTLS := func(addr string) (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	if _, err := dialPeerWith(t, dialTLS, srv.Addr().String(), "acme", "pw", trx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := dialPeerWith(t, gosmpp.NonTLSDialer, srv.Addr().String(), "acme", "pw", trx, nil); err == nil {
		t.Error("plain TCP bind accepted by a TLS listener")
	}
}
