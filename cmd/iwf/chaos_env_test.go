//go:build chaos

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/iwftest"
	"iwf/session"
	"iwf/session/sipsession"
	"iwf/store/redistest"
)

// chaosOptions are the daemon's settings in every scenario: the
// open-failure policy is the default (retry), with shorter waits than the
// defaults (5 s doubling to 5 min) so that an outage of seconds shows what
// one of minutes would; an unanswered deliver_sm times out after 2 s
// instead of 10. IWF_CHAOS_LOG_LEVEL (debug, say) replaces the daemons'
// log level.
var chaosOptions = e2eOptions{
	Session:    "retry_delay: 500ms, retry_max_delay: 2s",
	SMPPServer: "response_timeout: 2s",
	LogLevel:   os.Getenv("IWF_CHAOS_LOG_LEVEL"),
}

// queueBatch mirrors interwork's: how many queue entries a conversation's
// worker sends before it acknowledges them in the store, hence how many
// it may send again when it stops in between (at-least-once).
const queueBatch = 64

// Bounds of every wait of a scenario: they turn a hang into a failure and
// measure nothing.
const (
	streamLimit = 4 * time.Minute
	settleLimit = 2 * time.Minute
	// settleQuiet is how long a scenario keeps listening once everything
	// acknowledged has arrived: late copies would show in it.
	settleQuiet = 3 * time.Second
)

// chaosEnv is one scenario's world: a real redis-server, the daemon as a
// child process, the RCS core, and the tally of messages.
type chaosEnv struct {
	t       *testing.T
	started time.Time
	redis   *redistest.Server
	rcs     *iwftest.RCS
	cfg     e2eConfig
	d       *daemonProc
	// daemons are every daemon started, for the log check.
	daemons []*daemonProc
	tally   *tally
	ctx     context.Context
	// crashes counts the daemons that exited by themselves.
	crashes int
	// subs are the ESMEs submitting: a restarted daemon listens on new
	// ports, and they follow it there as an ESME fails over to the next
	// SMSC address it knows.
	subs []*submitter
	// addr is the current daemon's addresses, for the goroutines that
	// open sessions toward it.
	addr atomic.Pointer[daemonAddrs]
}

// newChaosEnv starts a scenario's world; env goes into the first
// daemon's environment.
func newChaosEnv(t *testing.T, durable bool, texts []string, env ...string) *chaosEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &chaosEnv{t: t, started: time.Now(), tally: newTally(texts), ctx: ctx}
	e.redis = redistest.StartServer(t, redistest.StartOpts{Durable: durable})
	return e.begin(e.redis.Addr(), env...)
}

// newChaosEnvOn is newChaosEnv on a store the test started itself:
// store is the config's store section in YAML flow style (a cluster's
// "{mode: cluster, addrs: [...]}"); e.redis is nil.
func newChaosEnvOn(t *testing.T, store string, texts []string, env ...string) *chaosEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &chaosEnv{t: t, started: time.Now(), tally: newTally(texts), ctx: ctx}
	return e.begin(store, env...)
}

// begin starts the RCS core and the first daemon on the store redis.
func (e *chaosEnv) begin(redis string, env ...string) *chaosEnv {
	t := e.t
	t.Helper()
	e.rcs = iwftest.StartRCS(t, 0)
	go e.collectRCS()
	e.cfg = writeE2EConfigWith(t, redis, e.rcs.TCP(), chaosOptions)
	e.start(env...)
	t.Cleanup(e.checkLogs)
	return e
}

// start runs a daemon (again) with env added to its environment.
func (e *chaosEnv) start(env ...string) {
	e.t.Helper()
	e.d = startDaemonEnv(e.t, e.cfg, env...)
	e.daemons = append(e.daemons, e.d)
	e.follow(e.d)
}

// follow points the peers that reconnect by themselves at d.
func (e *chaosEnv) follow(d *daemonProc) {
	a := d.addr
	e.addr.Store(&a)
	for _, s := range e.subs {
		s.moveTo(a.smpp)
	}
}

// collectRCS counts what reaches the RCS core, and takes its calls off
// the channel StartRCS hands them on.
func (e *chaosEnv) collectRCS() {
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.rcs.Calls:
		case m := <-e.rcs.Msgs:
			e.tally.deliver(m.Text, m.ID)
		}
	}
}

