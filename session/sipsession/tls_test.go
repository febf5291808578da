package sipsession

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"iwf/internal/testcert"
	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrpsdp"
	"iwf/session/msrptest"
)

// sha256Fingerprint is RFC 4572 section 5 written out for the test.
func sha256Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// TestIncomingTLSFingerprint: an RCS client offers TCP/TLS/MSRP with
// its certificate's a=fingerprint; our answer carries ours, and the
// client's connection binds only with the certificate its offer named.
func TestIncomingTLSFingerprint(t *testing.T) {
	for _, wrong := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrong=%v", wrong), func(t *testing.T) {
			ourCert, _ := testcert.New(t)
			peerCert, _ := testcert.New(t)
			w := newIWF(t, func(c *Config) {
				c.Endpoint = msrptest.NewTLSEndpoint(t, session.Config{}, &tls.Config{Certificates: []tls.Certificate{ourCert},
					ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12})
			})
			p := newUACPeer(t)
			ctx := testutil.Context(t)

			offer := offerMedia("peerT")
			offer.Secure = true
			offer.Path[0].Secure = true
			fp := sha256Fingerprint(peerCert.Certificate[0])
			if wrong {
				fp = sha256Fingerprint([]byte("another certificate"))
			}
			offer.Fingerprints = []msrpsdp.Fingerprint{{Hash: "sha-256", Value: fp}}
			dlg := p.invite(t, ctx, w, buildOffer(t, offer))
			if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
				t.Fatal(err)
			}
			ans := answerOf(t, dlg)
			want := []msrpsdp.Fingerprint{{Hash: "sha-256", Value: sha256Fingerprint(ourCert.Certificate[0])}}
			if !ans.Secure || len(ans.Fingerprints) != 1 || ans.Fingerprints[0] != want[0] {
				t.Fatalf("answer fingerprints %v, want %v", ans.Fingerprints, want)
			}
			if err := dlg.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			c := nextCall(t, w)

			iwfURI := ans.Path[len(ans.Path)-1]
			nc, err := tls.Dial("tcp", iwfURI.Addr(), &tls.Config{Certificates: []tls.Certificate{peerCert},
				InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
				// The client trusts our certificate by our answer's
				// fingerprint alone.
				VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
					if got := sha256Fingerprint(raw[0]); got != ans.Fingerprints[0].Value {
						return fmt.Errorf("server certificate %s, answer says %s", got, ans.Fingerprints[0].Value)
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(testutil.WaitTimeout))
			fmt.Fprintf(nc, "MSRP tid00001 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: msg00001\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------tid00001$\r\n",
				iwfURI.String(), offer.Path[0].String())
			status, _ := bufio.NewReader(nc).ReadString('\n')
			if wrong {
				if strings.Contains(status, " 200 ") {
					t.Fatalf("a client with another certificate got %q", status)
				}
				ev := waitClosed(t, c)
				if ev.Reason != ReasonMSRPLost || !errors.Is(ev.Err, session.ErrPeerCertificate) {
					t.Fatalf("call closed with %v: %v", ev.Reason, ev.Err)
				}
				return
			}
			if status != "MSRP tid00001 200 OK\r\n" {
				t.Fatalf("send answered %q", status)
			}
			if ev := nextEvent(t, c); ev.Kind != EventMessage || string(ev.Message.Body) != "hello" {
				t.Fatalf("event %+v", ev)
			}
			_ = c.Close(context.Background())
		})
	}
}
