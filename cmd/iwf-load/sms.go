package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iwf/smpp"
	"iwf/smpp/coding"
	"iwf/smpp/smpptest"
)

// The SMS side: an ESME with Binds transceivers on our own smpp.Client,
// Binds*Window submitters keeping every window full, receipts counted by
// the DeliverHandler.

// SMPP 3.4 5.2.5 and 5.2.6: international number, ISDN numbering plan.
const (
	tonInternational = 1
	npiISDN          = 1
	// registeredDelivery asks for a final delivery receipt (SMPP 3.4
	// 5.2.17, bits 1-0 = 01).
	registeredDelivery = 1
)

// smsSide submits a run's messages through one smpp.Client.
type smsSide struct {
	cfg    Config
	tr     *tracker
	client *smpp.Client
	log    *slog.Logger
}

func newSMSSide(cfg Config, addr string, tr *tracker) (*smsSide, error) {
	cc := smpp.DefaultClientConfig()
	cc.Partner = "load"
	cc.Address = addr
	cc.SystemID, cc.Password = cfg.SystemID, cfg.Password
	cc.Mode = smpp.ModeTransceiver
	cc.Binds, cc.Window = cfg.Binds, cfg.Window
	h := smpp.DeliverHandlerFunc(func(_ context.Context, _ string, m *smpp.Message) error {
		tr.receipt(m)
		return nil
	})
	c, err := smpp.NewClient(cc, h, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("iwf-load: smpp client: %w", err)
	}
	return &smsSide{cfg: cfg, tr: tr, client: c, log: cfg.Logger}, nil
}

// drive binds, submits every message within cfg.Timeout of the first,
// then calls after (while the binds stay up, for receipts) with the
// context of that deadline, and unbinds. A deadline that passes is no
// error: the report says what arrived in time.
func (s *smsSide) drive(ctx context.Context, after func(ctx context.Context) error) error {
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.client.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	if err := s.awaitBound(ctx); err != nil {
		return err
	}
	tctx, cancel := s.cfg.timeoutContext(ctx)
	defer cancel()
	s.submitAll(tctx)
	s.countRetries()
	s.tr.doneSubmitting()
	if after == nil {
		return ctx.Err()
	}
	if err := after(tctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return ctx.Err()
}

// awaitBound waits until every bind is bound, polling the client's status
// (it offers no notification), at most BindTimeout.
func (s *smsSide) awaitBound(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BindTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		st := s.client.Status()
		up := 0
		var last []string
		for _, b := range st {
			if b.State == smpp.StateBound {
				up++
			} else if b.LastError != "" {
				last = append(last, b.Name+": "+b.LastError)
			}
		}
		if up == len(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: %d of %d bound to %s after %v; %s", errNotBound, up, len(st),
					s.cfg.SMPP, s.cfg.BindTimeout, strings.Join(last, "; "))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// countRetries sums the binds' throttling counters into the tracker.
func (s *smsSide) countRetries() {
	var th, qf uint64
	for _, b := range s.client.Status() {
		th += b.Counters.Throttled
		qf += b.Counters.QueueFull
	}
	s.tr.retries(th, qf)
}

// submitAll runs Binds*Window submitters, one per window slot, that take
// seqs in order until all are sent or ctx ends.
func (s *smsSide) submitAll(ctx context.Context) {
	var next atomic.Int64
	start := time.Now()
	// The pace counts from here: so does the report, or a first submit
	// that starts late would squeeze the paced span it shows.
	s.tr.startSubmitting(start)
	var wg sync.WaitGroup
	for range s.cfg.Binds * s.cfg.Window {
		wg.Go(func() {
			var timer *time.Timer
			for {
				seq := int(next.Add(1) - 1)
				if seq >= s.cfg.N || ctx.Err() != nil {
					return
				}
				if s.cfg.Rate > 0 && !pace(ctx, &timer, start.Add(time.Duration(float64(seq)/s.cfg.Rate*float64(time.Second)))) {
					return
				}
				s.submit(ctx, seq)
			}
		})
	}
	wg.Wait()
}

// pace waits until due; false when ctx ended first.
func pace(ctx context.Context, timer **time.Timer, due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-(*timer).C:
		return true
	case <-ctx.Done():
		(*timer).Stop()
		return false
	}
}

func (s *smsSide) submit(ctx context.Context, seq int) {
	s.tr.sending(seq, time.Now())
	msg, err := message(s.cfg.Source, destination(s.tr.conv(seq)), payload{RunID: s.tr.runID, Seq: seq}.text())
	if err != nil {
		// The texts are ASCII letters, digits and spaces, which GSM 03.38
		// all has: count it rather than stop the run.
		s.tr.fail(seq, err.Error())
		return
	}
	res, err := s.client.Submit(ctx, msg)
	now := time.Now()
	var se *smpp.StatusError
	switch {
	case err == nil:
		s.tr.ack(seq, res.MessageID, now)
	case errors.As(err, &se):
		s.tr.refuse(seq, se.Status)
	default:
		if ctx.Err() != nil {
			// The run's timeout ends ctx with a cause, not always a
			// deadline error (Config.expire).
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		s.tr.fail(seq, cause(err))
	}
}

// message is the submit_sm of one text, in the SMSC default alphabet
// (data_coding 0, SMPP 3.4 5.2.19), asking for a receipt.
func message(source, dest, text string) (*smpp.Message, error) {
	sm, err := coding.Encode(coding.GSM7, text)
	if err != nil {
		return nil, fmt.Errorf("iwf-load: encode %q: %w", text, err)
	}
	return &smpp.Message{
		Source:             smpp.Address{TON: tonInternational, NPI: npiISDN, Addr: source},
		Dest:               smpp.Address{TON: tonInternational, NPI: npiISDN, Addr: dest},
		RegisteredDelivery: registeredDelivery,
		DataCoding:         byte(coding.GSM7),
		ShortMessage:       sm,
	}, nil
}

// cause names why a submit got no answer, for the report.
func cause(err error) string {
	switch {
	case errors.Is(err, smpp.ErrResponseTimeout):
		return "response timeout"
	case errors.Is(err, smpp.ErrConnectionLost):
		return "connection lost"
	case errors.Is(err, smpp.ErrClosed):
		return "client closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "run timeout"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	return err.Error()
}

// runBaseline submits cfg.N messages with the same client settings to an
// in-process test SMSC (smpptest, on 127.0.0.1:0): the rate the ESME
// reaches when the far end costs next to nothing.
func runBaseline(ctx context.Context, cfg Config, runID string) (Baseline, error) {
	srv, err := smpptest.NewServer(smpptest.Config{SystemID: cfg.SystemID, Password: cfg.Password})
	if err != nil {
		return Baseline{}, err
	}
	defer srv.Close()
	tr := newTracker(runID, cfg.N, cfg.Conversations)
	s, err := newSMSSide(cfg, srv.Addr(), tr)
	if err != nil {
		return Baseline{}, err
	}
	if err := s.drive(ctx, nil); err != nil {
		return Baseline{}, err
	}
	r := tr.report(Report{}, time.Now())
	return Baseline{Acknowledged: r.Acknowledged, Elapsed: r.SubmitElapsed, Rate: r.AckRate}, nil
}
