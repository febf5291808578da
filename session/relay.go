package session

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"iwf/session/msrp"
)

// ErrRelayAuth is wrapped by failures to authenticate to the relay.
var ErrRelayAuth = errors.New("session: relay authentication failed")

type relayClient struct {
	e   *Endpoint
	uri msrp.URI
	cfg RelayConfig

	mu        sync.Mutex
	path      []msrp.URI
	expiresAt time.Time
	nc        int
	refresh   *time.Timer
}

func newRelayClient(e *Endpoint, cfg RelayConfig) (*relayClient, error) {
	u, err := msrp.ParseURI(cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("session: relay uri: %w", err)
	}
	return &relayClient{e: e, uri: u, cfg: cfg}, nil
}

// usePath returns the relay's Use-Path, authenticating (again) when the
// registration is missing or close to its expiry.
func (r *relayClient) usePath(ctx context.Context) ([]msrp.URI, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.path != nil && time.Until(r.expiresAt) > 30*time.Second {
		return r.path, nil
	}
	return r.authenticate(ctx)
}

// authResult is what an AUTH response carries.
type authResult struct {
	code       int
	comment    string
	challenge  string
	usePath    string
	expires    msrp.Seconds
	minExpires msrp.Seconds
}

// authenticate runs the AUTH exchange of RFC 4976 section 5: AUTH, 401
// with a digest challenge, AUTH with credentials, 200 with Use-Path and
// Expires; a 423 is retried with the relay's Min-Expires.
func (r *relayClient) authenticate(ctx context.Context) ([]msrp.URI, error) {
	c, err := r.e.dial(ctx, r.uri, peerCheck{relay: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRelayAuth, err)
	}
	c.keepOpen()
	from := msrp.URI{Secure: r.uri.Secure, Host: r.e.cfg.Host, Port: r.e.LocalPort(), SessionID: newSessionID(), Transport: "tcp"}
	expires := uint32(r.cfg.Expires / time.Second)
	var authz string
	var challenge digestChallenge
	cnonce := rand.Text()
	for range 5 {
		f := msrp.Frame{
			Method:        msrp.MethodAUTH,
			ToPath:        r.uri.String(),
			FromPath:      from.String(),
			Expires:       msrp.Seconds{Value: expires, Set: true},
			Authorization: authz,
		}
		res, err := r.roundTrip(ctx, c, &f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRelayAuth, err)
		}
		switch res.code {
		case 200:
			path, err := msrp.ParsePath(res.usePath)
			if err != nil {
				return nil, fmt.Errorf("%w: Use-Path: %w", ErrRelayAuth, err)
			}
			granted := expires
			if res.expires.Set {
				granted = res.expires.Value
			}
			r.path = path
			lifetime := time.Duration(granted) * time.Second
			r.expiresAt = time.Now().Add(lifetime)
			r.scheduleRefresh(lifetime)
			r.e.log.Info("msrp relay registered", "relay", r.uri.String(), "use_path", res.usePath, "expires", granted)
			return path, nil
		case 401:
			if authz != "" && !challengeStale(res.challenge) {
				return nil, fmt.Errorf("%w: credentials refused", ErrRelayAuth)
			}
			if challenge, err = parseDigestChallenge(res.challenge); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrRelayAuth, err)
			}
			r.nc = 0
		case 423:
			// RFC 4976 section 5.1: retry with at least Min-Expires.
			if !res.minExpires.Set || res.minExpires.Value <= expires {
				return nil, fmt.Errorf("%w: 423 without a usable Min-Expires", ErrRelayAuth)
			}
			expires = res.minExpires.Value
		default:
			return nil, fmt.Errorf("%w: %w", ErrRelayAuth, &StatusError{Code: res.code, Comment: res.comment})
		}
		r.nc++
		authz = authorization(challenge, r.cfg.Username, r.cfg.Password, r.uri.String(), cnonce, r.nc)
	}
	return nil, fmt.Errorf("%w: too many rounds", ErrRelayAuth)
}

// scheduleRefresh re-registers at 80% of the granted lifetime, so the
// relay keeps routing to us while sessions run (RFC 4976 section 5.1).
func (r *relayClient) scheduleRefresh(lifetime time.Duration) {
	if r.refresh != nil {
		r.refresh.Stop()
	}
	r.refresh = time.AfterFunc(lifetime*4/5, func() {
		select {
		case <-r.e.done:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.e.cfg.TransactionTimeout)
		defer cancel()
		go func() {
			select {
			case <-r.e.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, err := r.authenticate(ctx); err != nil {
			r.path = nil // the next session authenticates again
			r.e.log.Warn("msrp relay refresh failed", "relay", r.uri.String(), "error", err)
		}
	})
}

func challengeStale(v string) bool {
	ch, err := parseDigestChallenge(v)
	return err == nil && ch.Stale
}

func (r *relayClient) roundTrip(ctx context.Context, c *conn, f *msrp.Frame) (authResult, error) {
	msrp.SealTransactionID(f, nil)
	buf, err := msrp.AppendFrame(nil, f)
	if err != nil {
		return authResult{}, err
	}
	ch := make(chan authResult, 1)
	err = c.request(f.TransactionID, buf, func(code int, comment string, resp *msrp.Frame) {
		res := authResult{code: code, comment: comment}
		if resp != nil {
			res.challenge = resp.WWWAuthenticate
			res.usePath = resp.UsePath
			res.expires = resp.Expires
			res.minExpires = resp.MinExpires
		}
		ch <- res
	})
	if err != nil {
		return authResult{}, err
	}
	select {
	case res := <-ch:
		if res.code == 0 {
			return res, fmt.Errorf("%w: %s", ErrConnLost, res.comment)
		}
		return res, nil
	case <-ctx.Done():
		return authResult{}, ctx.Err()
	}
}

func subtleEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (r *relayClient) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refresh != nil {
		r.refresh.Stop()
	}
}
