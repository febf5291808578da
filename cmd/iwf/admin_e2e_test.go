package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/session/sipsession"
	"iwf/smpp/smpptest"
	"iwf/store/redistest"
)

// adminToken is the status.admin_token of the daemons below.
const adminToken = "sesame"

// adminEnv is a daemon whose configuration file the test rewrites.
type adminEnv struct {
	e2eConfig
	redis, rcs string
	// msrpListen is msrp.listen; every listener is on port 0.
	msrpListen string
	// addr is where the daemon started listening.
	addr daemonAddrs
}

func newAdminEnv(t *testing.T, redis, rcs string) *adminEnv {
	return &adminEnv{e2eConfig: e2eConfig{path: filepath.Join(t.TempDir(), "iwf.yaml")},
		redis: redis, rcs: rcs, msrpListen: "127.0.0.1:0"}
}

// start runs the daemon on the file written last.
func (e *adminEnv) start(t *testing.T) *daemonProc {
	t.Helper()
	d := startDaemon(t, e.e2eConfig)
	e.addr = d.addr
	return d
}

// write writes the file with partners (YAML list items, indented by two).
func (e *adminEnv) write(t *testing.T, partners string) {
	t.Helper()
	yaml := fmt.Sprintf(`log_level: info
node: e2e
store: {addr: %q}
status: {listen: 127.0.0.1:0, admin_token: %s}
drain: {grace: 2s}
msrp: {listen: %q, host: 127.0.0.1}
sip:
  listen:
    - {transport: udp, address: 127.0.0.1:0}
    - {transport: tcp, address: 127.0.0.1:0}
smpp:
  server: {listen: 127.0.0.1:0}
rcs:
  trunk: {next_hop: "sip:%s;transport=tcp", invite_timeout: 10s}
  pager: {allowed_sources: [127.0.0.1]}
partners:
%s`, e.redis, adminToken, e.msrpListen, e.rcs, partners)
	if err := os.WriteFile(e.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *adminEnv) smppAddr() string { return e.addr.smpp }
func (e *adminEnv) base() string     { return e.addr.statusURL() }

// ctl runs "iwf ctl" against the daemon, as an operator would.
func (e *adminEnv) ctl(t *testing.T, token string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := ctlMain(append([]string{"-addr", e.base(), "-token", token}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

const demoPartnerYAML = `  - name: demo
    routing: {numbers: ["+46"]}
    smpp:
      server: {system_id: demo, password: demo, window: 100}
    session: {promotion: always, open_timeout: 10s}
`

// Issue 15 item 2: every admin action through "iwf ctl" against a running
// daemon, with real traffic: suspend refuses a gosmpp ESME's submit with
// ESME_RX_T_APPN and resume takes the next one; end sends the BYE the RCS
// core sees; unbind sends unbind to the test SMSC and keeps the bind down
// until rebind; drain makes the node unready; a wrong token changes
// nothing.
func TestCtlAdminActions(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	smsc := smpptest.Start(t, smpptest.Config{SystemID: "iwf", Password: "pw"})
	env := newAdminEnv(t, redistest.Start(t), rcs.TCP())
	env.write(t, demoPartnerYAML+fmt.Sprintf(`  - name: carrier
    routing: {numbers: ["+44"]}
    smpp:
      clients: [{address: %q, system_id: iwf, password: pw, rebind_min: 10ms}]
`, smsc.Addr()))
	d := env.start(t)
	ctx := testutil.Context(t)
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Bound == 1 }); err != nil {
		t.Fatal(err)
	}
	esme := iwftest.BindESME(t, env.smppAddr(), "demo", "demo")

	if code, out := env.ctl(t, "wrong", "suspend", "demo"); code != 1 || !strings.Contains(out, "401") {
		t.Fatalf("ctl with a wrong token: %d %s", code, out)
	}
	if code, out := env.ctl(t, adminToken, "suspend", "nobody"); code != 1 || !strings.Contains(out, "404") {
		t.Fatalf("suspend of an unknown partner: %d %s", code, out)
	}
	if code, out := env.ctl(t, adminToken, "suspend", "demo"); code != 0 || !strings.Contains(out, `"suspended": true`) {
		t.Fatalf("suspend: %d %s", code, out)
	}
	esme.Submit(t, "46700000001", "46700000002", "while suspended")
	if r := esme.NextResp(t); r.CommandStatus != data.ESME_RX_T_APPN {
		t.Fatalf("submit_sm_resp %v while suspended, want ESME_RX_T_APPN", r.CommandStatus)
	}
	if code, out := env.ctl(t, adminToken, "resume", "demo"); code != 0 {
		t.Fatalf("resume: %d %s", code, out)
	}
	esme.Submit(t, "46700000001", "46700000002", "resumed")
	if r := esme.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v after resume", r.CommandStatus)
	}
	if m := rcs.Next(t); m.Text != "resumed" {
		t.Fatalf("RCS side got %q", m.Text)
	}
	call := <-rcs.Calls

	// The session the message opened is listed and ended by its Call-ID.
	code, out := env.ctl(t, adminToken, "sessions")
	var live []sipsession.CallInfo
	if code != 0 || json.Unmarshal([]byte(out), &live) != nil || len(live) != 1 || live[0].CallID != call.CallID() {
		t.Fatalf("sessions: %d %s (RCS call %s)", code, out, call.CallID())
	}
	if code, out := env.ctl(t, adminToken, "end", live[0].CallID); code != 0 {
		t.Fatalf("end: %d %s", code, out)
	}
	select {
	case <-call.Done():
	case <-ctx.Done():
		t.Fatal("the RCS core's call did not end")
	}
	if call.Reason() != sipsession.ReasonPeerBye {
		t.Fatalf("RCS call ended by %v, want the IWF's BYE", call.Reason())
	}

	// unbind: the SMSC sees unbind and no rebind until asked.
	if code, out := env.ctl(t, adminToken, "unbind", "demo"); code != 1 || !strings.Contains(out, "409") {
		t.Fatalf("unbind of a partner without client binds: %d %s", code, out)
	}
	if code, out := env.ctl(t, adminToken, "unbind", "carrier"); code != 0 || !strings.Contains(out, `"unbound"`) {
		t.Fatalf("unbind: %d %s", code, out)
	}
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Unbinds == 1 && s.Bound == 0 }); err != nil {
		t.Fatal(err)
	}
	if n := smsc.BindCount(); n != 1 {
		t.Fatalf("%d binds while unbound, want 1", n)
	}
	if code, out := env.ctl(t, adminToken, "rebind", "carrier"); code != 0 {
		t.Fatalf("rebind: %d %s", code, out)
	}
	if err := smsc.Wait(ctx, func(s smpptest.State) bool { return s.Bound == 1 && s.Binds == 2 }); err != nil {
		t.Fatal(err)
	}

	// drain: the node says it is not ready and refuses new submits.
	if code, out := env.ctl(t, adminToken, "drain"); code != 0 {
		t.Fatalf("drain: %d %s", code, out)
	}
	if code, body := httpGet(t, env.base()+"/readyz"); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("/readyz after drain: %d %s", code, body)
	}
	code, out = env.ctl(t, adminToken, "status")
	if code != 0 || !strings.Contains(out, `"draining": true`) {
		t.Fatalf("status: %d %s", code, out)
	}
	// Every action is in the log with who asked.
	for _, action := range []string{"suspend", "resume", "end", "unbind", "rebind", "drain"} {
		if !strings.Contains(d.logText(), "action="+action+" target=") {
			t.Fatalf("no log line for %s:\n%s", action, d.logText())
		}
	}
	if !strings.Contains(d.logText(), "remote=127.0.0.1:") {
		t.Fatal("admin actions logged without the caller's address")
	}
	noRace(t, d)
}

