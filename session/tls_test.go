package session_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrpsdp"
	"iwf/session/msrptest"
)

// selfSigned makes a certificate that no CA vouches for, as RCS clients
// often use.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// rawFingerprint is RFC 4572 section 5 written out for the test: SHA-256
// of the DER, uppercase hex pairs joined by colons.
func rawFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// rawSDP is the peer's description, written by hand: TCP/TLS/MSRP with
// its path and its certificate's fingerprint.
func rawSDP(path, fingerprint, setup string) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message 2855 TCP/TLS/MSRP *\r\na=path:" + path + "\r\na=accept-types:text/plain\r\n" +
		"a=fingerprint:sha-256 " + fingerprint + "\r\na=setup:" + setup + "\r\n")
}

// sdpFingerprint finds the sha-256 a=fingerprint of our SDP as a peer
// would: by text.
func sdpFingerprint(t *testing.T, sdp []byte) string {
	t.Helper()
	for _, line := range strings.Split(string(sdp), "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=fingerprint:sha-256 "); ok {
			return v
		}
	}
	t.Fatalf("no a=fingerprint in\n%s", sdp)
	return ""
}

// ourOffer is the SDP we would send for s.
func ourOffer(t *testing.T, ep *session.Endpoint, s *session.Session) []byte {
	t.Helper()
	u := s.LocalURI()
	body, err := msrpsdp.BuildOffer(msrpsdp.Origin{Username: "-", SessionID: 1, Version: 1, Addr: u.Host},
		msrpsdp.Media{Secure: u.Secure, Addr: u.Host, Port: u.Port, Path: s.LocalPath(),
			AcceptTypes: []string{"text/plain"}, Setup: msrpsdp.SetupActPass, Fingerprints: ep.Fingerprints()})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// rawFrame is an MSRP frame as the raw peer reads it (RFC 4975 section
// 7): start line, headers, body up to the end-line.
type rawFrame struct {
	start   string
	headers map[string]string
	body    string
}

// readRawFrame reads one frame line by line.
func readRawFrame(br *bufio.Reader) (rawFrame, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{start: strings.TrimRight(line, "\r\n"), headers: map[string]string{}}
	fields := strings.Fields(f.start)
	if len(fields) < 3 || fields[0] != "MSRP" {
		return f, fmt.Errorf("start line %q", f.start)
	}
	end := "-------" + fields[1]
	inBody := false
	var body strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return f, err
		}
		l := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(l, end) && len(l) == len(end)+1 {
			f.body = strings.TrimSuffix(body.String(), "\r\n")
			return f, nil
		}
		switch {
		case inBody:
			body.WriteString(line)
		case l == "":
			inBody = true
		default:
			name, value, _ := strings.Cut(l, ":")
			f.headers[name] = strings.TrimSpace(value)
		}
	}
}

// respond200 answers a request the RFC 4975 section 7.2 way.
func respond200(w io.Writer, req rawFrame) error {
	tid := strings.Fields(req.start)[1]
	to, _, _ := strings.Cut(req.headers["From-Path"], " ")
	from, _, _ := strings.Cut(req.headers["To-Path"], " ")
	_, err := fmt.Fprintf(w, "MSRP %s 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%s$\r\n", tid, to, from, tid)
	return err
}

// rawTLSPeer is an msrps endpoint for one session, written from RFC 4975
// without our session code: it accepts TLS with a self-signed
// certificate, asks for the client's certificate, answers every SEND 200
// and hands the bodies out.
type rawTLSPeer struct {
	cert      tls.Certificate
	addr      string
	path      string
	bodies    chan string
	clientDER chan []byte // the certificate our endpoint presented
	ended     chan error  // how the connection ended
}

func newRawTLSServer(t *testing.T) *rawTLSPeer {
	t.Helper()
	p := &rawTLSPeer{cert: selfSigned(t, "rcs client"), bodies: make(chan string, 8),
		clientDER: make(chan []byte, 1), ended: make(chan error, 1)}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.cert},
		ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.path = "msrps://" + p.addr + "/rawpeer1;tcp"
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		stop := context.AfterFunc(testutil.Context(t), func() { nc.Close() })
		defer stop()
		tc := nc.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			p.ended <- err
			return
		}
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			p.clientDER <- certs[0].Raw
		}
		br := bufio.NewReader(tc)
		for {
			f, err := readRawFrame(br)
			if err != nil {
				p.ended <- err
				return
			}
			if strings.HasSuffix(f.start, " SEND") {
				_ = respond200(tc, f)
				p.bodies <- f.body
			}
		}
	}()
	return p
}

