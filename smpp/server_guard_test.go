package smpp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
)

// TestServerAllowedSources: a partner with allowed_sources binds only
// from them; from elsewhere it is refused with ESME_RBINDFAIL, before the
// password is looked at, and counted. gosmpp is the partner.
func TestServerAllowedSources(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name     string
		sources  []string
		password string
		want     uint32
	}{
		{"no list allows any source", nil, "pw", StatusOK},
		{"loopback prefix", []string{"192.0.2.0/24", "127.0.0.0/8"}, "pw", StatusOK},
		{"single address", []string{"127.0.0.1"}, "pw", StatusOK},
		{"IPv4-mapped prefix", []string{"::ffff:127.0.0.0/104"}, "pw", StatusOK},
		{"elsewhere", []string{"192.0.2.0/24", "2001:db8::/32"}, "pw", StatusBindFail},
		{"elsewhere with a wrong password", []string{"192.0.2.7"}, "wrong", StatusBindFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := acme()
			p.AllowedSources = tc.sources
			srv := startServer(t, serverConfig(p), nil)
			_, err := dialPeer(t, srv.Addr().String(), "acme", tc.password, trx, nil)
			st := srv.Stats()
			if tc.want == StatusOK {
				if err != nil {
					t.Fatal(err)
				}
				if st.BindsRefusedSource != 0 || st.BindFailures != 0 {
					t.Errorf("stats %+v", st)
				}
				return
			}
			if got := bindStatus(err); got != tc.want {
				t.Fatalf("bind: %v, want %s", err, StatusName(tc.want))
			}
			if st.BindsRefusedSource != 1 || st.BindFailures != 1 {
				t.Errorf("stats %+v, want the refusal counted", st)
			}
		})
	}
}

// rawBind binds on a new connection and returns the bind_resp status;
// the server closes the connection after a refusal.
func rawBind(t *testing.T, addr, systemID, password string) uint32 {
	t.Helper()
	c := dialRaw(t, addr)
	req := pdu.NewBindRequest(pdu.Transceiver)
	req.SystemID, req.Password = systemID, password
	c.sendPDU(req, 1)
	h, _, err := c.next()
	if err != nil || h.Command != CmdBindTransceiverResp || h.Seq != 1 {
		t.Fatalf("bind_resp: %+v, %v", h, err)
	}
	_ = c.nc.Close()
	return h.Status
}

// TestServerBindBackoff: after each failed bind from an address, the
// next bind from there is answered only after a delay that doubles up
// to bind_backoff_max; a successful bind clears it.
func TestServerBindBackoff(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := serverConfig(acme())
	cfg.BindBackoffMin, cfg.BindBackoffMax = time.Second, 4*time.Second
	srv := startServer(t, cfg, nil)
	clk := srv.guard.clk.(*fakeClock)
	addr := srv.Addr().String()
	steps := []struct {
		systemID, password string
		want               uint32
		waits              string // the waits so far
	}{
		{"acme", "wrong", StatusInvPaswd, "[]"},
		{"nobody", "pw", StatusInvPaswd, "[1s]"},
		{"acme", "wrong", StatusInvPaswd, "[1s 2s]"},
		{"acme", "wrong", StatusInvPaswd, "[1s 2s 4s]"},
		{"acme", "pw", StatusOK, "[1s 2s 4s 4s]"},
		{"acme", "wrong", StatusInvPaswd, "[1s 2s 4s 4s]"},
		{"acme", "pw", StatusOK, "[1s 2s 4s 4s 1s]"},
	}
	for i, s := range steps {
		if got := rawBind(t, addr, s.systemID, s.password); got != s.want {
			t.Fatalf("bind %d: %s, want %s", i, StatusName(got), StatusName(s.want))
		}
		if got := fmt.Sprint(clk.napList()); got != s.waits {
			t.Fatalf("after bind %d waited %s, want %s", i, got, s.waits)
		}
	}
	if st := srv.Stats(); st.BindFailures != 5 || st.BindsDelayed != 5 {
		t.Errorf("stats %+v, want 5 failures and 5 delayed binds", st)
	}
}

