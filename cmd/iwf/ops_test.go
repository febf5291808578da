package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"iwf/internal/testutil"
)

// Paths of the ops files, from this package's directory.
const (
	alertRulesFile = "../../configs/prometheus/iwf-alerts.yml"
	dashboardFile  = "../../configs/grafana/iwf-dashboard.json"
	unitFile       = "../../configs/systemd/iwf.service"
	readmeFile     = "../../README.md"
)

// alertRules is the part of a Prometheus rule file the checks read.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadAlertRules(t *testing.T) alertRules {
	t.Helper()
	b, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", alertRulesFile, err)
	}
	return r
}

// dashboardExprs returns every PromQL expression of a Grafana dashboard:
// the panels' targets and the template variables' queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no title, uid or panels", dashboardFile)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	return exprs
}

var (
	// promStrings are PromQL string literals, label matchers' values
	// among them: their contents are no metric names.
	promStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	// promNames are the project's and the client library's metric names:
	// every series the node exports starts with one of these prefixes,
	// and no PromQL function, keyword or label name here does.
	promNames = regexp.MustCompile(`\b(?:iwf|process|go)_[a-zA-Z0-9_:]*`)
)

// metricNames lists the metric names a PromQL expression reads.
func metricNames(expr string) []string {
	names := promNames.FindAllString(promStrings.ReplaceAllString(expr, `""`), -1)
	slices.Sort(names)
	return slices.Compact(names)
}

