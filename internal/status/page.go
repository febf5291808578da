package status

import (
	"html/template"
	"slices"
	"strings"
	"time"
)

// pageHTML is the status page for people: one self-contained document, no
// script and nothing loaded from elsewhere, so it works on an isolated
// management network and under a CSP of default-src 'none'. html/template
// escapes every value by context: partner names and error texts come from
// configuration and from peers, and may hold markup.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
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
</style>
</head>
<body>
<h1>IWF {{.Node}}</h1>
<table>
<tr><th>version</th><td>{{.Version}}</td></tr>
<tr><th>started</th><td>{{ts .Started}} (up {{uptime .Started .Now}})</td></tr>
<tr><th>now</th><td>{{ts .Now}}</td></tr>
<tr><th>store</th><td>{{.Store.Addr}}{{if .Store.Embedded}} <span class="warn">(embedded: nothing persists a restart)</span>{{end}}
 {{if .Store.OK}}<span class="ok">ok</span>{{else}}<span class="bad">down</span> {{.Store.Error}}{{end}}</td></tr>
<tr><th>draining</th><td>{{if .Draining}}<span class="bad">yes</span>{{else}}<span class="ok">no</span>{{end}}</td></tr>
<tr><th>listeners</th><td>{{range .Listeners}}{{.Name}} {{.Addr}}{{with .Connections}} &middot; {{.Open}} open, {{.Accepted}} accepted, {{.Refused}} refused{{if .AcceptErrors}}, <span class="warn">{{.AcceptErrors}} accept errors</span>{{end}}{{range $k, $v := .Closed}}, {{$v}} closed ({{$k}}){{end}}{{end}}<br>{{else}}<span class="muted">none</span>{{end}}</td></tr>
{{with .RCSCalls}}<tr><th>RCS calls</th><td>{{.Live}} up, {{.Incoming}} incoming &middot; INVITEs refused: {{index .Refused "forbidden"}} forbidden (403), {{index .Refused "busy"}} busy (486), {{index .Refused "overloaded"}} overloaded (503)</td></tr>
{{end}}</table>
{{with counters .Totals}}<h3>Cluster totals</h3>
<table><tr>{{range .}}<th>{{.Key}}</th>{{end}}</tr>
<tr>{{range .}}<td class="n">{{.Value}}</td>{{end}}</tr></table>
{{end}}
{{- with .Partners}}
<h3>Partners</h3>
<table><tr><th>partner</th><th>SMPP binds up</th><th>sessions</th><th>conversations</th><th>queue depth</th><th>last error</th></tr>
{{range $i, $p := .}}<tr><td><a href="#p{{$i}}">{{$p.Name}}</a></td><td class="{{if bindsDown $p.SMPPBinds}}bad{{else}}ok{{end}}">{{bindsUp $p.SMPPBinds}}/{{len $p.SMPPBinds}}</td><td class="n">{{$p.Sessions}}</td><td class="n">{{$p.Conversations}}</td><td class="n">{{$p.QueueDepth}}</td><td>{{with $p.LastErrors}}{{with index . 0}}{{ts .Time}} {{.Where}}: {{.Error}}{{end}}{{end}}</td></tr>
{{end}}</table>
{{- end}}
{{- range $i, $p := .Partners}}
<h2 id="p{{$i}}">{{.Name}}</h2>
<table><tr><th>sessions</th><th>conversations</th><th>queue depth</th></tr>
<tr><td class="n">{{.Sessions}}</td><td class="n">{{.Conversations}}</td><td class="n">{{.QueueDepth}}</td></tr></table>
<h3>SMPP binds</h3>
{{if .SMPPBinds}}<table>
<tr><th>name</th><th>role</th><th>mode</th><th>state</th><th>since</th><th>remote</th><th>submitted</th><th>delivered</th><th>errors</th><th>window</th><th>outstanding</th></tr>
{{range .SMPPBinds}}<tr><td>{{.Name}}</td><td>{{.Role}}</td><td>{{.Mode}}</td><td class="{{stateClass .State}}">{{.State}}</td><td>{{ts .Since}}</td><td>{{.Remote}}</td><td class="n">{{.Submitted}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Errors}}</td><td class="n">{{.Window}}</td><td class="n">{{.Outstanding}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">none</p>
{{end}}<h3>SIP trunk</h3>
{{with .SIPTrunk}}<table>
<tr><th>next hop</th><td>{{.NextHop}}</td></tr>
<tr><th>transport</th><td>{{.Transport}}</td></tr>
<tr><th>allowed sources</th><td>{{join .AllowedSources}}</td></tr>
</table>
{{else}}<p class="muted">none</p>
{{end}}<h3>Counters</h3>
{{with counters .Counters}}<table><tr>{{range .}}<th>{{.Key}}</th>{{end}}</tr>
<tr>{{range .}}<td class="n">{{.Value}}</td>{{end}}</tr></table>
{{else}}<p class="muted">none</p>
{{end}}<h3>Last errors</h3>
{{if .LastErrors}}<table><tr><th>time</th><th>where</th><th>error</th></tr>
{{range .LastErrors}}<tr><td>{{ts .Time}}</td><td>{{.Where}}</td><td>{{.Error}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">none</p>
{{end}}
{{- else}}
<p class="muted">no partners configured</p>
{{- end}}
<p class="muted"><a href="?format=json">JSON</a> &middot; <a href="metrics">metrics</a> &middot; refreshes every 5 s</p>
</body>
</html>
`

// newPage parses pageHTML. The template is a constant that the tests
// execute, so an error here is a bug found before release; Handler answers
// HTML requests with 500 rather than panicking if it ever happens.
func newPage() (*template.Template, error) {
	return template.New("status").Funcs(template.FuncMap{
		"ts":         formatTime,
		"uptime":     uptime,
		"counters":   orderedCounters,
		"stateClass": stateClass,
		"bindsUp":    bindsUp,
		"bindsDown":  func(b []Bind) bool { return bindsUp(b) < len(b) },
		"join":       func(s []string) string { return strings.Join(s, ", ") },
	}).Parse(pageHTML)
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
