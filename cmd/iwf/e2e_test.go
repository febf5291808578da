package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/redis/go-redis/v9"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/session/sipsession"
	"iwf/store/redistest"
)

// TestMain lets the end-to-end tests run this test binary as the daemon:
// with IWF_E2E_DAEMON set it is main itself, with at most
// IWF_E2E_NOFILE descriptors when that is set too.
func TestMain(m *testing.M) {
	if os.Getenv("IWF_E2E_DAEMON") != "" {
		if n := os.Getenv("IWF_E2E_NOFILE"); n != "" {
			// Set here rather than by the parent: exec has no rlimit
			// attribute, and Go raises the soft limit at start-up.
			limit, err := strconv.ParseUint(n, 10, 64)
			if err == nil {
				err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: limit})
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "IWF_E2E_NOFILE:", err)
				os.Exit(2)
			}
		}
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv("IWF_E2E_DAEMON"))...)
		main()
		os.Exit(0)
	}
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}

// afterTests run once every test has, before the binary exits: the chaos
// suite prints its table of figures.
var afterTests []func()

// e2eConfig is a daemon configuration file, with the store at redis and
// the RCS side at rcs. Its listeners are on loopback port 0: a port
// picked free, released and handed to the daemon could be taken in
// between by any socket of a busy machine. The daemon logs the ports it
// got (daemonProc.addr).
type e2eConfig struct {
	path string
}

func writeE2EConfig(t *testing.T, redis, rcs string) e2eConfig {
	t.Helper()
	return writeE2EConfigWith(t, redis, rcs, e2eOptions{})
}

// e2eOptions add keys to the configuration writeE2EConfig writes, each a
// YAML flow mapping's contents ("retry_delay: 500ms, max_age: 1m").
type e2eOptions struct {
	// Session adds to the partner's session section.
	Session string
	// SMPPServer adds to smpp.server.
	SMPPServer string
	// LogLevel replaces info.
	LogLevel string
	// Node replaces the node name "e2e".
	Node string
}

