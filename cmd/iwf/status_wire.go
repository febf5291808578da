package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"iwf/internal/status"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/store"
)

// recentErrors is how many errors of all partners /status lists.
const recentErrors = 20

// rateSample is how often the bind counters are read into the rates: the
// rates' own resolution.
const rateSample = time.Second

// sampleRates reads every bind's cumulative counters into d.rates once a
// second until ctx ends: the smpp package counts totals, the page shows
// rates over the last minutes. Partner rates need no sampling: the
// metrics feed them per message.
func (d *daemon) sampleRates(ctx context.Context) error {
	tick := time.NewTicker(rateSample)
	defer tick.Stop()
	for {
		d.observeBinds()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// observeBinds feeds each bind's received and sent totals to d.rates.
func (d *daemon) observeBinds() {
	observe := func(binds []smpp.BindStatus, role string) {
		for _, b := range binds {
			in, out := bindRateKeys(b, role)
			d.rates.Observe(in, int64(b.Counters.Received))
			d.rates.Observe(out, int64(b.Counters.Sent))
		}
	}
	if d.smppSrv != nil {
		observe(d.smppSrv.Status(), "server")
	}
	for _, c := range d.clientList() {
		observe(c.Status(), "client")
	}
}

// bindRateKeys are the keys of a bind's received and sent rates. A
// server bind's name holds the ESME's address, so a bind that comes
// back from another port starts new rates.
func bindRateKeys(b smpp.BindStatus, role string) (in, out string) {
	k := role + "\x00" + b.Name
	return "bind_in\x00" + k, "bind_out\x00" + k
}

// bindWindow is the window configured for a bind: the partner's server
// window for the binds its ESMEs open, the client bind's own for ours
// (named "partner/index/kind").
func (d *daemon) bindWindow(b smpp.BindStatus, role string) int {
	for _, p := range d.partnerConfigs() {
		if p.Name != b.Partner {
			continue
		}
		if role == "server" {
			if p.SMPP.Server != nil {
				return p.SMPP.Server.Window
			}
			return 0
		}
		parts := strings.Split(b.Name, "/")
		if len(parts) < 2 {
			return 0
		}
		i, err := strconv.Atoi(parts[1])
		if err != nil || i < 0 || i >= len(p.SMPP.Clients) {
			return 0
		}
		if w := p.SMPP.Clients[i].Window; w > 0 {
			return w
		}
		return smpp.DefaultWindow
	}
	return 0
}

// sessionsPage is the page of live MSRP sessions a /status request asks
// for, from the session manager's table.
func (d *daemon) sessionsPage(_ context.Context, q status.SessionQuery) status.SessionPage {
	if d.sessions == nil {
		return status.SessionPage{}
	}
	rows, total := d.sessions.Sessions(q.Offset, q.Limit, q.Filter)
	page := status.SessionPage{Total: total, Items: make([]status.Session, 0, len(rows))}
	for _, r := range rows {
		page.Items = append(page.Items, sessionRow(r))
	}
	return page
}

// sessionRow is one call of the session manager as /status lists it.
func sessionRow(r sipsession.CallInfo) status.Session {
	return status.Session{
		CallID: r.CallID, MSRPSession: r.MSRPSession, Direction: r.Direction.String(), Partner: r.Partner,
		From: r.From, To: r.To, Peer: r.Peer, Started: r.Started, State: r.State,
		MessagesIn: r.MessagesIn, MessagesOut: r.MessagesOut, BytesIn: r.BytesIn, BytesOut: r.BytesOut,
	}
}

// storeWarnings shows the store's start-up findings on /status, each
// setting by its name in redis.conf; nil when there are none, so that
// the JSON leaves the field out.
func storeWarnings(findings []store.AOFFinding) []status.StoreWarning {
	var out []status.StoreWarning
	for _, f := range findings {
		out = append(out, status.StoreWarning{
			Master:  f.Master,
			Problem: f.Problem,
			Settings: map[string]string{
				"appendonly":                  f.AppendOnly,
				"appendfsync":                 f.AppendFsync,
				"auto-aof-rewrite-min-size":   strconv.FormatInt(f.RewriteMinSize, 10),
				"auto-aof-rewrite-percentage": strconv.FormatInt(f.RewritePercentage, 10),
			},
			Recommendation: f.Recommendation,
		})
	}
	return out
}
