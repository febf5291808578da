package sipsession

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/session/msrpsdp"
)

// RFC 4028 session timers: the session interval and who refreshes are
// agreed on in every INVITE, re-INVITE and UPDATE transaction. The
// refresher sends a refresh at half the interval (section 10); the other
// side sends BYE when none came by the interval less min(32 s, a third)
// (section 10).

// negotiatedTimer is the outcome of one transaction for the session
// timer; a zero interval means none.
type negotiatedTimer struct {
	interval  time.Duration
	weRefresh bool
	// peerUAC: the peer sent the request (we answer it), so the refresher
	// parameter of our answer names it "uac" and us "uas".
	peerUAC bool
	// peerSupports: the peer's Supported or Require lists timer, so our
	// 2xx says Require: timer (RFC 4028 section 9).
	peerSupports bool
}

// sessionTimerState is a call's running timer; under Call.mu.
type sessionTimerState struct {
	interval  time.Duration
	weRefresh bool
	stop      func() bool
	gen       uint64
}

// sessionExpires reads Session-Expires (compact x): the interval and the
// refresher parameter, ok false when absent or unreadable.
func sessionExpires(msg headerGetter) (time.Duration, string, bool) {
	h := msg.GetHeader("Session-Expires")
	if h == nil {
		h = msg.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil || secs == 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return time.Duration(secs) * time.Second, refresher, true
}

// minSE reads Min-SE, 0 when absent.
func minSE(msg headerGetter) time.Duration {
	h := msg.GetHeader("Min-SE")
	if h == nil {
		return 0
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// supportsTimer: the message's Supported (compact k) or Require names
// timer.
func supportsTimer(msg headerGetter) bool {
	return slices.Contains(headerTokens(msg, "Supported", "k", "Require"), extTimer)
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// timerAnswer decides the session timer of a request we answer (RFC 4028
// section 9); status 422 when its interval is below our Min-SE. cur is
// the call's timer (zero for a new INVITE): a refresh without
// Session-Expires keeps a timer we refresh, and ends one the peer did.
func (m *Manager) timerAnswer(req *sip.Request, cur sessionTimerState) (negotiatedTimer, int) {
	t := negotiatedTimer{peerUAC: true, peerSupports: supportsTimer(req)}
	floor := max(m.cfg.SessionTimer.MinSE, minSE(req))
	interval, refresher, ok := sessionExpires(req)
	switch {
	case ok && interval < m.cfg.SessionTimer.MinSE:
		return t, 422
	case ok:
		t.interval = interval
		switch refresher {
		case "uac":
		case "uas":
			t.weRefresh = true
		default:
			// Ours to choose: the peer if it can (it asked for the timer),
			// else us.
			t.weRefresh = !t.peerSupports
		}
	case cur.interval > 0 && cur.weRefresh:
		t.interval, t.weRefresh = cur.interval, true
	case cur.interval > 0:
		// The peer refreshed without the header: it turned the timer off.
	case t.peerSupports && m.cfg.SessionTimer.Expires > 0:
		// It can do timers but asked for none: we may ask (section 9).
		t.interval = max(m.cfg.SessionTimer.Expires, floor)
	}
	return t, 0
}

// timerOfResponse is the session timer a 2xx to our INVITE, re-INVITE or
// UPDATE sets (RFC 4028 section 7.2): the peer's Session-Expires, its
// refresher naming us "uac"; none without the header.
func timerOfResponse(res *sip.Response) negotiatedTimer {
	interval, refresher, ok := sessionExpires(res)
	if !ok {
		return negotiatedTimer{}
	}
	return negotiatedTimer{interval: interval, weRefresh: refresher == "uac"}
}

// headers adds the timer to our 2xx: Session-Expires with the refresher,
// and Require: timer when the peer supports it (RFC 4028 section 9).
func (t negotiatedTimer) headers(res *sip.Response) {
	if t.interval <= 0 {
		return
	}
	who := "uac"
	if t.weRefresh == t.peerUAC {
		who = "uas"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(t.interval)+";refresher="+who))
	if t.peerSupports {
		res.AppendHeader(sip.NewHeader("Require", extTimer))
	}
}

// tooSmall answers 422 Session Interval Too Small with our Min-SE (RFC
// 4028 section 9).
func (m *Manager) tooSmall(tx sip.ServerTransaction, req *sip.Request) {
	m.log.Info("request refused: session interval too small", "call_id", callIDOf(req), "min_se", m.cfg.SessionTimer.MinSE)
	m.respond(tx, req, 422, sipstack.ReasonPhrase(422), sip.NewHeader("Min-SE", seconds(m.cfg.SessionTimer.MinSE)))
}

// timerSettings is the call's running timer.
func (c *Call) timerSettings() sessionTimerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timer
}

// armTimer (re)starts the call's session timer after a transaction that
// set it: a refresh at half the interval when we refresh, else a BYE when
// the peer's refresh has not come before the interval less min(32 s, a
// third) (RFC 4028 section 10). A zero interval stops it.
func (c *Call) armTimer(t negotiatedTimer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer.gen++
	if c.timer.stop != nil {
		c.timer.stop()
		c.timer.stop = nil
	}
	c.timer.interval, c.timer.weRefresh = t.interval, t.weRefresh
	if t.interval <= 0 || c.ended {
		return
	}
	gen := c.timer.gen
	d, fire := t.interval/2, c.refresh
	if !t.weRefresh {
		d, fire = t.interval-min(32*time.Second, t.interval/3), c.expire
	}
	c.timer.stop = c.m.cfg.afterFunc(d, func() {
		c.m.spawn(func(ctx context.Context) {
			if c.timerGen() == gen {
				fire(ctx)
			}
		})
	})
}

func (c *Call) timerGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timer.gen
}

// stopTimer stops the session timer for good, as the call ends.
func (c *Call) stopTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	c.timer.gen++
	if c.timer.stop != nil {
		c.timer.stop()
		c.timer.stop = nil
	}
}

