package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/pdu"
)

// clientBind is one of the client's binds: it dials, binds, carries
// traffic, and when the connection drops binds again after a back-off.
type clientBind struct {
	c        *Client
	kind     bindKind
	name     string
	log      *slog.Logger
	state    stateBox
	counters counters
	bucket   *bucket
	sess     atomic.Pointer[session]

	mu          sync.Mutex
	throttle    backoff
	pausedUntil time.Time
	pauseSig    chan struct{}
}

func (c *Client) newBind(i int, k bindKind) *clientBind {
	name := fmt.Sprintf("%s/%d/%s", c.cfg.Partner, i, k)
	b := &clientBind{
		c:        c,
		kind:     k,
		name:     name,
		log:      c.log.With("bind", name),
		bucket:   newBucket(c.clk, c.cfg.Throughput, c.cfg.Burst),
		throttle: newBackoff(c.cfg.ThrottleMin, c.cfg.ThrottleMax),
		pauseSig: make(chan struct{}, 1),
	}
	b.state.set(StateConnecting)
	return b
}

// run keeps the bind up until rctx ends. The first bind is retried like
// any later one (gosmpp.NewSession does not). The back-off grows while
// binds fail or die young and starts again from RebindMin after a session
// that lived longer than RebindMax.
func (b *clientBind) run(ctx, rctx context.Context) {
	cfg := &b.c.cfg
	bo := newBackoff(cfg.RebindMin, cfg.RebindMax)
	for rctx.Err() == nil {
		if b.c.hold.wait(rctx, &b.state) != nil {
			break
		}
		b.state.set(StateConnecting)
		s, err := b.connect(ctx, rctx)
		if err == nil {
			start := time.Now()
			err = b.serve(rctx, s)
			if time.Since(start) > cfg.RebindMax {
				bo.reset()
			}
		} else {
			b.counters.bindFailures.Add(1)
		}
		if rctx.Err() != nil {
			break
		}
		if b.c.hold.held() {
			continue // an operator's unbind: no back-off, wait for Rebind
		}
		b.state.setErr(err)
		wait := bo.next()
		b.log.Warn("smpp: bind down, rebinding", "error", err, "retry_in", wait)
		b.state.set(StateBackoff)
		if b.c.clk.Sleep(rctx, wait) != nil {
			break
		}
	}
	b.state.set(StateClosed)
}

// serve runs a bound session until it ends.
func (b *clientBind) serve(rctx context.Context, s *session) error {
	b.counters.binds.Add(1)
	b.state.set(StateBound)
	b.sess.Store(s)
	b.log.Info("smpp: bound", "kind", b.kind.String(), "remote", b.c.cfg.Address)
	sctx, cancel := context.WithCancel(rctx)
	// Unbind stops the sender first: it holds a window slot the unbind
	// waits for.
	untrack := b.c.hold.track(cancel)
	defer untrack()
	var wg sync.WaitGroup
	if b.kind.submits() {
		wg.Go(func() { b.sender(sctx, s) })
	}
	wg.Go(func() { b.enquire(sctx, s) })
	if rctx.Err() != nil || b.c.hold.held() {
		// Run's stop, or Unbind, may have looked for sessions before
		// this one was stored: unbind it here.
		cancel()
		wg.Go(func() { s.unbind(context.WithoutCancel(rctx)) })
	}
	err := s.readLoop()
	cancel()
	wg.Wait()
	b.sess.Store(nil)
	return err
}

// connect dials the SMSC and binds (SMPP 3.4 4.1).
func (b *clientBind) connect(ctx, rctx context.Context) (*session, error) {
	cfg := &b.c.cfg
	dctx, cancel := context.WithTimeout(rctx, cfg.ResponseTimeout)
	defer cancel()
	nc, err := b.dial(dctx)
	if err != nil {
		return nil, fmt.Errorf("smpp: dial %s: %w", cfg.Address, err)
	}
	s := newSession(ctx, nc, sessionOpts{
		log:            b.log,
		maxPDU:         cfg.MaxPDULen,
		window:         cfg.Window,
		inbound:        cfg.Window,
		inboundCmd:     CmdDeliverSM,
		respTimeout:    cfg.ResponseTimeout,
		handlerTimeout: cfg.HandlerTimeout,
		handle: func(ctx context.Context, m *Message) (string, error) {
			return "", b.c.h.HandleDeliver(ctx, cfg.Partner, m)
		},
		counters: &b.counters,
	})
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Now()) })
	err = b.bind(s)
	if !stop() {
		err = errors.Join(err, dctx.Err())
	}
	if err != nil {
		s.fail(err) // closes nc and ends the writer
		s.aux.Wait()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	s.kind.Store(uint32(b.kind))
	return s, nil
}

