package smpp

import (
	"context"
	"crypto/sha256"
	"reflect"
	"sync"
)

// holdGate keeps a client's binds down between Unbind and Rebind.
type holdGate struct {
	mu      sync.Mutex
	on      bool
	release chan struct{} // closed by Rebind
	// senders stop the senders of the bound sessions.
	senders map[*context.CancelFunc]struct{}
}

// track registers the cancel of a bound session's sender until the
// returned function is called.
func (g *holdGate) track(cancel context.CancelFunc) (untrack func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.senders == nil {
		g.senders = make(map[*context.CancelFunc]struct{})
	}
	k := &cancel
	g.senders[k] = struct{}{}
	return func() {
		g.mu.Lock()
		delete(g.senders, k)
		g.mu.Unlock()
	}
}

func (g *holdGate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.on
}

// wait returns at once when the gate is open, else marks the bind
// unbound and waits for Rebind or ctx.
func (g *holdGate) wait(ctx context.Context, st *stateBox) error {
	for {
		g.mu.Lock()
		on, ch := g.on, g.release
		g.mu.Unlock()
		if !on {
			return nil
		}
		st.set(StateUnbound)
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Unbind sends unbind on every bind of the client (SMPP 3.4 4.2; the
// SMSC answers unbind_resp and the connection closes) and keeps them
// down, without the rebind back-off, until Rebind. Submits meanwhile wait
// for a bind as they do while the SMSC is unreachable. It returns once
// every bound session has ended or ctx has.
func (c *Client) Unbind(ctx context.Context) {
	c.hold.mu.Lock()
	if !c.hold.on {
		c.hold.on, c.hold.release = true, make(chan struct{})
	}
	for stop := range c.hold.senders {
		(*stop)()
	}
	c.hold.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range c.binds {
		if s := b.sess.Load(); s != nil {
			wg.Go(func() {
				s.unbind(ctx)
				// Shown at once; the bind's loop, which sets it too
				// once the session is gone, sets nothing else while
				// held.
				b.state.set(StateUnbound)
			})
		}
	}
	wg.Wait()
	c.log.Info("smpp: unbound by request; down until rebind")
}

// Rebind lets the binds Unbind holds down bind again at once; false when
// they were not held.
func (c *Client) Rebind() bool {
	c.hold.mu.Lock()
	defer c.hold.mu.Unlock()
	if !c.hold.on {
		return false
	}
	c.hold.on = false
	close(c.hold.release)
	c.log.Info("smpp: rebind requested")
	return true
}

// Held reports whether the binds are held down by Unbind.
func (c *Client) Held() bool { return c.hold.held() }

// Config is the client's configuration as given to NewClient.
func (c *Client) Config() ClientConfig { return c.cfg }

// ServerPartnerChange says what SetPartners did to one partner.
type ServerPartnerChange struct {
	Name string
	// Changed: its settings differ; its binds were unbound, to bind
	// again under the new ones. Removed: it left the configuration.
	Changed, Removed bool
}

// SetPartners replaces the partners ESMEs bind as, while the server runs
// (a configuration reload). A partner whose ServerPartner is unchanged
// keeps its binds; a changed one (credentials, window, sources...) has
// its binds unbound, so they bind again under the new settings and a
// revoked password binds no more; a removed one takes no new binds and
// keeps the ones it has, which still carry deliver_sm toward it, until
// UnbindPartner. It returns what changed; nothing changes on an error.
func (s *Server) SetPartners(ps []ServerPartner) ([]ServerPartnerChange, error) {
	cfg := s.cfg
	cfg.Partners = ps
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps = cfg.withDefaults().Partners
	s.mu.Lock()
	bySystemID := make(map[string]*serverPartner, len(ps))
	byName := make(map[string]*serverPartner, len(ps))
	var changes []ServerPartnerChange
	var unbind []*serverConn
	for _, p := range ps {
		old := s.byName[p.Name]
		sp := old
		if old == nil || old.removed || !reflect.DeepEqual(old.cfg, p) {
			sp = &serverPartner{cfg: p, pwHash: sha256.Sum256([]byte(p.Password))}
			for _, a := range p.AllowedSources {
				pre, _ := parseSource(a) // Validate has checked it
				sp.allowed = append(sp.allowed, pre)
			}
			if old != nil {
				changes = append(changes, ServerPartnerChange{Name: p.Name, Changed: true})
				unbind = append(unbind, old.binds...)
			}
		}
		bySystemID[p.SystemID] = sp
		byName[p.Name] = sp
	}
	for name, old := range s.byName {
		if _, kept := byName[name]; kept {
			continue
		}
		if !old.removed {
			changes = append(changes, ServerPartnerChange{Name: name, Removed: true})
		}
		if len(old.binds) > 0 {
			old.removed = true
			byName[name] = old
		}
	}
	s.bySystemID, s.byName = bySystemID, byName
	s.cfg.Partners = ps
	s.mu.Unlock()
	s.unbindAsync(unbind)
	return changes, nil
}

// UnbindPartner unbinds every bind of the named partner and, when it
// was removed from the configuration, forgets it. It returns the number
// of binds unbound.
func (s *Server) UnbindPartner(name string) int {
	s.mu.Lock()
	p := s.byName[name]
	if p == nil {
		s.mu.Unlock()
		return 0
	}
	binds := append([]*serverConn(nil), p.binds...)
	if p.removed {
		delete(s.byName, name)
	}
	s.mu.Unlock()
	s.unbindAsync(binds)
	return len(binds)
}

// unbindAsync unbinds conns without waiting: a peer slow to answer must
// not hold up the caller (a reload). Each unbind is bounded by the
// response and handler timeouts (session.unbind).
func (s *Server) unbindAsync(conns []*serverConn) {
	for _, sc := range conns {
		go sc.s.unbind(context.Background())
	}
}
