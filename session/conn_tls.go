package session

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"

	"iwf/session/msrpsdp"
)

// TLSVerify is the policy for the certificate of an msrps peer (key
// tls_verify).
type TLSVerify string

// TLS verification policies. With VerifyEither a self-signed RCS client
// works as long as its SDP names its certificate, without turning
// verification off for everyone else.
const (
	// VerifyEither checks a peer whose SDP carries a=fingerprint by that
	// fingerprint alone (RFC 8122: the SIP signalling vouches for the
	// certificate, so no CA chain is needed); a peer without one is
	// checked as by VerifyCA.
	VerifyEither TLSVerify = "either"
	// VerifyFingerprint requires a=fingerprint from every msrps peer, and
	// a certificate matching it, on connections both ways.
	VerifyFingerprint TLSVerify = "fingerprint"
	// VerifyCA ignores a=fingerprint: a peer we connect to must present a
	// chain to Config.TLS.RootCAs (the system roots when nil) for its
	// host; one that connects to us is checked as the TLS listener's
	// configuration says.
	VerifyCA TLSVerify = "ca"
)

func (v TLSVerify) valid() bool {
	return v == VerifyEither || v == VerifyFingerprint || v == VerifyCA
}

// ErrPeerCertificate is wrapped by the failure of an msrps peer's
// certificate: it does not match the peer's a=fingerprint (then the
// error also matches msrpsdp.ErrFingerprintMismatch), there is none to
// check, or its chain is not trusted.
var ErrPeerCertificate = errors.New("session: peer certificate refused")

// peerCheck is what one session asks of the certificate at the other end
// of its connection.
type peerCheck struct {
	// fingerprints are the a=fingerprint values of the peer's SDP.
	fingerprints []msrpsdp.Fingerprint
	// relay is set for the relay's connection, which no SDP describes:
	// its certificate is checked against the CA roots.
	relay bool
}

// SetPeerFingerprints records the a=fingerprint values of the peer's SDP
// (msrpsdp.Media.Fingerprints). Call it before Connect: the connection
// that binds the session, dialed or accepted, must present a certificate
// that matches one of them (RFC 4975 section 14.4, RFC 8122 section 5),
// as Config.TLSVerify says. A mismatch fails the session with an error
// matching ErrPeerCertificate and closes the connection unless other
// sessions use it.
func (s *Session) SetPeerFingerprints(fps []msrpsdp.Fingerprint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peerFingerprints = slices.Clone(fps)
}

func (s *Session) peerCheck() peerCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return peerCheck{fingerprints: s.peerFingerprints, relay: len(s.usePath) > 0}
}

// boundConn is the connection the session is bound to, nil before.
func (s *Session) boundConn() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// Fingerprints is what goes in our SDP a=fingerprint when our URIs are
// msrps: the SHA-256 fingerprint of the certificate in Config.TLS (RFC
// 8122 section 5), so that peers can check it without trusting a CA.
// It is nil for plain TCP or without a certificate.
func (e *Endpoint) Fingerprints() []msrpsdp.Fingerprint {
	return slices.Clone(e.fingerprints)
}

// localFingerprints computes Fingerprints once, from the first
// certificate of the configuration.
func localFingerprints(cfg Config) []msrpsdp.Fingerprint {
	if !cfg.Secure || cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 || len(cfg.TLS.Certificates[0].Certificate) == 0 {
		return nil
	}
	return []msrpsdp.Fingerprint{msrpsdp.FingerprintOf(cfg.TLS.Certificates[0].Certificate[0])}
}

// tlsState returns the TLS state of nc, looking through wrappers such as
// listener.Wrap's; nil for plain TCP.
func tlsState(nc net.Conn) *tls.ConnectionState {
	for {
		switch c := nc.(type) {
		case interface{ ConnectionState() tls.ConnectionState }:
			st := c.ConnectionState()
			return &st
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
}

// checkPeer applies Config.TLSVerify to the certificate of a TLS
// connection for one session. serverName is the host we dialed, "" for a
// connection we accepted. Plain TCP passes: there is no certificate.
func (e *Endpoint) checkPeer(st *tls.ConnectionState, serverName string, pc peerCheck) error {
	if st == nil {
		return nil
	}
	policy := e.cfg.TLSVerify
	fps := pc.fingerprints
	if policy == VerifyCA || pc.relay {
		fps = nil
	}
	if len(fps) > 0 {
		if len(st.PeerCertificates) == 0 {
			return fmt.Errorf("%w: the peer presented no certificate to match its a=fingerprint", ErrPeerCertificate)
		}
		if err := msrpsdp.VerifyFingerprints(fps, st.PeerCertificates[0].Raw); err != nil {
			return fmt.Errorf("%w: %w", ErrPeerCertificate, err)
		}
		return nil
	}
	if policy == VerifyFingerprint && !pc.relay {
		return fmt.Errorf("%w: the peer's SDP has no a=fingerprint and tls_verify is %q", ErrPeerCertificate, policy)
	}
	if serverName == "" {
		return nil
	}
	return e.verifyChain(st, serverName)
}

// verifyChain is the check crypto/tls makes of a server (we dial with
// InsecureSkipVerify so that a fingerprint may replace it): a chain to
// the configured roots, valid for the host, for server authentication.
func (e *Endpoint) verifyChain(st *tls.ConnectionState, host string) error {
	cfg := e.cfg.TLS
	if cfg != nil && cfg.InsecureSkipVerify {
		return nil // the deployment turned verification off
	}
	if len(st.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrPeerCertificate)
	}
	opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool()}
	if cfg != nil {
		opts.Roots = cfg.RootCAs
		if cfg.Time != nil {
			opts.CurrentTime = cfg.Time()
		}
	}
	for _, ic := range st.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := st.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrPeerCertificate, err)
	}
	return nil
}

// admit checks the certificate of a connection before its first request
// binds session s to it. A refused peer fails the session and loses the
// connection, unless other sessions use it. A session bound already is
// left to bindTo (506 from another connection): a stranger's certificate
// must not end it.
func (c *conn) admit(s *Session) bool {
	if s.boundConn() != nil {
		return true
	}
	err := c.ep.checkPeer(tlsState(c.nc), c.serverName, s.peerCheck())
	if err == nil {
		return true
	}
	c.log.Warn("msrp peer certificate refused", "msrp_session", s.local.SessionID, "error", err)
	s.fail(err)
	c.mu.Lock()
	shared := len(c.bound) > 0
	c.mu.Unlock()
	if !shared {
		c.closeFor(err, nil)
	}
	return false
}