// TestServerBindBackoffParallel: binds from one address are checked one
// at a time, so a guesser gains nothing from parallel connections: each
// waits for the back-off after the failure before it.
func TestServerBindBackoffParallel(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := serverConfig(acme())
	cfg.BindBackoffMin, cfg.BindBackoffMax = time.Second, time.Hour
	srv := startServer(t, cfg, nil)
	clk := srv.guard.clk.(*fakeClock)
	const n = 6
	var wg sync.WaitGroup
	statuses := make(chan uint32, n)
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = dialRaw(t, srv.Addr().String())
	}
	for _, c := range conns {
		wg.Go(func() {
			req := pdu.NewBindRequest(pdu.Transceiver)
			req.SystemID, req.Password = "acme", "guess"
			_, _ = c.nc.Write(marshal(req, 1))
			h, _, err := c.next()
			if err != nil {
				statuses <- 0xFFFFFFFF
				return
			}
			statuses <- h.Status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != StatusInvPaswd {
			t.Errorf("status %s", StatusName(s))
		}
	}
	if got := fmt.Sprint(clk.napList()); got != "[1s 2s 4s 8s 16s]" {
		t.Errorf("waited %s, want one doubling wait per failure before it", got)
	}
}

func TestBindGuardForgets(t *testing.T) {
	clk := newFakeClock()
	g := newBindGuard(clk, time.Second, time.Minute)
	ctx := context.Background()
	src := sourceOf(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)})
	done, _, err := g.enter(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	done(true)
	if len(g.srcs) != 1 {
		t.Fatalf("%d sources remembered after a failure", len(g.srcs))
	}
	done, _, _ = g.enter(ctx, src)
	done(false)
	if len(g.srcs) != 0 {
		t.Errorf("%d sources remembered after a success", len(g.srcs))
	}
	// Failures from many addresses are forgotten once their back-off is
	// long over, when the table has grown.
	for i := range minPrune {
		done, _, _ := g.enter(ctx, netipFrom(i))
		done(true)
	}
	_ = clk.Sleep(ctx, 3*time.Minute)
	done, _, _ = g.enter(ctx, src)
	done(true)
	if len(g.srcs) != 1 {
		t.Errorf("%d sources remembered, want the stale ones pruned", len(g.srcs))
	}
}

func netipFrom(i int) netip.Addr {
	return sourceOf(&net.TCPAddr{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))})
}

func TestPeerString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"acme", `"acme"`},
		{"", `""`},
		{"a\nlevel=ERROR msg=forged", `"a\nlevel=ERROR msg=forged"`},
		{"\x00\xff\x1b[31m", `"\x00\xff\x1b[31m"`},
		{strings.Repeat("x", 41), `"` + strings.Repeat("x", 40) + `"...41 bytes`},
	}
	for _, tc := range tests {
		if got := peerString(tc.in); got != tc.want {
			t.Errorf("peerString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerLogsPeerStringsCut: a system_id from the wire reaches the
// log quoted and cut, however long it is.
func TestServerLogsPeerStringsCut(t *testing.T) {
	testutil.CheckLeaks(t)
	var logs syncBuffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ln, serverConfig(acme()), SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) {
		return "", nil
	}), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.guard.clk = newFakeClock()
	runUntilEnd(t, srv)
	long := "evil" + strings.Repeat("x", 4000)
	if got := rawBind(t, srv.Addr().String(), long, "pw"); got != StatusInvPaswd {
		t.Fatalf("bind: %s", StatusName(got))
	}
	out := logs.String() // the refusal is logged before it is answered
	if !strings.Contains(out, "bind refused") {
		t.Fatalf("no refusal logged:\n%s", out)
	}
	if strings.Contains(out, strings.Repeat("x", 100)) {
		t.Errorf("the whole system_id reached the log:\n%.300s", out)
	}
	if !strings.Contains(out, `\"evilxxx`) || !strings.Contains(out, "4004 bytes") {
		t.Errorf("system_id not quoted and cut:\n%s", out)
	}
}