func (b *clientBind) dial(ctx context.Context) (net.Conn, error) {
	cfg := &b.c.cfg
	if cfg.Dial != nil {
		return cfg.Dial(ctx, "tcp", cfg.Address)
	}
	var d net.Dialer
	if !cfg.TLS {
		return d.DialContext(ctx, "tcp", cfg.Address)
	}
	tc := cfg.TLSConfig
	if tc == nil {
		host, _, _ := net.SplitHostPort(cfg.Address)
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", cfg.Address)
}

// bind writes the bind request and reads until its response. Before the
// bind only enquire_link may come from the SMSC; it is answered.
func (b *clientBind) bind(s *session) error {
	cfg := &b.c.cfg
	req := pdu.NewBindRequest(pduBindingType(b.kind))
	req.SystemID, req.Password, req.SystemType = cfg.SystemID, cfg.Password, cfg.SystemType
	seq := s.nextSeq()
	if err := s.write(marshal(req, seq)); err != nil {
		return err
	}
	var buf []byte
	for {
		frame, err := readFrame(s.br, buf, cfg.MaxPDULen)
		if err != nil {
			return fmt.Errorf("smpp: %s: %w", CommandName(bindCommand(b.kind)), err)
		}
		buf = frame
		h := parseHeader(frame)
		switch {
		case h.Command == CmdEnquireLink:
			if err := s.write(headerOnly(CmdEnquireLinkResp, StatusOK, h.Seq)); err != nil {
				return err
			}
		case h.Command&respBit == 0:
			// SMPP 3.4 2.3: nothing but enquire_link before the bind.
			if err := s.write(headerOnly(CmdGenericNack, StatusInvBndSts, h.Seq)); err != nil {
				return err
			}
		case h.Seq != seq:
			continue
		case h.Command == bindCommand(b.kind)|respBit || h.Command == CmdGenericNack:
			if h.Status != StatusOK {
				return &StatusError{Command: h.Command, Status: h.Status}
			}
			return nil
		}
	}
}

func pduBindingType(k bindKind) pdu.BindingType {
	switch k {
	case kindReceiver:
		return pdu.Receiver
	case kindTransmitter:
		return pdu.Transmitter
	}
	return pdu.Transceiver
}

// enquire probes the link every EnquireLink interval (SMPP 3.4 4.11); an
// unanswered probe ends the session so the bind is made again.
func (b *clientBind) enquire(ctx context.Context, s *session) {
	t := time.NewTicker(b.c.cfg.EnquireLink)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dead:
			return
		case <-t.C:
			r := s.request(ctx, pdu.NewEnquireLink(), false)
			if r.err != nil && ctx.Err() == nil && !errors.Is(r.err, ErrClosed) {
				s.fail(fmt.Errorf("smpp: enquire_link: %w", r.err))
				return
			}
		}
	}
}

// sender moves submits from the client's queue onto this bind: first a
// throttling pause if one is on, then a token (throughput), then a window
// slot, then a message. Holding the token and the slot before taking the
// message keeps both limits exact without ever sending too early.
func (b *clientBind) sender(ctx context.Context, s *session) {
	for {
		if d := b.pauseLeft(); d > 0 {
			b.state.set(StateThrottled)
			if b.c.clk.Sleep(ctx, d) != nil {
				return
			}
			b.state.set(StateBound)
			continue
		}
		if b.bucket.take(ctx) != nil {
			return
		}
		win, err := s.acquire(ctx)
		if err != nil {
			return
		}
		select {
		case j := <-b.c.jobs:
			if !j.state.CompareAndSwap(jobQueued, jobTaken) {
				<-win
				b.bucket.giveBack()
				continue
			}
			if b.pauseLeft() > 0 {
				// Throttled since this sender last looked: the pause
				// signal and the message that was throttled came
				// together, and select took the message. Hand it back
				// unsent, to whichever bind is free first.
				<-win
				b.bucket.giveBack()
				j.placed <- placement{}
				continue
			}
			c, err := s.send(j.frame, win, false)
			if err != nil {
				j.placed <- placement{} // not sent: the submitter places it again
				return
			}
			b.counters.sent.Add(1)
			j.placed <- placement{b: b, s: s, c: c}
		case <-b.pauseSig:
			<-win
			b.bucket.giveBack()
		case <-s.dead:
			<-win
			return
		case <-ctx.Done():
			<-win
			return
		}
	}
}

func (b *clientBind) pauseLeft() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pausedUntil.Sub(b.c.clk.Now())
}

// throttled pauses the bind after ESME_RTHROTTLED. Every request in the
// window may come back throttled at once; only the first one after a pause
// has ended lengthens the back-off.
func (b *clientBind) throttled() {
	b.mu.Lock()
	now := b.c.clk.Now()
	if now.Before(b.pausedUntil) {
		b.mu.Unlock()
		return
	}
	d := b.throttle.next()
	b.pausedUntil = now.Add(d)
	b.mu.Unlock()
	select {
	case b.pauseSig <- struct{}{}:
	default:
	}
	b.log.Info("smpp: throttled by the SMSC, pausing bind", "pause", d)
}

// succeeded resets the throttling back-off once the SMSC accepts again
// after a pause.
func (b *clientBind) succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.c.clk.Now().Before(b.pausedUntil) {
		b.throttle.reset()
	}
}
