package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// run performs one load run and returns its report. It plays both outer
// ends of the IWF: the RCS side (SIP UAS and MSRP on cfg.RCS) and the SMS
// side (an ESME bound to cfg.SMPP). Zero fields of cfg take their
// defaults. When ctx ends early the partial report comes with an error
// matching errInterrupted. Losses are not an error: Report.Failed says.
func run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	runID := cfg.RunID
	if runID == "" {
		runID = newRunID()
	}
	rep := Report{
		RunID: runID, Messages: cfg.N, Conversations: cfg.Conversations,
		Binds: cfg.Binds, Window: cfg.Window, Rate: cfg.Rate,
	}
	if cfg.Baseline {
		b, err := runBaseline(ctx, cfg, runID)
		if err != nil {
			return rep, interrupted(ctx, fmt.Errorf("iwf-load: baseline: %w", err))
		}
		rep.Baseline = &b
	}

	tr := newTracker(runID, cfg.N, cfg.Conversations)
	rcs, err := newResponder(cfg, tr)
	if err != nil {
		return rep, err
	}
	rctx, stopRCS := context.WithCancel(ctx)
	defer stopRCS()
	rcsDone := make(chan error, 1)
	go func() { rcsDone <- rcs.Run(rctx) }()
	stop := func() error {
		stopRCS()
		return <-rcsDone
	}
	select {
	case <-rcs.ready():
	case <-ctx.Done():
		return rep, interrupted(ctx, stop())
	}
	if cfg.rcsReady != nil {
		cfg.rcsReady(rcs.sipAddrs())
	}

	sms, err := newSMSSide(cfg, cfg.SMPP, tr)
	if err != nil {
		return rep, errors.Join(err, stop())
	}
	var end time.Time
	timedOut := false
	err = sms.drive(ctx, func(tctx context.Context) error {
		werr := tr.wait(tctx, allReceived)
		end = time.Now()
		// The deadline may also have cut the submits short.
		timedOut = errors.Is(context.Cause(tctx), context.DeadlineExceeded)
		if werr != nil || cfg.ReceiptWait <= 0 {
			return werr
		}
		// Receipts follow the Success-Reports: give them a moment once
		// every message is in; missing ones show in the report.
		rw, cancel := context.WithTimeout(ctx, cfg.ReceiptWait)
		defer cancel()
		if err := tr.wait(rw, allReceipts); err != nil && ctx.Err() != nil {
			return err
		}
		return nil
	})
	if end.IsZero() {
		end = time.Now()
	}
	rcsErr := stop()
	if rcsErr != nil {
		// Failed BYEs to a daemon that went away change no figure.
		cfg.Logger.Warn("rcs side stopped with errors", "error", rcsErr)
	}
	rep = tr.report(rep, end)
	rep.TimedOut = timedOut
	if b := rep.Baseline; b != nil && b.Rate > 0 {
		b.Ratio = rep.ReceiveRate / b.Rate
	}
	return rep, interrupted(ctx, err)
}

// interrupted marks err as errInterrupted when ctx ended.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", errInterrupted, ctx.Err())
	}
	return err
}
