package sipstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// selfSigned makes a certificate for 127.0.0.1, valid for an hour.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "iwf test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSListener(t *testing.T) {
	cert := selfSigned(t)
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
	cert := selfSigned(t)
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