// noRace fails the test when the daemon, built with the test binary's
// -race, reported a data race.
func noRace(t *testing.T, d *daemonProc) {
	t.Helper()
	if l := d.logText(); strings.Contains(l, "DATA RACE") {
		t.Fatalf("the daemon reported a data race:\n%s", l)
	}
}

// reloadStatus is the config section of /status.
type reloadStatus struct {
	Config struct {
		Version    string    `json:"version"`
		Loaded     time.Time `json:"loaded"`
		LastReload string    `json:"last_reload"`
	} `json:"config"`
}

func (e *adminEnv) configStatus(t *testing.T) reloadStatus {
	t.Helper()
	code, body := httpGet(t, e.base()+"/status")
	var st reloadStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("/status %d %s", code, body)
	}
	return st
}

// hup sends SIGHUP and waits for the reload to be counted under result.
func (e *adminEnv) hup(t *testing.T, d *daemonProc, result string, n int) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`iwf_config_reload_total{result=%q} %d`, result, n)
	testutil.Eventually(t, func() bool {
		_, m := httpGet(t, e.base()+"/metrics")
		return strings.Contains(m, want)
	}, "%s", want)
}

// bindErr binds a transceiver with gosmpp and returns the bind's error.
func bindErr(addr, systemID, password string) error {
	c, err := gosmpp.TRXConnector(gosmpp.NonTLSDialer, gosmpp.Auth{SMSC: addr, SystemID: systemID, Password: password}).Connect()
	if err == nil {
		_ = c.Close()
	}
	return err
}

