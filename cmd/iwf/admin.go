package main

import (
	"context"
	"errors"
	"fmt"

	"iwf/internal/status"
	"iwf/session/sipsession"
	"iwf/smpp"
)

// admin carries out the actions of the status endpoint's /admin/ paths
// (internal/status/admin.go) on the running daemon.
type admin struct{ d *daemon }

// partnerResult is the answer of the partner actions.
type partnerResult struct {
	Partner   string            `json:"partner"`
	Suspended bool              `json:"suspended"`
	Binds     []smpp.BindStatus `json:"smpp_client_binds,omitempty"`
	Changed   bool              `json:"changed"`
}

func (a admin) known(partner string) error {
	for _, p := range a.d.partnerConfigs() {
		if p.Name == partner {
			return nil
		}
	}
	return fmt.Errorf("partner %q: %w", partner, status.ErrNotFound)
}

// Sessions implements status.Admin.
func (a admin) Sessions(context.Context) any { return a.d.sessions.Live() }

// EndSession implements status.Admin.
func (a admin) EndSession(ctx context.Context, id string) (any, error) {
	info, err := a.d.sessions.End(ctx, id)
	if errors.Is(err, sipsession.ErrNoCall) {
		return nil, fmt.Errorf("session %q: %w", id, status.ErrNotFound)
	}
	if err != nil {
		// The call ended all the same; the BYE went unanswered.
		return info, fmt.Errorf("session %s ended, bye failed: %w", info.CallID, err)
	}
	return info, nil
}

// Suspend implements status.Admin.
func (a admin) Suspend(_ context.Context, partner string) (any, error) {
	if err := a.known(partner); err != nil {
		return nil, err
	}
	changed := !a.d.eng.Suspended(partner)
	a.d.eng.Suspend(partner)
	return partnerResult{Partner: partner, Suspended: true, Changed: changed}, nil
}

// Resume implements status.Admin.
func (a admin) Resume(_ context.Context, partner string) (any, error) {
	if err := a.known(partner); err != nil {
		return nil, err
	}
	changed := a.d.eng.Resume(partner)
	return partnerResult{Partner: partner, Changed: changed}, nil
}

// Unbind implements status.Admin.
func (a admin) Unbind(ctx context.Context, partner string) (any, error) {
	c, err := a.clientOf(partner)
	if err != nil {
		return nil, err
	}
	changed := !c.Held()
	c.Unbind(ctx)
	return partnerResult{Partner: partner, Suspended: a.d.eng.Suspended(partner), Binds: c.Status(), Changed: changed}, nil
}

// Rebind implements status.Admin.
func (a admin) Rebind(_ context.Context, partner string) (any, error) {
	c, err := a.clientOf(partner)
	if err != nil {
		return nil, err
	}
	changed := c.Rebind()
	return partnerResult{Partner: partner, Suspended: a.d.eng.Suspended(partner), Binds: c.Status(), Changed: changed}, nil
}

func (a admin) clientOf(partner string) (*smpp.Client, error) {
	if err := a.known(partner); err != nil {
		return nil, err
	}
	c := a.d.client(partner)
	if c == nil {
		return nil, fmt.Errorf("partner %q has no smpp client binds: %w", partner, status.ErrConflict)
	}
	return c, nil
}

// Drain implements status.Admin: the node stops taking new work, as on
// SIGTERM, and stays up (its queues still flow) until it is stopped.
func (a admin) Drain(context.Context) (any, error) {
	changed := !a.d.eng.Draining()
	a.d.eng.Drain()
	if changed {
		a.d.log.Info("draining by request; stop the process once /status shows the queues empty")
	}
	return map[string]bool{"draining": true, "changed": changed}, nil
}