// The name extraction sees metric names, not label values or functions.
func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum by (partner) (rate(iwf_messages_total{outcome="failed", x="iwf_fake"}[5m])) / clamp_min(sum(iwf_messages_total), 1)`, []string{"iwf_messages_total"}},
		{`histogram_quantile(0.95, sum by (le) (rate(iwf_delivery_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`, []string{"iwf_delivery_seconds_bucket"}},
		{`label_values(iwf_info, instance)`, []string{"iwf_info"}},
		{`process_open_fds + go_goroutines`, []string{"go_goroutines", "process_open_fds"}},
	} {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

// exposedNames are the sample names a /metrics text exposition holds
// (histograms as their _bucket, _sum and _count series).
func exposedNames(exposition string) map[string]bool {
	names := map[string]bool{}
	for line := range strings.SplitSeq(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// The alert rules cover what issue 15 lists, each with a severity, a
// runbook link and a README section, and every metric the rules and the
// dashboard read is on a live /metrics after traffic.
func TestOpsFilesMetricsExist(t *testing.T) {
	rules := loadAlertRules(t)
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	type use struct{ where, expr string }
	var uses []use
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" || r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v lacks alert, expr, for, severity or summary", r)
			}
			anchor := "README.md#" + strings.ToLower(r.Alert)
			if r.Annotations["runbook"] != anchor {
				t.Errorf("%s: runbook %q, want %q", r.Alert, r.Annotations["runbook"], anchor)
			}
			if !bytes.Contains(readme, []byte("### "+r.Alert+"\n")) {
				t.Errorf("%s: README has no runbook section %q", r.Alert, "### "+r.Alert)
			}
			uses = append(uses, use{"alert " + r.Alert, r.Expr})
		}
	}
	for _, want := range []string{"IWFSMPPBindDown", "IWFStoreUnready", "IWFQueueDepthGrowing",
		"IWFFailureReceiptRate", "IWFSessionOpenFailures", "IWFLeaseChurn"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
	for _, e := range dashboardExprs(t) {
		uses = append(uses, use{"dashboard", e})
	}

	// A node after real traffic: a bind, sessions, deliveries.
	l := startLoaded(t, 2, 1)
	code, body := httpGet(t, l.base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics %d", code)
	}
	exposed := exposedNames(body)
	for _, u := range uses {
		names := metricNames(u.expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", u.where, u.expr)
		}
		for _, n := range names {
			if !exposed[n] {
				t.Errorf("%s reads %s, which /metrics does not have", u.where, n)
			}
		}
	}
}

// The systemd unit carries the hardening README promises, and
// systemd-analyze (when the machine has it) finds nothing to say.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is no key=value in a section", unitFile, i+1, line)
			}
			keys[section+k] = append(keys[section+k], v)
		}
	}
	for key, want := range map[string]string{
		"[Service]NoNewPrivileges":       "yes",
		"[Service]ProtectSystem":         "strict",
		"[Service]PrivateTmp":            "yes",
		"[Service]ProtectHome":           "yes",
		"[Service]CapabilityBoundingSet": "",
		"[Service]AmbientCapabilities":   "",
		"[Service]Restart":               "on-failure",
		"[Service]LimitNOFILE":           "65536",
		"[Service]KillSignal":            "SIGTERM",
		"[Service]User":                  "iwf",
		"[Install]WantedBy":              "multi-user.target",
	} {
		if got := keys[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := keys["[Service]ExecStart"]; len(got) != 1 || !strings.Contains(got[0], "-config /etc/iwf/iwf.yaml") {
		t.Errorf("ExecStart = %q", got)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the unit was only parsed")
		return
	}
	// verify wants the binaries to exist: point them at this test binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "iwf.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/local/bin/iwf"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// verify exits 0 on unknown keys and only warns: any word about
	// the unit is a finding.
	if err != nil || bytes.Contains(out, []byte("iwf.service")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// -version prints the version and the build information the toolchain
// recorded.
func TestVersionFlag(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IWF_E2E_DAEMON=-version")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("iwf -version: %v\n%s", err, out)
	}
	for _, want := range []string{"iwf dev\n", "\ngo go1."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("iwf -version lacks %q:\n%s", want, out)
		}
	}
}

// buildInfo shows the module, Go version and VCS stamp of a build.
func TestBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "iwf", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"},
			{Key: "-ldflags", Value: "-X main.version=1.4.0"},
		}}
	want := "iwf 1.4.0\nmodule iwf v1.4.0\ngo go1.26.0\nvcs git\nvcs.revision 0123abcd\nvcs.time 2026-01-02T03:04:05Z\nvcs.modified false\n"
	if got := buildInfo("1.4.0", info); got != want {
		t.Errorf("buildInfo =\n%s\nwant\n%s", got, want)
	}
	if got := buildInfo("dev", nil); !strings.HasPrefix(got, "iwf dev\ngo go1.") {
		t.Errorf("buildInfo without info = %q", got)
	}
}

// log_format json writes one JSON object a line; text writes key=value.
func TestLogFormat(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"json", `"msg":"hello"`},
		{"text", `msg=hello`},
	} {
		var buf bytes.Buffer
		log := newLogger(&buf, "info", tc.format)
		log.Debug("hidden")
		log.Info("hello", slog.String("partner", "demo"))
		if !strings.Contains(buf.String(), tc.want) || strings.Contains(buf.String(), "hidden") {
			t.Errorf("%s: %q", tc.format, buf.String())
		}
		if tc.format == "json" {
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["partner"] != "demo" {
				t.Errorf("json line %q: %v", buf.String(), err)
			}
		}
	}
	minimal, err := os.ReadFile("../../configs/testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := ParseConfig(minimal); err != nil || cfg.LogFormat != "text" {
		t.Fatalf("default log_format %q (%v), want text", cfg.LogFormat, err)
	}
	cfg, err := ParseConfig(append([]byte("log_format: json\n"), minimal...))
	if err != nil || cfg.LogFormat != "json" {
		t.Fatalf("log_format: json: %v, %q", err, cfg.LogFormat)
	}
}

// go-redis's own lines (here: a sentinel that refuses the connection,
// logged while the store is opened) come out through the daemon's slog,
// as JSON with log_format json, not from the standard logger.
func TestGoRedisLogsThroughSlog(t *testing.T) {
	dead := testutil.ClosedAddr(t)
	cfg := writeE2EConfig(t, fmt.Sprintf("{mode: sentinel, master_name: iwf-e2e, addrs: [%q], max_retries: -1}", dead), "127.0.0.1:1")
	b, err := os.ReadFile(cfg.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.path, append([]byte("log_format: json\n"), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testutil.Context(t), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IWF_E2E_DAEMON=-config "+cfg.path)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the daemon started without its store:\n%s", out)
	}
	want := `sentinel: GetMasterAddrByName addr=` + dead + `, master="iwf-e2e" failed`
	var found bool
	for line := range strings.Lines(string(out)) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		msg, _ := m["msg"].(string)
		if strings.HasPrefix(msg, want) && m["level"] == "WARN" && m["component"] == "go-redis" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no go-redis warning %q in the daemon's log:\n%s", want, out)
	}
}
