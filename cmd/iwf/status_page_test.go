package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/linxGnu/gosmpp/data"

	"iwf/internal/iwftest"
	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// screenshotEnv, when set, names a file the browser test copies its
// screenshot to (how cmd/iwf/testdata/status-page.png is made).
const screenshotEnv = "IWF_STATUS_SCREENSHOT"

// loadedDaemon is a daemon with traffic through it: an ESME bound to
// the demo partner, an RCS side, and messages to several recipients,
// each of which opened an MSRP session.
type loadedDaemon struct {
	cfg  e2eConfig
	base string
	esme *iwftest.ESME
	rcs  *iwftest.RCS
	sent int
}

// startLoaded starts the daemon and sends perRecipient messages to each of
// recipients numbers, waiting until the RCS side received each.
func startLoaded(t *testing.T, recipients, perRecipient int) *loadedDaemon {
	t.Helper()
	rcs := iwftest.StartRCS(t, 0)
	cfg := writeE2EConfig(t, redistest.Start(t), rcs.TCP())
	d := startDaemon(t, cfg)
	l := &loadedDaemon{
		cfg: cfg, base: d.addr.statusURL(), rcs: rcs,
		esme: iwftest.BindESME(t, d.addr.smpp, "demo", "demo"),
	}
	for i := range perRecipient {
		for r := range recipients {
			l.send(t, fmt.Sprintf("467000001%02d", r), fmt.Sprintf("load %d to %d", i, r))
		}
	}
	return l
}

// send submits one message and waits until the RCS side has it.
func (l *loadedDaemon) send(t *testing.T, to, text string) {
	t.Helper()
	l.esme.Submit(t, "46700000001", to, text)
	if r := l.esme.NextResp(t); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp %v", r.CommandStatus)
	}
	if m := l.rcs.Next(t); m.Text != text {
		t.Fatalf("RCS side got %q, want %q", m.Text, text)
	}
	l.sent++
}

// browser starts headless Chromium and returns a chromedp context for
// one tab. Chromium is a test dependency (scripts/deps.sh installs it,
// and make test runs that first): without it the test fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no chromium on PATH: run scripts/deps.sh (make test does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1500, 1300),
		// Tests run as root in CI containers, where Chromium's sandbox
		// cannot start; the page is our own.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(testutil.Context(t), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// The status page in a real browser, after real traffic: the demo
// partner's rate is not zero, its sessions and its bind are listed, and
// the page updates itself in place (a counter changes, the page is not
// loaded again). It leaves a screenshot in the test's temp dir.
func TestStatusPageInBrowser(t *testing.T) {
	l := startLoaded(t, 4, 3)
	ctx := browser(t)
	// refresh=1: the page fetches /status every second rather than 5.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(l.base+"/status?format=html&refresh=1"),
		chromedp.WaitVisible(chromedp.CSS(`#partners`)),
	); err != nil {
		t.Fatal(err)
	}

	type pageView struct {
		Partner  string  `json:"partner"`
		Rate5m   float64 `json:"rate5m"`
		Sessions int     `json:"sessions"`
		Session  string  `json:"session"`
		Binds    int     `json:"binds"`
		Bind     string  `json:"bind"`
		Counter  string  `json:"counter"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[pageView](`(() => {
		const row = document.querySelector("#partners tbody tr");
		const sessions = document.querySelectorAll("#sessions-table tbody tr.session");
		const binds = document.querySelectorAll("table.binds tbody tr.bind");
		return {
			partner: row.cells[0].textContent,
			rate5m: parseFloat(row.cells[3].textContent),
			sessions: sessions.length,
			session: sessions.length ? sessions[0].textContent : "",
			binds: binds.length,
			bind: binds.length ? binds[0].cells[3].textContent : "",
			counter: document.querySelector('[data-k="partners.0.counters.in_smpp"]').textContent,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	// Twelve messages in the last five minutes: 0.04/s at least.
	if got.Partner != "demo" || got.Rate5m <= 0 {
		t.Errorf("partners row %q with in rate %v/s over 5 min, want demo above 0", got.Partner, got.Rate5m)
	}
	if got.Sessions < 1 {
		t.Errorf("no session row on the page")
	}
	if got.Binds != 1 || got.Bind != "bound" {
		t.Errorf("%d bind rows, first %q; want the ESME's bind, bound", got.Binds, got.Bind)
	}
	if got.Counter != strconv.Itoa(l.sent) {
		t.Errorf("in_smpp shows %q, want %d", got.Counter, l.sent)
	}

	// A mark on the window survives only if the page is not loaded
	// again; the counter must change under it.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.iwfMark = "kept"; true`)); err != nil {
		t.Fatal(err)
	}
	l.send(t, "46700000100", "one more")
	want := strconv.Itoa(l.sent)
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`document.querySelector('[data-k="partners.0.counters.in_smpp"]').textContent === %q`, want),
		chromedp.WithPollingTimeout(iwftest.Wait)),
	); err != nil {
		t.Fatalf("in_smpp never showed %s without a reload: %v", want, err)
	}
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.iwfMark || ""`))
	if err != nil {
		t.Fatal(err)
	}
	refreshes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`parseInt(document.getElementById("refreshes").textContent, 10)`))
	if err != nil {
		t.Fatal(err)
	}
	if mark != "kept" || refreshes < 1 {
		t.Fatalf("mark %q after %d in-place updates: the page was loaded again", mark, refreshes)
	}
	// The rows the script rebuilt are still there.
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#sessions-table tbody tr.session").length`))
	if err != nil {
		t.Fatal(err)
	}
	if rows < 1 {
		t.Fatal("the session rows went away in the update")
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "status-page.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if out := os.Getenv(screenshotEnv); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A store warning drawn by page.js, after an in-place update, reads as
// the server drew it: the master, the problem, its settings in order
// and the advice.
func TestStatusPageStoreWarningInBrowser(t *testing.T) {
	srv := redistest.StartServer(t, redistest.StartOpts{EverySec: true})
	rcs := iwftest.StartRCS(t, 0)
	d := startDaemon(t, writeE2EConfig(t, srv.Addr(), rcs.TCP()))
	base := d.addr.statusURL()
	var st struct {
		Store struct {
			Warnings []struct {
				Problem        string `json:"problem"`
				Recommendation string `json:"recommendation"`
			} `json:"warnings"`
		} `json:"store"`
	}
	if code, body := httpGet(t, base+"/status"); code != 200 || json.Unmarshal([]byte(body), &st) != nil || len(st.Store.Warnings) != 1 {
		t.Fatalf("/status %d, want one store warning\n%s", code, body)
	}
	w := st.Store.Warnings[0]
	want := fmt.Sprintf("%s (single) ok %s: %s (appendfsync everysec, appendonly yes, auto-aof-rewrite-min-size 67108864, auto-aof-rewrite-percentage 100) \u00b7 %s",
		srv.Addr(), srv.Addr(), w.Problem, w.Recommendation)

	ctx := browser(t)
	const text = `document.querySelector('td[data-k="store"]').innerText.replace(/\s+/g, " ").trim()`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/status?format=html&refresh=1"),
		chromedp.WaitVisible(chromedp.CSS(`#partners`)),
		chromedp.Poll[chromedp.Void](`parseInt(document.getElementById("refreshes").textContent, 10) >= 1`,
			chromedp.WithPollingTimeout(iwftest.Wait)),
	); err != nil {
		t.Fatalf("no in-place update: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](text))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("store block after an update:\n got %q\nwant %q", got, want)
	}
}