// TestTLSFingerprintDialed: we connect to a self-signed RCS peer with no
// CA to trust; its a=fingerprint vouches for its certificate, and the
// fingerprint we put in our SDP matches the certificate we present.
func TestTLSFingerprintDialed(t *testing.T) {
	ours := selfSigned(t, "iwf")
	tests := []struct {
		name   string
		policy session.TLSVerify
		wrong  bool
	}{
		{"either, matching", session.VerifyEither, false},
		{"fingerprint, matching", session.VerifyFingerprint, false},
		{"either, wrong fingerprint", session.VerifyEither, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			peer := newRawTLSServer(t)
			fp := rawFingerprint(peer.cert.Certificate[0])
			if tc.wrong {
				fp = rawFingerprint([]byte("another certificate"))
			}
			desc, err := msrpsdp.Parse(rawSDP(peer.path, fp, "passive"))
			if err != nil {
				t.Fatal(err)
			}
			ep := newTLSEndpoint(t, session.Config{TLSVerify: tc.policy}, ours)
			rec := newRecorder()
			ctx := testutil.Context(t)
			s, err := ep.NewSession(ctx, session.SessionOptions{Handler: rec})
			if err != nil {
				t.Fatal(err)
			}
			s.SetPeerFingerprints(desc.Media.Fingerprints)
			err = s.Connect(ctx, desc.Media.Path, true)
			if tc.wrong {
				if !errors.Is(err, session.ErrPeerCertificate) || !errors.Is(err, msrpsdp.ErrFingerprintMismatch) {
					t.Fatalf("connect: %v, want a fingerprint mismatch", err)
				}
				if closeErr := recv(t, rec.closed, "session end"); !errors.Is(closeErr, msrpsdp.ErrFingerprintMismatch) {
					t.Fatalf("session ended with %v", closeErr)
				}
				// The connection closed before any MSRP went over it.
				if end := recv(t, peer.ended, "connection end"); !errors.Is(end, io.EOF) && !isReset(end) {
					t.Fatalf("peer connection ended with %v", end)
				}
				if st := ep.Stats(); st.ConnectFailures != 1 || st.Connections != 0 {
					t.Fatalf("stats %+v", st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if body := recv(t, peer.bodies, "bodiless SEND"); body != "" {
				t.Fatalf("binding SEND carried %q", body)
			}
			if _, err := s.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("hello rcs")}); err != nil {
				t.Fatal(err)
			}
			if body := recv(t, peer.bodies, "message"); body != "hello rcs" {
				t.Fatalf("peer got %q", body)
			}
			// The peer checks our offer's fingerprint against the
			// certificate we presented.
			if got, want := sdpFingerprint(t, ourOffer(t, ep, s)), rawFingerprint(recv(t, peer.clientDER, "client certificate")); got != want {
				t.Fatalf("our a=fingerprint %s, certificate %s", got, want)
			}
		})
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// TestTLSFingerprintPolicy: without a=fingerprint a self-signed peer is
// refused (by CA under either, for want of one under fingerprint), and
// under ca a matching fingerprint does not replace the CA chain.
func TestTLSFingerprintPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   session.TLSVerify
		withFP   bool
		wantText string
	}{
		{"either without fingerprint", session.VerifyEither, false, "certificate"},
		{"fingerprint required", session.VerifyFingerprint, false, "no a=fingerprint"},
		{"ca ignores fingerprint", session.VerifyCA, true, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			peer := newRawTLSServer(t)
			ep := newTLSEndpoint(t, session.Config{TLSVerify: tc.policy}, selfSigned(t, "iwf"))
			ctx := testutil.Context(t)
			s, err := ep.NewSession(ctx, session.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.withFP {
				s.SetPeerFingerprints([]msrpsdp.Fingerprint{{Hash: "sha-256", Value: rawFingerprint(peer.cert.Certificate[0])}})
			}
			path, err := msrp.ParsePath(peer.path)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Connect(ctx, path, true)
			if !errors.Is(err, session.ErrPeerCertificate) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("connect: %v, want a refused certificate (%q)", err, tc.wantText)
			}
		})
	}
}