func writeE2EConfigWith(t *testing.T, redis, rcs string, o e2eOptions) e2eConfig {
	t.Helper()
	var c e2eConfig
	// redis is an address, or a whole store section in flow style.
	store := fmt.Sprintf("{addr: %q}", redis)
	if strings.HasPrefix(redis, "{") {
		store = redis
	}
	session, server, level := "promotion: always, open_timeout: 10s", "", "info"
	if o.LogLevel != "" {
		level = o.LogLevel
	}
	if o.Session != "" {
		session += ", " + o.Session
	}
	if o.SMPPServer != "" {
		server = ", " + o.SMPPServer
	}
	yaml := fmt.Sprintf(`log_level: %s
node: %s
store: %s
status: {listen: 127.0.0.1:0, pprof_token: `+e2ePprofToken+`}
drain: {grace: 5s}
msrp: {listen: 127.0.0.1:0, host: 127.0.0.1}
sip:
  listen:
    - {transport: udp, address: 127.0.0.1:0}
    - {transport: tcp, address: 127.0.0.1:0}
smpp:
  server: {listen: 127.0.0.1:0%s}
rcs:
  trunk: {next_hop: "sip:%s;transport=tcp", invite_timeout: 10s}
  pager: {allowed_sources: [127.0.0.1]}
partners:
  - name: demo
    routing: {numbers: ["+"]}
    smpp:
      server: {system_id: demo, password: demo, window: 100}
    session: {%s}
`, level, cmp.Or(o.Node, "e2e"), store, server, rcs, session)
	c.path = filepath.Join(t.TempDir(), "iwf.yaml")
	if err := os.WriteFile(c.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// daemonProc is the daemon running as a child process.
type daemonProc struct {
	// addr is where its listeners are; a restarted daemon has new ones.
	addr   daemonAddrs
	cmd    *exec.Cmd
	exited chan error
	// done closes when the process has exited, exitErr set; unlike
	// exited it can be waited on any number of times.
	done    chan struct{}
	exitErr error

	mu sync.Mutex
	// log is what the daemon wrote to standard error, lines over 4 KiB
	// left out.
	log strings.Builder
}

// logText returns what the daemon has logged so far.
func (d *daemonProc) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// daemonAddrs are the addresses the daemon's listeners bound, host:port.
type daemonAddrs struct {
	sipUDP, sipTCP, msrp, smpp, status string
}

// statusURL is the base URL of the status endpoint.
func (a daemonAddrs) statusURL() string { return "http://" + a.status }

// parseListen reads the addresses of the "iwf running" record's listen
// group (wire.go), slog's text form: listen.msrp=127.0.0.1:40001 ...
func parseListen(line string) (daemonAddrs, error) {
	var a daemonAddrs
	fields := map[string]*string{"sip_udp": &a.sipUDP, "sip_tcp": &a.sipTCP, "msrp": &a.msrp, "smpp": &a.smpp, "status": &a.status}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if name, listen := strings.CutPrefix(k, "listen."); ok && listen && fields[name] != nil {
			*fields[name] = v
			delete(fields, name)
		}
	}
	if len(fields) > 0 {
		return a, fmt.Errorf("no listen address for %v in %q", slices.Sorted(maps.Keys(fields)), line)
	}
	return a, nil
}

// startDaemon runs the daemon on cfg and returns once it logged that it
// runs (every listener is up by then) and where it listens.
func startDaemon(t *testing.T, cfg e2eConfig) *daemonProc {
	t.Helper()
	return startDaemonEnv(t, cfg)
}

// startDaemonEnv is startDaemon with environment variables added
// ("IWF_E2E_NOFILE=64").
func startDaemonEnv(t *testing.T, cfg e2eConfig, env ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "IWF_E2E_DAEMON=-config "+cfg.path), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, exited: make(chan error, 1), done: make(chan struct{})}
	running := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if len(line) < 4096 {
				d.mu.Lock()
				d.log.WriteString(line + "\n")
				d.mu.Unlock()
			}
			if !signalled && strings.Contains(line, `msg="iwf running"`) {
				running <- line
				signalled = true
			}
		}
		d.exitErr = cmd.Wait()
		close(d.done)
		d.exited <- d.exitErr
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-d.exited
		}
	})
	select {
	case line := <-running:
		if d.addr, err = parseListen(line); err != nil {
			t.Fatal(err)
		}
	case err := <-d.exited:
		t.Fatalf("daemon exited: %v\n%s", err, d.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start\n%s", d.logText())
	}
	return d
}

// kill stops the daemon with SIGKILL: no drain, no clean-up.
func (d *daemonProc) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
}

// Issue 5, must show (4): the daemon acknowledged three submits and was
// killed with SIGKILL before it could send them (the RCS side held its
// INVITE); after a restart each is delivered exactly once.
func TestKilledDaemonDeliversExactlyOnceAfterRestart(t *testing.T) {
	redis := redistest.Start(t)
	rcs := iwftest.StartRCS(t, 0)
	rcs.Hold = make(chan struct{})
	cfg := writeE2EConfig(t, redis, rcs.TCP())
	d := startDaemon(t, cfg)
	esme := iwftest.BindESME(t, d.addr.smpp, "demo", "demo")
	texts := []string{"alpha", "beta", "gamma"}
	for _, s := range texts {
		esme.Submit(t, "46700000001", "46700000002", s)
		if r := esme.NextResp(t); r.CommandStatus != data.ESME_ROK {
			t.Fatalf("submit_sm_resp %v", r.CommandStatus)
		}
	}
	select {
	case <-rcs.Held:
	case <-time.After(iwftest.Wait):
		t.Fatal("no INVITE reached the RCS side")
	}
	d.kill(t)
	close(rcs.Hold)

	// The restarted daemon listens on new ports.
	d = startDaemon(t, cfg)
	seen := map[string]int{}
	for i, want := range texts {
		m := rcs.Next(t)
		if m.Text != want {
			t.Fatalf("message %d is %q, want %q", i, m.Text, want)
		}
		seen[m.ID]++
	}
	// A resent message would come before anything queued after it in the
	// same conversation: a marker message closes the check.
	esme = iwftest.BindESME(t, d.addr.smpp, "demo", "demo")
	esme.Submit(t, "46700000001", "46700000002", "marker")
	if m := rcs.Next(t); m.Text != "marker" {
		t.Fatalf("%q (Message-ID %s) delivered again", m.Text, m.ID)
	}
	if len(seen) != 3 {
		t.Fatalf("Message-IDs %v", seen)
	}
}

