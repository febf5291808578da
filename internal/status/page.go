package status

import (
	_ "embed" // page.js
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pageHTML is the status page for people: one document with an inline
// style sheet and one script file of its own (page.js), nothing loaded
// from elsewhere, so that it works on an isolated management network and
// under a CSP without 'unsafe-inline' for scripts. html/template escapes
// every value by context: partner names and error texts come from
// configuration and from peers, and may hold markup.
//
// The server renders the whole page; page.js then fetches the same
// /status as JSON every few seconds and rewrites in place the elements
// marked data-k (a value at a JSON path) and the table bodies marked
// data-rows (one row per element of a JSON list, cloned from the
// <template> row inside, whose cells name a field with data-c). data-f
// names how a value is shown. Without script the page reloads itself.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<title>IWF {{.Node}} status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}
h1{margin:.2em 0}
h2{margin:1.4em 0 .3em;border-bottom:2px solid #ddd}
h3{margin:.6em 0 .2em;font-size:1em}
table{border-collapse:collapse;margin:.2em 0 .6em}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#060}.warn{color:#a60}.bad{color:#b00;font-weight:bold}
.muted{color:#777}
form{margin:.3em 0}
</style>
<script src="/status/page.js" defer></script>
</head>
<body data-partners="{{len .Partners}}">
<h1>IWF {{.Node}}</h1>
<table>
<tr><th>version</th><td>{{.Version}}</td></tr>
<tr><th>started</th><td>{{ts .Started}} (<span data-k="" data-f="uptime">up {{uptime .Started .Now}}</span>)</td></tr>
<tr><th>now</th><td id="now" data-k="now" data-f="ts">{{ts .Now}}</td></tr>
<tr><th>store</th><td data-k="store" data-f="store">{{.Store.Addr}}{{with .Store.Topology}} ({{.}}){{end}}{{if .Store.Embedded}} <span class="warn">(embedded: nothing persists a restart)</span>{{end}}
 {{if .Store.OK}}<span class="ok">ok</span>{{else}}<span class="bad">down</span> {{.Store.Error}}{{end}}{{range .Store.Nodes}}<br>{{.}}{{end}}{{range .Store.Warnings}}
<br><span class="warn">{{.Master}}: {{.Problem}}</span>{{with settings .Settings}} ({{.}}){{end}} &middot; {{.Recommendation}}{{end}}</td></tr>
<tr><th>nodes</th><td data-k="nodes" data-f="nodes">{{range .Nodes}}{{.Name}} &middot; {{.Conversations}} conversations, {{.Sessions}} sessions, heartbeat {{ts .Heartbeat}}<br>{{else}}<span class="muted">unknown</span>{{end}}</td></tr>
<tr><th>draining</th><td data-k="draining" data-f="draining">{{if .Draining}}<span class="bad">yes</span>{{else}}<span class="ok">no</span>{{end}}</td></tr>
<tr><th>listeners</th><td data-k="listeners" data-f="listeners">{{range .Listeners}}{{.Name}} {{.Addr}}{{with .Connections}} &middot; {{.Open}} open, {{.Accepted}} accepted, {{.Refused}} refused{{if .AcceptErrors}}, <span class="warn">{{.AcceptErrors}} accept errors</span>{{end}}{{range $k, $v := .Closed}}, {{$v}} closed ({{$k}}){{end}}{{end}}<br>{{else}}<span class="muted">none</span>{{end}}</td></tr>
{{with .RCSCalls}}<tr><th>RCS calls</th><td data-k="rcs_calls" data-f="calls">{{.Live}} up, {{.Incoming}} incoming &middot; INVITEs refused: {{index .Refused "forbidden"}} forbidden (403), {{index .Refused "busy"}} busy (486), {{index .Refused "overloaded"}} overloaded (503)</td></tr>
{{end}}</table>
{{with counters .Totals}}<h3>Cluster totals</h3>
<table><tr>{{range .}}<th>{{.Key}}</th>{{end}}</tr>
<tr>{{range .}}<td class="n" data-k="totals.{{.Key}}">{{.Value}}</td>{{end}}</tr></table>
{{end}}
{{- with .Partners}}
<h3>Partners</h3>
<table id="partners"><thead><tr><th rowspan="2">partner</th><th rowspan="2">SMPP binds up</th><th colspan="2">in msg/s</th><th colspan="2">out msg/s</th><th rowspan="2">sessions</th><th rowspan="2">conversations</th><th rowspan="2">queue depth</th><th rowspan="2">last error</th></tr>
<tr><th>1 min</th><th>5 min</th><th>1 min</th><th>5 min</th></tr></thead>
<tbody data-rows="partners">
<template><tr><td data-c="name" data-f="plink"></td><td data-c="smpp_binds" data-f="bindsup"></td><td class="n rate" data-c="rates.in.per_sec_1m" data-f="rate"></td><td class="n" data-c="rates.in.per_sec_5m" data-f="rate"></td><td class="n rate" data-c="rates.out.per_sec_1m" data-f="rate"></td><td class="n" data-c="rates.out.per_sec_5m" data-f="rate"></td><td class="n" data-c="sessions"></td><td class="n" data-c="conversations"></td><td class="n" data-c="queue_depth"></td><td data-c="last_errors" data-f="lasterr"></td></tr></template>
{{range $i, $p := .}}<tr><td><a href="#p{{$i}}">{{$p.Name}}</a></td><td class="{{if bindsDown $p.SMPPBinds}}bad{{else}}ok{{end}}">{{bindsUp $p.SMPPBinds}}/{{len $p.SMPPBinds}}</td><td class="n rate">{{rate $p.Rates.In.PerSec1m}}</td><td class="n">{{rate $p.Rates.In.PerSec5m}}</td><td class="n rate">{{rate $p.Rates.Out.PerSec1m}}</td><td class="n">{{rate $p.Rates.Out.PerSec5m}}</td><td class="n">{{$p.Sessions}}</td><td class="n">{{$p.Conversations}}</td><td class="n">{{$p.QueueDepth}}</td><td>{{with $p.LastErrors}}{{with index . 0}}{{ts .Time}} {{.Where}}: {{.Error}}{{end}}{{end}}</td></tr>
{{end}}</tbody></table>
{{- end}}
{{with .Sessions}}
<h2 id="sessions">Live MSRP sessions</h2>
<form method="get" action="/status"><input type="hidden" name="format" value="html"><input type="hidden" name="sessions_limit" value="{{.Limit}}">
<label>filter <input type="search" name="filter" value="{{.Filter}}" placeholder="party, partner, peer, call-id, state"></label> <button type="submit">apply</button></form>
<p><span data-k="sessions" data-f="pageinfo">{{pageInfo .}}</span>{{with prevPage .}} &middot; <a href="{{.}}">previous</a>{{end}}{{with nextPage .}} &middot; <a href="{{.}}">next</a>{{end}}</p>
<table id="sessions-table"><thead><tr><th>call-id</th><th>direction</th><th>partner</th><th>from</th><th>to</th><th>peer</th><th>age</th><th>state</th><th>msgs in</th><th>msgs out</th><th>bytes in</th><th>bytes out</th></tr></thead>
<tbody data-rows="sessions.items">
<template><tr class="session"><td data-c="call_id"></td><td data-c="direction"></td><td data-c="partner"></td><td data-c="from"></td><td data-c="to"></td><td data-c="peer"></td><td class="n" data-c="started" data-f="age"></td><td data-c="state" data-f="sstate"></td><td class="n" data-c="messages_in"></td><td class="n" data-c="messages_out"></td><td class="n" data-c="bytes_in"></td><td class="n" data-c="bytes_out"></td></tr></template>
{{range .Items}}<tr class="session"><td>{{.CallID}}</td><td>{{.Direction}}</td><td>{{.Partner}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Peer}}</td><td class="n">{{age .Started $.Now}}</td><td class="{{sessionClass .State}}">{{.State}}</td><td class="n">{{.MessagesIn}}</td><td class="n">{{.MessagesOut}}</td><td class="n">{{.BytesIn}}</td><td class="n">{{.BytesOut}}</td></tr>
{{end}}</tbody></table>
{{end}}
{{- range $i, $p := .Partners}}
<h2 id="p{{$i}}">{{.Name}}</h2>
<table><tr><th>sessions</th><th>conversations</th><th>queue depth</th><th>in msg/s (1 min, 5 min)</th><th>out msg/s (1 min, 5 min)</th></tr>
<tr><td class="n" data-k="partners.{{$i}}.sessions">{{.Sessions}}</td><td class="n" data-k="partners.{{$i}}.conversations">{{.Conversations}}</td><td class="n" data-k="partners.{{$i}}.queue_depth">{{.QueueDepth}}</td><td class="n" data-k="partners.{{$i}}.rates.in" data-f="rates">{{rate .Rates.In.PerSec1m}}, {{rate .Rates.In.PerSec5m}}</td><td class="n" data-k="partners.{{$i}}.rates.out" data-f="rates">{{rate .Rates.Out.PerSec1m}}, {{rate .Rates.Out.PerSec5m}}</td></tr></table>
<h3>SMPP binds</h3>
<table class="binds">
<thead><tr><th>name</th><th>role</th><th>mode</th><th>state</th><th>since</th><th>remote</th><th>submitted</th><th>delivered</th><th>errors</th><th>in msg/s (1 min)</th><th>out msg/s (1 min)</th><th>window</th><th>outstanding</th></tr></thead>
<tbody data-rows="partners.{{$i}}.smpp_binds">
<template><tr class="bind"><td data-c="name"></td><td data-c="role"></td><td data-c="mode"></td><td data-c="state" data-f="state"></td><td data-c="since" data-f="ts"></td><td data-c="remote"></td><td class="n" data-c="submitted"></td><td class="n" data-c="delivered"></td><td class="n" data-c="errors"></td><td class="n" data-c="rate_in.per_sec_1m" data-f="rate"></td><td class="n" data-c="rate_out.per_sec_1m" data-f="rate"></td><td class="n" data-c="window"></td><td class="n" data-c="outstanding" data-f="window"></td></tr></template>
{{range .SMPPBinds}}<tr class="bind"><td>{{.Name}}</td><td>{{.Role}}</td><td>{{.Mode}}</td><td class="{{stateClass .State}}">{{.State}}</td><td>{{ts .Since}}</td><td>{{.Remote}}</td><td class="n">{{.Submitted}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Errors}}</td><td class="n">{{rate .RateIn.PerSec1m}}</td><td class="n">{{rate .RateOut.PerSec1m}}</td><td class="n">{{.Window}}</td><td class="n">{{windowUse .Outstanding .Window}}</td></tr>
{{end}}</tbody></table>
{{if not .SMPPBinds}}<p class="muted">none</p>
{{end}}<h3>SIP trunk</h3>
{{with .SIPTrunk}}<table>
<tr><th>next hop</th><td>{{.NextHop}}</td></tr>
<tr><th>transport</th><td>{{.Transport}}</td></tr>
<tr><th>allowed sources</th><td>{{join .AllowedSources}}</td></tr>
</table>
{{else}}<p class="muted">none</p>
{{end}}<h3>Counters</h3>
{{with counters .Counters}}<table><tr>{{range .}}<th>{{.Key}}</th>{{end}}</tr>
<tr>{{range .}}<td class="n" data-k="partners.{{$i}}.counters.{{.Key}}">{{.Value}}</td>{{end}}</tr></table>
{{else}}<p class="muted">none</p>
{{end}}<h3>Last errors</h3>
<table><thead><tr><th>time</th><th>where</th><th>error</th></tr></thead>
<tbody data-rows="partners.{{$i}}.last_errors">
<template><tr><td data-c="time" data-f="ts"></td><td data-c="where"></td><td data-c="error"></td></tr></template>
{{range .LastErrors}}<tr><td>{{ts .Time}}</td><td>{{.Where}}</td><td>{{.Error}}</td></tr>
{{end}}</tbody></table>
{{- else}}
<p class="muted">no partners configured</p>
{{- end}}
<h2 id="errors">Last errors, all partners</h2>
<table><thead><tr><th>time</th><th>partner</th><th>where</th><th>error</th></tr></thead>
<tbody data-rows="last_errors">
<template><tr><td data-c="time" data-f="ts"></td><td data-c="partner"></td><td data-c="where"></td><td data-c="error"></td></tr></template>
{{range .LastErrors}}<tr><td>{{ts .Time}}</td><td>{{.Partner}}</td><td>{{.Where}}</td><td>{{.Error}}</td></tr>
{{end}}</tbody></table>
<p class="muted"><a href="?format=json">JSON</a> &middot; <a href="/metrics">metrics</a> &middot; updates in place every few seconds (in-place updates so far: <span id="refreshes" data-refreshes="0">0</span>)</p>
</body>
</html>
`

// newPage parses pageHTML. The template is a constant that the tests
// execute, so an error here is a bug found before release; Handler answers
// HTML requests with 500 rather than panicking if it ever happens.
func newPage() (*template.Template, error) {
	return template.New("status").Funcs(template.FuncMap{
		"ts":           formatTime,
		"uptime":       uptime,
		"counters":     orderedCounters,
		"stateClass":   stateClass,
		"bindsUp":      bindsUp,
		"bindsDown":    func(b []Bind) bool { return bindsUp(b) < len(b) },
		"join":         func(s []string) string { return strings.Join(s, ", ") },
		"rate":         formatRate,
		"age":          age,
		"windowUse":    windowUse,
		"sessionClass": sessionClass,
		"pageInfo":     pageInfo,
		"prevPage":     prevPage,
		"nextPage":     nextPage,
		"settings":     formatSettings,
	}).Parse(pageHTML)
}

// formatSettings lists a store warning's settings by name, as
// "name value" pairs, the way redis.conf writes them.
func formatSettings(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " " + m[k])
	}
	return b.String()
}

// formatTime shows t to the second in UTC, the zone operators correlate
// logs in; "-" for the zero time (a bind that never changed state).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// uptime is now - started to the second; "-" when either is unknown.
func uptime(started, now time.Time) string {
	if started.IsZero() || now.Before(started) {
		return "-"
	}
	return now.Sub(started).Truncate(time.Second).String()
}

// stateClass picks the style of a bind state (the smpp package's names):
// green when bound, amber while it comes or is held back, red otherwise.
func stateClass(state string) string {
	switch state {
	case "bound":
		return "ok"
	case "connecting", "throttled", "backoff":
		return "warn"
	}
	return "bad"
}

// bindsUp counts the binds that carry traffic: bound, or bound and held
// back by the partner's throttle.
func bindsUp(binds []Bind) int {
	n := 0
	for _, b := range binds {
		if b.State == "bound" || b.State == "throttled" {
			n++
		}
	}
	return n
}

// counter is one row of a counters table.
type counter struct {
	Key   string
	Value int64
}

// counterRank places the conventional counters first, in the order
// ingress, egress, then the bad news; any other key ranks after them.
func counterRank(key string) int {
	switch key {
	case CounterInSMPP:
		return 0
	case CounterInSIP:
		return 1
	case CounterInMSRP:
		return 2
	case CounterOutMSRP:
		return 3
	case CounterOutSMPP:
		return 4
	case CounterOutSIP:
		return 5
	case CounterFailed:
		return 6
	case CounterDuplicates:
		return 7
	case CounterRefused:
		return 8
	}
	return 9
}

// orderedCounters lists m by counterRank, then alphabetically: a map ranges
// in random order, and a page that reshuffles at every 5 s refresh cannot be
// read.
func orderedCounters(m map[string]int64) []counter {
	out := make([]counter, 0, len(m))
	for k, v := range m {
		out = append(out, counter{k, v})
	}
	slices.SortFunc(out, func(a, b counter) int {
		if c := counterRank(a.Key) - counterRank(b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// formatRate shows a rate in messages per second to two decimals: one
// message in a minute is 0.02, not 0.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) }

// age is now - started to the second, as Go prints a duration; "-" when
// started is unknown.
func age(started, now time.Time) string {
	if started.IsZero() || now.Before(started) {
		return "-"
	}
	return now.Sub(started).Truncate(time.Second).String()
}

// windowUse shows the requests outstanding against the bind's window, and
// the share of it in use: a window that stays full is the partner's
// throughput limit.
func windowUse(outstanding, window int) string {
	if window <= 0 {
		return strconv.Itoa(outstanding)
	}
	return fmt.Sprintf("%d/%d (%d%%)", outstanding, window, outstanding*100/window)
}

// sessionClass picks the style of a session state.
func sessionClass(state string) string {
	switch state {
	case "established":
		return "ok"
	case "ending":
		return "muted"
	}
	return "warn"
}

// pageInfo says which sessions the page shows.
func pageInfo(p *SessionPage) string {
	if p.Total == 0 {
		if p.Filter != "" {
			return "no session matches"
		}
		return "no live sessions"
	}
	if p.Offset >= p.Total || len(p.Items) == 0 {
		return fmt.Sprintf("none of %d sessions on this page", p.Total)
	}
	return fmt.Sprintf("sessions %d-%d of %d", p.Offset+1, p.Offset+len(p.Items), p.Total)
}

// pageLink is the address of the page of sessions from offset, with the
// same limit and filter.
func pageLink(p *SessionPage, offset int) string {
	v := url.Values{}
	v.Set("format", "html")
	v.Set("sessions_offset", strconv.Itoa(offset))
	v.Set("sessions_limit", strconv.Itoa(p.Limit))
	if p.Filter != "" {
		v.Set("filter", p.Filter)
	}
	return "/status?" + v.Encode()
}

// prevPage is the link to the previous page of sessions, "" on the first.
func prevPage(p *SessionPage) string {
	if p.Offset == 0 || p.Limit == 0 {
		return ""
	}
	return pageLink(p, max(p.Offset-p.Limit, 0))
}

// nextPage is the link to the next page of sessions, "" on the last.
func nextPage(p *SessionPage) string {
	if p.Limit == 0 || p.Offset+p.Limit >= p.Total {
		return ""
	}
	return pageLink(p, p.Offset+p.Limit)
}

// pageScript is page.js: it keeps the page current by fetching /status as
// JSON (see pageHTML).
//
//go:embed page.js
var pageScript []byte

// pageCSP is the status page's Content-Security-Policy: nothing but its
// inline style sheet, its own script file and the fetches that script
// makes to this origin.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// servePageScript serves page.js.
func servePageScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(pageScript)
}
