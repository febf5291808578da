package smpp

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// bindGuard slows password guessing. After a failed bind from a source
// address, the next bind from there is checked only once a delay has
// passed, a delay that starts at min and doubles with each further
// failure up to max; binds from one source are checked one at a time, so
// parallel connections gain nothing. A successful bind clears the
// source's record. The waits use the server's clock, so tests count them.
type bindGuard struct {
	clk      clock
	min, max time.Duration

	mu      sync.Mutex
	srcs    map[netip.Addr]*guardEntry
	pruneAt int
}

// guardEntry is one source address's record.
type guardEntry struct {
	// turn holds a token while a bind of the source is checked.
	turn     chan struct{}
	failures int
	next     time.Time // no bind of the source is checked before
	users    int       // binds of the source waiting or being checked
}

// minPrune is the table size below which bindGuard never prunes.
const minPrune = 1024

func newBindGuard(clk clock, min, max time.Duration) *bindGuard {
	return &bindGuard{clk: clk, min: min, max: max, srcs: make(map[netip.Addr]*guardEntry), pruneAt: minPrune}
}

// enter waits for src's turn and the end of its back-off, and returns
// done, which the caller must call with the outcome of the bind it then
// checks. waited is the back-off it waited (zero when there was none);
// err is ctx's when it ended first.
func (g *bindGuard) enter(ctx context.Context, src netip.Addr) (done func(failed bool), waited time.Duration, err error) {
	g.mu.Lock()
	e := g.srcs[src]
	if e == nil {
		g.prune()
		e = &guardEntry{turn: make(chan struct{}, 1)}
		g.srcs[src] = e
	}
	e.users++
	g.mu.Unlock()
	select {
	case e.turn <- struct{}{}:
	case <-ctx.Done():
		g.leave(src, e)
		return nil, 0, ctx.Err()
	}
	g.mu.Lock()
	waited = max(e.next.Sub(g.clk.Now()), 0)
	g.mu.Unlock()
	if waited > 0 {
		if err := g.clk.Sleep(ctx, waited); err != nil {
			<-e.turn
			g.leave(src, e)
			return nil, waited, err
		}
	}
	return func(failed bool) {
		g.mu.Lock()
		if failed {
			e.next = g.clk.Now().Add(g.delay(e.failures))
			e.failures++
		} else {
			e.failures, e.next = 0, time.Time{}
		}
		g.mu.Unlock()
		<-e.turn
		g.leave(src, e)
	}, waited, nil
}

// delay is the back-off after the failures+1st failure in a row.
func (g *bindGuard) delay(failures int) time.Duration {
	d := g.min
	for range failures {
		if d >= g.max {
			break
		}
		d *= 2
	}
	return min(d, g.max)
}

// leave drops a user of e, and e itself when nothing is left to remember.
func (g *bindGuard) leave(src netip.Addr, e *guardEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e.users--
	if e.users == 0 && e.failures == 0 {
		delete(g.srcs, src)
	}
}

// prune forgets sources idle for max since their back-off ended, so that
// failures from many addresses do not grow the table for ever. It runs
// when the table doubles, so its cost per new source stays constant.
// g.mu is held.
func (g *bindGuard) prune() {
	if len(g.srcs) < g.pruneAt {
		return
	}
	now := g.clk.Now()
	for a, e := range g.srcs {
		if e.users == 0 && now.After(e.next.Add(g.max)) {
			delete(g.srcs, a)
		}
	}
	g.pruneAt = max(minPrune, 2*len(g.srcs))
}

// sourceOf is the address a connection comes from, IPv4-mapped IPv6 as
// IPv4, so that allowed_sources and back-off see one form.
func sourceOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// allowed reports whether src may bind as a partner with these
// allowed_sources; none allows any.
func allowed(prefixes []netip.Prefix, src netip.Addr) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if p.Contains(src) {
			return true
		}
	}
	return false
}