// e2ePprofToken is status.pprof_token in the end-to-end configuration.
const e2ePprofToken = "e2e-pprof-0123456789"

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// The status endpoint shows the partner's bind, its session and its
// counters after a message went through; SIGTERM drains and exits 0.
func TestDaemonStatusAndDrain(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	cfg := writeE2EConfig(t, redistest.Start(t), rcs.TCP())
	d := startDaemon(t, cfg)
	base := d.addr.statusURL()
	esme := iwftest.BindESME(t, d.addr.smpp, "demo", "demo")
	esme.Submit(t, "46700000001", "46700000003", "status check")
	esme.NextResp(t)
	if m := rcs.Next(t); m.Text != "status check" {
		t.Fatalf("RCS side got %q", m.Text)
	}
	if code, _ := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	// status.pprof_token reaches the handler: the profiles are there for
	// its bearer only.
	if code, _ := httpGet(t, base+"/debug/pprof/heap"); code != http.StatusUnauthorized {
		t.Errorf("/debug/pprof/heap without the token: %d", code)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/debug/pprof/heap", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2ePprofToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/debug/pprof/heap with the token: %d", res.StatusCode)
	}
	type statusDoc struct {
		Listeners []struct {
			Name        string `json:"name"`
			Connections *struct {
				Open     int64  `json:"open"`
				Accepted uint64 `json:"accepted"`
			} `json:"connections"`
		} `json:"listeners"`
		Partners []struct {
			Name      string `json:"name"`
			Sessions  int    `json:"sessions"`
			SMPPBinds []struct {
				Role, State string
			} `json:"smpp_binds"`
			Counters map[string]int64 `json:"counters"`
		} `json:"partners"`
	}
	// The RCS side has the message once its SEND arrived; the daemon
	// counts it out once the 200 came back (and its provisional receipt
	// was written): wait for that rather than race it.
	var st statusDoc
	testutil.Eventually(t, func() bool {
		code, body := httpGet(t, base+"/status")
		if code != 200 {
			t.Fatalf("/status %d", code)
		}
		st = statusDoc{}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		return len(st.Partners) == 1 && st.Partners[0].Counters["out_msrp"] >= 1
	}, "/status to count the message out")
	// Every TCP listener shows its connection counts; the SMPP one has
	// the ESME's bind (the MSRP connection above was ours, outgoing).
	conns := map[string]uint64{}
	for _, l := range st.Listeners {
		if l.Connections != nil {
			conns[l.Name] = l.Connections.Accepted
		}
	}
	for _, name := range []string{"smpp", "msrp", "sip-tcp"} {
		if _, ok := conns[name]; !ok {
			t.Fatalf("/status lacks the %s connection counts: %v", name, conns)
		}
	}
	if conns["smpp"] < 1 {
		t.Fatalf("/status smpp connections %v, want the ESME's bind counted", conns)
	}
	if len(st.Partners) != 1 || st.Partners[0].Name != "demo" {
		t.Fatalf("/status partners %+v", st.Partners)
	}
	p := st.Partners[0]
	if p.Sessions != 1 || p.Counters["in_smpp"] != 1 || p.Counters["out_msrp"] != 1 {
		t.Fatalf("/status demo %+v", p)
	}
	if len(p.SMPPBinds) != 1 || p.SMPPBinds[0].Role != "server" || p.SMPPBinds[0].State != "bound" {
		t.Fatalf("/status binds %+v", p.SMPPBinds)
	}
	// Counted with the status counter above, a moment after it.
	var metrics string
	testutil.Eventually(t, func() bool {
		_, metrics = httpGet(t, base+"/metrics")
		return strings.Contains(metrics, `iwf_messages_total{direction="to_session",ingress="smpp",outcome="delivered",partner="demo"} 1`)
	}, "/metrics to show the delivered message")
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within the drain grace")
	}
}