// checkLogs fails the scenario on a data race the daemons reported (they
// are the race-enabled test binary) and on a panic. When the scenario
// failed, or IWF_CHAOS_KEEP_LOGS is set, the daemons' logs are kept in a
// directory it names.
func (e *chaosEnv) checkLogs() {
	for i, d := range e.daemons {
		log := d.logText()
		for _, bad := range []string{"WARNING: DATA RACE", "panic:"} {
			if strings.Contains(log, bad) {
				e.t.Errorf("daemon %d logged %q:\n%s", i, bad, tail(log, 200))
			}
		}
	}
	if !e.t.Failed() && os.Getenv("IWF_CHAOS_KEEP_LOGS") == "" {
		return
	}
	dir, err := os.MkdirTemp("", "iwf-chaos-")
	if err != nil {
		e.t.Logf("keeping the daemon logs: %v", err)
		return
	}
	for i, d := range e.daemons {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("daemon-%d.log", i)), []byte(d.logText()), 0o600); err != nil {
			e.t.Logf("keeping the daemon logs: %v", err)
		}
	}
	e.t.Logf("daemon logs kept in %s", dir)
}

// logCount counts the lines of every daemon's log holding s.
func (e *chaosEnv) logCount(s string) int {
	n := 0
	for _, d := range e.daemons {
		n += strings.Count(d.logText(), s)
	}
	return n
}

// tail is the last n lines of log.
func tail(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// texts makes n unique texts, GSM-7 and one segment each.
func texts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %04d", prefix, i)
	}
	return out
}

// recipients are n SMS-side numbers, one conversation each.
func recipients(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("467000001%02d", i)
	}
	return out
}

// smsStream starts a partner ESME submitting the tally's texts to convs
// conversations toward the RCS side; the channel closes when it is done
// with every text. It stays bound until the scenario ends.
func (e *chaosEnv) smsStream(convs int) (*submitter, <-chan struct{}) {
	s := newSubmitter(e.d.addr.smpp, e.tally.texts, recipients(convs), e.tally)
	e.subs = append(e.subs, s)
	done := make(chan struct{})
	go s.run(e.ctx, done)
	return s, done
}

// finish waits for the sender to be done with every text, then for the
// traffic to settle. A daemon that exits meanwhile fails the scenario and
// is started again, so that the figures still tell whether what it
// acknowledged was kept.
func (e *chaosEnv) finish(done <-chan struct{}) {
	e.t.Helper()
	limit := time.NewTimer(streamLimit)
	defer limit.Stop()
	for sending := true; sending; {
		select {
		case <-done:
			sending = false
		case <-e.d.done:
			e.t.Errorf("the daemon exited: %v\n%s", e.d.exitErr, tail(e.d.logText(), 30))
			e.crashes++
			e.start()
		case <-limit.C:
			e.t.Fatalf("the sender was not done after %v: %s", streamLimit, e.tally.figures())
		}
	}
	e.tally.settle(settleQuiet, settleLimit)
}

// crashNote is the table's note on daemons that exited by themselves.
func (e *chaosEnv) crashNote() string {
	if e.crashes == 0 {
		return ""
	}
	return fmt.Sprintf("THE DAEMON EXITED %d time(s) and was restarted", e.crashes)
}

// alive fails the scenario when the current daemon has exited.
func (e *chaosEnv) alive() {
	select {
	case <-e.d.done:
		e.t.Errorf("the daemon exited: %v\n%s", e.d.exitErr, tail(e.d.logText(), 30))
	default:
	}
}

// rcsSender is an RCS client sending the tally's texts into MSRP
// sessions it opens toward SMS users at the IWF, one session per
// conversation, each text once it has the MSRP 200 of the one before;
// a text answered with an error or none is sent again, on a new session
// when the old one ended.
type rcsSender struct {
	rcs *iwftest.RCS
	// trunk is toward the daemon running when it is called.
	trunk    func() sipsession.Trunk
	from     []string
	to       string
	interval time.Duration
	giveUp   time.Duration
	tally    *tally
}