// newTLSEndpoint serves an msrps endpoint with cert on a TLS listener
// that asks for (but does not verify) client certificates, as the
// daemon's does, wrapped by listener.Wrap as the daemon's is.
func newTLSEndpoint(t *testing.T, cfg session.Config, cert tls.Certificate) *session.Endpoint {
	t.Helper()
	return msrptest.NewTLSEndpoint(t, cfg, &tls.Config{Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12})
}

// TestTLSFingerprintAccepted: a self-signed RCS peer connects to us (we
// are passive); its certificate must match the a=fingerprint of its SDP,
// and it checks ours against our SDP.
func TestTLSFingerprintAccepted(t *testing.T) {
	for _, wrong := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrong=%v", wrong), func(t *testing.T) {
			ours := selfSigned(t, "iwf")
			ep := newTLSEndpoint(t, session.Config{}, ours)
			rec := newRecorder()
			ctx := testutil.Context(t)
			s, err := ep.NewSession(ctx, session.SessionOptions{Handler: rec})
			if err != nil {
				t.Fatal(err)
			}
			offer := ourOffer(t, ep, s)
			peerCert := selfSigned(t, "rcs client")
			fp := rawFingerprint(peerCert.Certificate[0])
			if wrong {
				fp = rawFingerprint([]byte("another certificate"))
			}
			peerPath := "msrps://127.0.0.1:9/rawpeer2;tcp"
			desc, err := msrpsdp.Parse(rawSDP(peerPath, fp, "active"))
			if err != nil {
				t.Fatal(err)
			}
			s.SetPeerFingerprints(desc.Media.Fingerprints)
			if err := s.Connect(ctx, desc.Media.Path, false); err != nil {
				t.Fatal(err)
			}

			// The raw peer: TLS with its certificate, our server
			// certificate checked against our SDP only.
			wantFP := sdpFingerprint(t, offer)
			nc, err := tls.Dial("tcp", s.LocalURI().Addr(), &tls.Config{
				Certificates: []tls.Certificate{peerCert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
				VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
					if got := rawFingerprint(raw[0]); got != wantFP {
						return fmt.Errorf("server certificate %s, SDP says %s", got, wantFP)
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(testutil.WaitTimeout))
			fmt.Fprintf(nc, "MSRP tid001 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: msg001\r\nByte-Range: 1-9/9\r\nContent-Type: text/plain\r\n\r\nhello iwf\r\n-------tid001$\r\n",
				s.LocalURI().String(), peerPath)
			resp, err := readRawFrame(bufio.NewReader(nc))
			if wrong {
				if err == nil && strings.HasSuffix(resp.start, " 200 OK") {
					t.Fatalf("a peer with the wrong certificate got %q", resp.start)
				}
				if closeErr := recv(t, rec.closed, "session end"); !errors.Is(closeErr, session.ErrPeerCertificate) ||
					!errors.Is(closeErr, msrpsdp.ErrFingerprintMismatch) {
					t.Fatalf("session ended with %v", closeErr)
				}
				select {
				case m := <-rec.msgs:
					t.Fatalf("message from a refused peer delivered: %q", m.Body)
				default:
				}
				return
			}
			if err != nil || resp.start != "MSRP tid001 200 OK" {
				t.Fatalf("response %q: %v", resp.start, err)
			}
			if m := recv(t, rec.msgs, "message"); string(m.Body) != "hello iwf" {
				t.Fatalf("got %q", m.Body)
			}
			// A stranger with another certificate cannot end the bound
			// session: 506, as from any other connection.
			other, err := tls.Dial("tcp", s.LocalURI().Addr(), &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "stranger")},
				InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			_ = other.SetDeadline(time.Now().Add(testutil.WaitTimeout))
			fmt.Fprintf(other, "MSRP tid002 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: msg002\r\nByte-Range: 1-1/1\r\nContent-Type: text/plain\r\n\r\nx\r\n-------tid002$\r\n",
				s.LocalURI().String(), peerPath)
			if resp, err := readRawFrame(bufio.NewReader(other)); err != nil || resp.start != "MSRP tid002 506 Wrong Session" {
				t.Fatalf("stranger answered %q: %v", resp.start, err)
			}
			select {
			case <-s.Done():
				t.Fatalf("session ended: %v", s.Err())
			default:
			}
		})
	}
}
