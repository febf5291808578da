package sipstack

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/testcert"
)

func TestTLSListener(t *testing.T) {
	cert, _ := testcert.New(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}
	cfg := Config{Listen: []Listener{{Transport: "tls", Address: "127.0.0.1:0"}}, TLS: conf}
	server := startStack(t, cfg, nil)
	client := startStack(t, cfg, nil)
	res := do(t, client, server, "tls", sip.OPTIONS)
	if res.StatusCode != 200 {
		t.Fatal(res)
	}
	if c := server.Contact("tls", ""); c.UriParams.GetOr("transport", "") != "tls" {
		t.Fatal(c.String())
	}
}

func TestTLSListenerFromFiles(t *testing.T) {
	cert, _ := testcert.New(t)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: []Listener{{Transport: "tls", Address: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bad, err := New(Config{Listen: []Listener{{Transport: "tls", Address: "127.0.0.1:0", CertFile: keyFile, KeyFile: keyFile}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var le *ListenError
	if err := bad.Listen(); !errors.As(err, &le) {
		t.Fatalf("a key as certificate: %v", err)
	}
}