// INVITEs from outside rcs.pager.allowed_sources are refused with 403.
func TestInviteFromUnknownSourceRefused(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	cfg := writeE2EConfig(t, redistest.Start(t), rcs.TCP())
	d := startDaemon(t, cfg)
	// The RCS side below sends from 127.0.0.1, which the config allows;
	// a second one on 127.0.0.3 is outside every trunk.
	other := iwftest.StartRCSOn(t, "127.0.0.3")
	trunk := sipsession.DefaultTrunk()
	trunk.Name = "iwf"
	trunk.NextHop = "sip:" + d.addr.sipTCP + ";transport=tcp"
	// Over UDP, which leaves from the listener's own address (a TCP
	// connection to 127.0.0.1 would leave from 127.0.0.1).
	udp := trunk
	udp.NextHop = "sip:" + d.addr.sipUDP + ";transport=udp"
	_, err := other.Manager.Open(t.Context(), sipsession.OpenRequest{From: "sip:+46700000009@rcs.test", To: "sip:+46700000001@iwf.test;user=phone", Trunk: udp})
	var se *sipsession.Error
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("INVITE from 127.0.0.3: %v, want 403", err)
	}
	// The refusal is counted on /status and /metrics.
	base := d.addr.statusURL()
	var st struct {
		RCSCalls struct {
			Refused map[string]uint64 `json:"refused"`
		} `json:"rcs_calls"`
	}
	if code, body := httpGet(t, base+"/status"); code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.RCSCalls.Refused["forbidden"] != 1 {
		t.Fatalf("/status %d: rcs_calls %+v\n%s", code, st.RCSCalls, body)
	}
	if _, metrics := httpGet(t, base+"/metrics"); !strings.Contains(metrics, `iwf_rcs_invites_refused_total{reason="forbidden"} 1`) {
		t.Fatalf("/metrics lacks the refused INVITE:\n%s", metrics)
	}
	call, err := rcs.Manager.Open(t.Context(), sipsession.OpenRequest{From: "sip:+46700000009@rcs.test", To: "sip:+46700000001@iwf.test;user=phone", Trunk: trunk})
	if err != nil {
		t.Fatalf("INVITE from the RCS network: %v", err)
	}
	_ = call.Close(t.Context())
}

// /readyz means writable: a Redis at maxmemory (noeviction) answers
// pings but cannot hold a message, so the node says it is not ready, and
// a submit meanwhile is refused with a temporary status.
func TestDaemonUnreadyWhenStoreRefusesWrites(t *testing.T) {
	rcs := iwftest.StartRCS(t, 0)
	redisAddr := redistest.Start(t)
	cfg := writeE2EConfig(t, redisAddr, rcs.TCP())
	d := startDaemon(t, cfg)
	base := d.addr.statusURL()
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	raw := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = raw.Close() })
	ctx := testutil.Context(t)
	if err := raw.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz at maxmemory %d %s, want 503", code, body)
	}
	esme := iwftest.BindESME(t, d.addr.smpp, "demo", "demo")
	esme.Submit(t, "46700000001", "46700000003", "refused for now")
	if r := esme.NextResp(t); r.Header.CommandStatus != data.ESME_RX_T_APPN {
		t.Fatalf("submit_sm_resp status %v, want ESME_RX_T_APPN", r.Header.CommandStatus)
	}
	if err := raw.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after %d %s", code, body)
	}
}