// expire ends a call whose peer let the session interval run out (RFC
// 4028 section 10): BYE.
func (c *Call) expire(ctx context.Context) {
	c.log.Info("session expired: no refresh from the peer")
	c.trace("expired")
	_ = c.hangup(ctx, ReasonSessionExpired)
}

// refresh sends the session refresh we owe as refresher (RFC 4028
// section 10): UPDATE without a body when the peer allows UPDATE, else a
// re-INVITE with our current media. A 422 is retried once with the
// peer's Min-SE; a timeout, 408 or 481 ends the call with a BYE; another
// failure keeps the timer going.
func (c *Call) refresh(ctx context.Context) {
	interval := c.timerSettings().interval
	for attempt := 0; attempt < 2; attempt++ {
		res, method, local, err := c.sendRefresh(ctx, interval)
		if err != nil || res.StatusCode == 408 || res.StatusCode == 481 {
			c.log.Info("session refresh failed", "error", err, "status", statusCodeOf(res))
			c.trace("refresh-failed")
			_ = c.hangup(ctx, ReasonSessionExpired)
			return
		}
		if res.StatusCode == 422 && minSE(res) > interval && attempt == 0 {
			interval = minSE(res)
			continue
		}
		if !res.IsSuccess() {
			c.log.Info("session refresh refused", "status", res.StatusCode)
			c.armTimer(negotiatedTimer{interval: interval, weRefresh: true})
			return
		}
		if method == sip.INVITE {
			c.ackRefresh(res, local)
		}
		c.armTimer(timerOfResponse(res))
		c.trace("refreshed")
		return
	}
}

func statusCodeOf(res *sip.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// sendRefresh sends one refresh request and returns its final answer,
// the method used and, for a re-INVITE, the media offered.
func (c *Call) sendRefresh(ctx context.Context, interval time.Duration) (*sip.Response, sip.RequestMethod, msrpsdp.Media, error) {
	method := sip.UPDATE
	if !c.peerAllowsUpdate() {
		method = sip.INVITE
	}
	req := sip.NewRequest(method, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)+";refresher=uac"))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(c.m.cfg.SessionTimer.MinSE)))
	req.AppendHeader(sip.NewHeader("Supported", extTimer))
	req.AppendHeader(sip.NewHeader("User-Agent", c.m.cfg.UserAgent))
	hdr := c.m.contact(strings.ToLower(c.transport()), c.service)
	req.AppendHeader(&hdr)
	var local msrpsdp.Media
	if method == sip.INVITE {
		c.mu.Lock()
		origin := c.origin.Next()
		local = c.local
		c.mu.Unlock()
		local.Setup = c.setupRole()
		body, err := msrpsdp.BuildOffer(origin, local)
		if err != nil {
			return nil, method, local, err
		}
		c.mu.Lock()
		c.origin = origin
		c.mu.Unlock()
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	// Timer F or B bounds a transaction: 64*T1.
	ctx, cancel := context.WithTimeout(ctx, 64*sip.T1)
	defer cancel()
	var res *sip.Response
	var err error
	if c.uac != nil {
		res, err = c.uac.Do(ctx, req)
	} else {
		res, err = c.uas.Do(ctx, req)
	}
	return res, method, local, err
}

// ackRefresh acknowledges the 2xx of our refresh re-INVITE and applies
// its answer to the MSRP session when it moved the peer's path.
func (c *Call) ackRefresh(res *sip.Response, offered msrpsdp.Media) {
	ack := sip.NewRequest(sip.ACK, c.remoteTarget())
	var err error
	if c.uac != nil {
		err = c.uac.WriteRequest(ack)
	} else {
		err = c.uas.WriteRequest(ack)
	}
	if err != nil {
		c.log.Info("ack of refresh failed", "error", err)
	}
	answer, err := msrpsdp.Parse(res.Body())
	if err != nil {
		return
	}
	if neg, err := msrpsdp.Negotiate(msrpsdp.Offerer, offered, answer.Media); err == nil {
		_ = c.sess.UpdateRemotePath(neg.Remote.Path)
	}
}

// remoteTarget is where in-dialog requests go: the peer's Contact (RFC
// 3261 section 12.1).
func (c *Call) remoteTarget() sip.Uri {
	if c.uac != nil {
		if h := c.uac.InviteResponse.Contact(); h != nil {
			return h.Address
		}
		return c.uac.InviteRequest.Recipient
	}
	if h := c.uas.InviteRequest.Contact(); h != nil {
		return h.Address
	}
	return c.uas.InviteRequest.From().Address
}

// transport is the dialog's transport.
func (c *Call) transport() string {
	if c.uac != nil {
		return c.uac.InviteRequest.Transport()
	}
	return c.uas.InviteRequest.Transport()
}

// peerAllowsUpdate: the peer's INVITE or 2xx listed UPDATE in Allow.
func (c *Call) peerAllowsUpdate() bool {
	var msg headerGetter
	if c.uac != nil {
		msg = c.uac.InviteResponse
	} else {
		msg = c.uas.InviteRequest
	}
	return slices.Contains(headerTokens(msg, "Allow"), "update")
}