// Issue 15 item 3: SIGHUP to a running daemon (a child process) applies
// an added partner and a changed password while the bind of an
// unchanged partner stays up on its connection; a bad file keeps the
// running configuration and logs its faults by path; a listener change
// is refused and counted, the partner changes of that file still apply.
func TestSIGHUPReload(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	env := newAdminEnv(t, redistest.Start(t), rcs.TCP())
	other := func(pw string) string {
		return fmt.Sprintf(`  - name: other
    routing: {numbers: ["+47"]}
    smpp:
      server: {system_id: other, password: %s}
`, pw)
	}
	env.write(t, demoPartnerYAML+other("old"))
	d := env.start(t)
	before := env.configStatus(t)
	if before.Config.Version == "" || before.Config.Loaded.IsZero() {
		t.Fatalf("/status config %+v", before.Config)
	}
	esme := iwftest.BindESME(t, env.smppAddr(), "demo", "demo")
	if err := bindErr(env.smppAddr(), "added", "pw"); err == nil {
		t.Fatal("a partner not yet configured bound")
	}

	// Added partner, changed password, demo unchanged.
	env.write(t, demoPartnerYAML+other("new")+`  - name: added
    routing: {numbers: ["+48"]}
    smpp:
      server: {system_id: added, password: pw}
`)
	env.hup(t, d, reloadApplied, 1)
	after := env.configStatus(t)
	if after.Config.Version == before.Config.Version || after.Config.LastReload != reloadApplied {
		t.Fatalf("/status config after reload %+v, before %+v", after.Config, before.Config)
	}
	if err := bindErr(env.smppAddr(), "added", "pw"); err != nil {
		t.Fatalf("the added partner's bind: %v", err)
	}
	if err := bindErr(env.smppAddr(), "other", "old"); err == nil {
		t.Fatal("the old password still binds")
	}
	if err := bindErr(env.smppAddr(), "other", "new"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	// demo's bind is the same connection, and carries traffic.
	esme.Submit(t, "46700000001", "46700000002", "after reload")
	if r := esme.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v on the unchanged partner's bind", r.CommandStatus)
	}
	if m := rcs.Next(t); m.Text != "after reload" {
		t.Fatalf("RCS side got %q", m.Text)
	}

	// A bad file: nothing changes, the fault is logged by its path.
	env.write(t, demoPartnerYAML+`  - name: other
    routing: {numbers: ["+47"]}
    smpp:
      server: {system_id: other, password: new, window: -1}
`)
	env.hup(t, d, reloadInvalid, 1)
	if !strings.Contains(d.logText(), "partners[1].smpp.server.window") {
		t.Fatalf("the invalid field is not named in the log:\n%s", lastLines(d.logText(), 20))
	}
	if st := env.configStatus(t); st.Config.Version != after.Config.Version || st.Config.LastReload != reloadInvalid {
		t.Fatalf("/status config after a bad file %+v", st.Config)
	}
	if err := bindErr(env.smppAddr(), "added", "pw"); err != nil {
		t.Fatalf("the bad file changed the partners: %v", err)
	}

	// A listener change needs a restart: refused and counted; the file's
	// partner change (added removed) still applies.
	env.msrpListen = "127.0.0.2:0"
	env.write(t, demoPartnerYAML+other("new"))
	env.hup(t, d, reloadPartial, 1)
	if !strings.Contains(d.logText(), `section=msrp`) {
		t.Fatalf("the refused section is not logged:\n%s", lastLines(d.logText(), 20))
	}
	if err := bindErr(env.smppAddr(), "added", "pw"); err == nil {
		t.Fatal("a removed partner still binds")
	}
	esme.Submit(t, "46700000001", "46700000002", "still up")
	if r := esme.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v after the refused change", r.CommandStatus)
	}
	noRace(t, d)
}

// lastLines returns the last n lines of log.
func lastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
