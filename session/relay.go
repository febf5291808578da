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
	// conn carries the registration: the relay routes to us over it, so
	// the Use-Path is worth nothing once it is lost.
	conn *conn
	// from is the From-Path of the last AUTH, which refreshes repeat.
	from msrp.URI
}

func newRelayClient(e *Endpoint, cfg RelayConfig) (*relayClient, error) {
	u, err := msrp.ParseURI(cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("session: relay uri: %w", err)
	}
	return &relayClient{e: e, uri: u, cfg: cfg}, nil
}

// usePath returns the relay's Use-Path for a new session whose own URI
// is local, authenticating (again) when the registration is missing,
// close to its expiry, or its connection was lost.
func (r *relayClient) usePath(ctx context.Context, local msrp.URI) ([]msrp.URI, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.path != nil && r.conn != nil && !r.conn.isClosed() && time.Until(r.expiresAt) > 30*time.Second {
		return r.path, nil
	}
	if r.path != nil {
		r.e.log.Info("msrp relay registration renewed", "relay", r.uri.String(), "connection_lost", r.conn == nil || r.conn.isClosed())
	}
	// RFC 4976 section 5.1: the From-Path of AUTH is the client's own
	// URI, the one its a=path ends with.
	r.from = local
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
	maxExpires msrp.Seconds
}

// authenticate runs the AUTH exchange of RFC 4976 section 5: AUTH, 401
// with a digest challenge, AUTH with credentials, 200 with Use-Path and
// Expires; a 423 is retried with an Expires inside the relay's
// Min-Expires or Max-Expires. The registration is dropped first: a
// failure leaves none. r.mu is held.
func (r *relayClient) authenticate(ctx context.Context) ([]msrp.URI, error) {
	r.path, r.conn = nil, nil
	c, err := r.e.dial(ctx, r.uri, peerCheck{relay: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRelayAuth, err)
	}
	c.keepOpen()
	from := r.from
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
			r.path, r.conn = path, c
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
			// RFC 4976 section 5.1: Interval Out-of-Bounds names the
			// bound we crossed, Min-Expires or Max-Expires; retry inside.
			next := expires
			if res.minExpires.Set && next < res.minExpires.Value {
				next = res.minExpires.Value
			}
			if res.maxExpires.Set && next > res.maxExpires.Value {
				next = res.maxExpires.Value
			}
			if next == expires || next == 0 {
				return nil, fmt.Errorf("%w: 423 for Expires %d without a Min-Expires or Max-Expires that excludes it", ErrRelayAuth, expires)
			}
			expires = next
		default:
			return nil, fmt.Errorf("%w: %w", ErrRelayAuth, &StatusError{Code: res.code, Comment: res.comment})
		}
		if challenge.Nonce != "" {
			// A 423 may come before any challenge: no credentials then.
			r.nc++
			authz = authorization(challenge, r.cfg.Username, r.cfg.Password, r.uri.String(), cnonce, r.nc)
		}
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
			// authenticate left no registration: the next session
			// authenticates again.
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
			res.maxExpires = resp.MaxExpires
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