func (e *chaosEnv) rcsStream(convs int) <-chan struct{} {
	trunk := func() sipsession.Trunk {
		tr := sipsession.DefaultTrunk()
		tr.Name = "iwf"
		tr.NextHop = "sip:" + e.addr.Load().sipTCP + ";transport=tcp"
		return tr
	}
	from := make([]string, convs)
	for i := range from {
		from[i] = fmt.Sprintf("sip:+467000002%02d@rcs.test", i)
	}
	r := &rcsSender{
		rcs: e.rcs, trunk: trunk, from: from, to: "sip:+46700000001@iwf.test;user=phone",
		interval: 10 * time.Millisecond, giveUp: 90 * time.Second, tally: e.tally,
	}
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for c := range r.from {
			wg.Go(func() { r.conversation(e.ctx, c) })
		}
		wg.Wait()
		close(done)
	}()
	return done
}

// conversation sends every len(from)-th text from from[c]. Its last
// session stays up (its REPORTs still come) until the RCS core closes at
// the end of the scenario.
func (r *rcsSender) conversation(ctx context.Context, c int) {
	var call *sipsession.Call
	pace := time.NewTicker(r.interval * time.Duration(len(r.from)))
	defer pace.Stop()
	texts := r.tally.texts
	for i := c; i < len(texts); i += len(r.from) {
		text, first := texts[i], time.Now()
		for try := 0; ; try++ {
			select {
			case <-ctx.Done():
				return
			case <-pace.C:
			}
			if time.Since(first) > r.giveUp {
				r.tally.giveUp(text)
				break
			}
			if call != nil && call.Reason() != 0 {
				call = nil
			}
			if call == nil {
				var err error
				if call, err = r.open(ctx, r.from[c]); err != nil {
					continue
				}
			}
			r.tally.attempt(text)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := call.Send(sctx, &session.OutgoingMessage{
				MessageID: fmt.Sprintf("m%d-%d", i, try), ContentType: "text/plain", Body: []byte(text), SuccessReport: true,
			})
			cancel()
			if err == nil {
				r.tally.ack(text)
				break
			}
			var se *session.StatusError
			if errors.As(err, &se) && !se.Local {
				r.tally.refuse()
				if se.Code < 500 {
					r.tally.giveUp(text)
					break
				}
				continue
			}
			r.tally.unclear()
			_ = call.Close(context.WithoutCancel(ctx))
			call = nil
		}
	}
}

// open opens a session and counts the failure REPORTs that come on it.
func (r *rcsSender) open(ctx context.Context, from string) (*sipsession.Call, error) {
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	call, err := r.rcs.Manager.Open(octx, sipsession.OpenRequest{From: from, To: r.to, Trunk: r.trunk()})
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range call.Events() {
			if ev.Kind == sipsession.EventReport && ev.Report.Status != 200 {
				r.tally.failReport(r.textOf(ev.Report.MessageID))
			}
		}
	}()
	return call, nil
}

// textOf is the text of a Message-ID conversation made: m<index>-<try>.
func (r *rcsSender) textOf(id string) string {
	var i, try int
	if _, err := fmt.Sscanf(id, "m%d-%d", &i, &try); err != nil || i < 0 || i >= len(r.tally.texts) {
		return id
	}
	return r.tally.texts[i]
}

// partner is the partner's ESME on the receiving end of RCS to SMS
// traffic: it answers the n-th deliver_sm as answer(n) says and counts
// the ones it took by text.
type partner struct {
	tally  *tally
	answer func(n int) (data.CommandStatusType, bool)

	mu   sync.Mutex
	seen int
}

func (p *partner) bind(t *testing.T, e *chaosEnv) *iwftest.ESME {
	t.Helper()
	return iwftest.BindESMEWith(t, e.d.addr.smpp, "demo", "demo", iwftest.ESMEOptions{Answer: p.onDeliver})
}

func (p *partner) onDeliver(d *pdu.DeliverSM) (data.CommandStatusType, bool) {
	p.mu.Lock()
	n := p.seen
	p.seen++
	p.mu.Unlock()
	status, answer := data.ESME_ROK, true
	if p.answer != nil {
		status, answer = p.answer(n)
	}
	switch {
	case !answer:
		p.tally.unanswer()
	case status != data.ESME_ROK:
		p.tally.decline()
	default:
		text, err := d.Message.GetMessage()
		if err != nil {
			text = "undecodable: " + err.Error()
		}
		p.tally.deliver(text, "")
	}
	return status, answer
}

// rss is the daemon's resident and peak memory in KiB, from
// /proc/<pid>/status.
func (d *daemonProc) rss() (now, peak int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			now = n
		case "VmHWM":
			peak = n
		}
	}
	return now, peak
}
