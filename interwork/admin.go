package interwork

import (
	"context"
	"fmt"
	"reflect"

	"iwf/smpp/concat"
)

// partnerSet is one version of the partner configuration. It is never
// changed once stored: SetPartners stores a new one.
type partnerSet struct {
	// byName holds the active partners and the removed ones whose queued
	// messages may still be waiting.
	byName map[string]*partner
	// order is the active partners, in configuration order.
	order []*partner
}

// buildPartners makes a partner set from the configuration. A partner
// whose configuration equals its version in prev keeps that version;
// a changed one gets a new version sharing the old one's sessions and
// counters; prev's partners missing from ps stay, marked removed.
func buildPartners(ps []Partner, parts concat.PartStore, prev *partnerSet) (*partnerSet, error) {
	set := &partnerSet{byName: make(map[string]*partner, len(ps))}
	for i, pc := range ps {
		if _, dup := set.byName[pc.Name]; dup {
			return nil, fmt.Errorf("interwork: partner %q twice", pc.Name)
		}
		old := prev.get(pc.Name)
		if old != nil && !old.removed && reflect.DeepEqual(old.given, pc) {
			set.byName[pc.Name] = old
			set.order = append(set.order, old)
			continue
		}
		p, err := newPartner(pc, parts)
		if err != nil {
			return nil, fmt.Errorf("interwork: partners[%d]: %w", i, err)
		}
		if old != nil {
			p.sessions, p.counters, p.opening = old.sessions, old.counters, old.opening
		}
		set.byName[p.Name] = p
		set.order = append(set.order, p)
	}
	if prev != nil {
		for name, old := range prev.byName {
			if _, kept := set.byName[name]; kept {
				continue
			}
			// A new version, not a copy: stuck belongs to Run's goroutine.
			set.byName[name] = &partner{Partner: old.Partner, given: old.given, sessions: old.sessions, opening: old.opening,
				counters: old.counters, limiter: old.limiter, reasm: old.reasm, removed: true}
		}
	}
	return set, nil
}

func (s *partnerSet) get(name string) *partner {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// lookupPartner finds a partner by name, a removed one included.
func (e *Engine) lookupPartner(name string) (*partner, bool) {
	p := e.partners.Load().get(name)
	return p, p != nil
}

// partnerNamed is lookupPartner without the flag.
func (e *Engine) partnerNamed(name string) *partner { return e.partners.Load().get(name) }

// activePartners are the configured partners in order; the slice is
// shared and must not be changed.
func (e *Engine) activePartners() []*partner { return e.partners.Load().order }

// SetPartners replaces the partner configuration while the engine runs
// (a configuration reload). A partner whose Partner value is unchanged
// keeps its state as it is; a changed one takes its new settings for
// every message admitted from now on, while its conversations already
// running finish on the settings they started with (their worker holds
// them until it goes idle); an added one takes traffic at once; a removed
// one refuses new messages (SMPP ESME_RINVSYSID, SIP 403) while the
// messages already queued for it are still delivered. Nothing changes
// when an error is returned.
func (e *Engine) SetPartners(ps []Partner) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	set, err := buildPartners(ps, e.cfg.Parts, e.partners.Load())
	if err != nil {
		return err
	}
	e.partners.Store(set)
	if e.ctx != nil && !e.stopped && e.cfg.SMS != nil && e.cfg.SMS.AcceptsBinds() {
		for _, p := range set.order {
			e.startRelay(e.ctx, p)
		}
	}
	return nil
}

// startRelay starts the relay of p's owed receipts (receipts.go) unless
// one runs for its name already; called under e.mu while running.
func (e *Engine) startRelay(ctx context.Context, p *partner) {
	if e.relaying == nil {
		e.relaying = make(map[string]bool)
	}
	if e.relaying[p.Name] {
		return
	}
	e.relaying[p.Name] = true
	e.wg.Go(func() { e.relayReceipts(ctx, p) })
}

// Suspend makes the engine refuse new messages of the named partner, in
// both directions: its submits and MESSAGEs get a temporary refusal (SMPP
// ESME_RX_T_APPN, SIP 503), and so do messages toward it from the RCS
// side (MSRP 503, SIP 503, INVITE 503). Messages already queued are still
// delivered. It returns false for a partner that is not configured.
// The suspension outlives SetPartners.
func (e *Engine) Suspend(name string) bool {
	p, ok := e.lookupPartner(name)
	if !ok || p.removed {
		return false
	}
	e.suspended.Store(name, true)
	return true
}

// Resume undoes Suspend; false when the partner was not suspended.
func (e *Engine) Resume(name string) bool {
	_, was := e.suspended.LoadAndDelete(name)
	return was
}

// Suspended reports whether the named partner is suspended.
func (e *Engine) Suspended(name string) bool {
	_, ok := e.suspended.Load(name)
	return ok
}
