package sipsession

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"iwf/internal/testutil"
)

// rawPeer is a SIP UAC over a plain UDP socket: requests written from RFC
// 3261 section 8.1.1 by hand, answers read with textproto, so nothing of
// sipgo sits on the peer's side.
type rawPeer struct {
	conn net.PacketConn
	to   net.Addr
}

// newRawPeer binds a UDP socket on ip (a loopback address) toward w's
// UDP listener.
func newRawPeer(t *testing.T, w *iwf, ip string) *rawPeer {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &rawPeer{conn: pc, to: w.st.Addr("udp")}
}

var rawSeq atomic.Uint64

// invite sends an INVITE with body of contentType (none when empty) and
// returns its Call-ID.
func (p *rawPeer) invite(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	n := rawSeq.Add(1)
	callID := fmt.Sprintf("raw-%d@%s", n, p.conn.LocalAddr())
	var b bytes.Buffer
	fmt.Fprintf(&b, "INVITE sip:+15550200@%s SIP/2.0\r\n", p.to)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-raw-%d;rport\r\n", p.conn.LocalAddr(), n)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:+15550100@rcs.example>;tag=raw%d\r\n", n)
	b.WriteString("To: <sip:+15550200@iwf.example>\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	b.WriteString("CSeq: 1 INVITE\r\n")
	fmt.Fprintf(&b, "Contact: <sip:+15550100@%s>\r\n", p.conn.LocalAddr())
	if contentType != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	if _, err := p.conn.WriteTo(b.Bytes(), p.to); err != nil {
		t.Fatal(err)
	}
	return callID
}

// answer is a final response as read off the wire.
type answer struct {
	status int
	reason string
	header textproto.MIMEHeader
}

// final reads until the final answer to callID: provisional answers and
// those of other calls are skipped.
func (p *rawPeer) final(t *testing.T, callID string) answer {
	t.Helper()
	// The deadline only turns an answer that never comes into a failure.
	_ = p.conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	buf := make([]byte, 65535)
	for {
		n, _, err := p.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final answer to %s: %v", callID, err)
		}
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(buf[:n])))
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		proto, rest, _ := strings.Cut(line, " ")
		code, reason, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if proto != "SIP/2.0" || err != nil {
			t.Fatalf("not a response: %q", line)
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("Call-ID") == callID && status >= 200 {
			return answer{status: status, reason: reason, header: h}
		}
	}
}

// TestSourceCheckComesFirst: an INVITE from a source Allow refuses gets
// 403 whatever its body, before the body is read (a broken SDP is not
// 488, a missing one not 400) and before an MSRP session exists.
func TestSourceCheckComesFirst(t *testing.T) {
	broken := []byte("v=0\r\nbogus\r\n")
	tests := []struct {
		name, source, contentType string
		body                      func(t *testing.T) []byte
		status                    int
	}{
		{"broken sdp", "127.0.0.1", "application/sdp", func(*testing.T) []byte { return broken }, 403},
		{"not sdp", "127.0.0.1", "text/plain", func(*testing.T) []byte { return []byte("hi") }, 403},
		{"no body", "127.0.0.1", "", func(*testing.T) []byte { return nil }, 403},
		{"good offer", "127.0.0.1", "application/sdp", func(t *testing.T) []byte { return buildOffer(t, offerMedia("peer")) }, 403},
		{"broken sdp from the allowed source", "127.0.0.2", "application/sdp", func(*testing.T) []byte { return broken }, 488},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var offered atomic.Int64
			w := newIWF(t, func(c *Config) {
				c.Allow = func(req *sip.Request) bool { return strings.HasPrefix(req.Source(), "127.0.0.2:") }
				c.OnIncoming = func(*Call) error { offered.Add(1); return nil }
			})
			p := newRawPeer(t, w, tc.source)
			a := p.final(t, p.invite(t, tc.contentType, tc.body(t)))
			if a.status != tc.status {
				t.Fatalf("answered %d %s, want %d", a.status, a.reason, tc.status)
			}
			if tc.status != 403 {
				return
			}
			if w := a.header.Get("Warning"); w != "" {
				t.Errorf("403 with Warning %q: a refused source learns nothing of its request", w)
			}
			if n := w.ep.Stats().SessionsOpened; n != 0 || offered.Load() != 0 {
				t.Fatalf("%d msrp sessions opened, %d calls offered for a refused source", n, offered.Load())
			}
			if st := w.m.Stats(); st.Forbidden != 1 || st.Incoming != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestIncomingLimits: past the cap of its source an INVITE gets 486, past
// the cap in all 503 with Retry-After; a call that ended frees its place.
func TestIncomingLimits(t *testing.T) {
	entered := make(chan *Call, 4)
	release := make(chan struct{})
	w := newIWF(t, func(c *Config) {
		c.Limits = Limits{MaxIncoming: 2, MaxIncomingPerSource: 1}
		c.OnIncoming = func(call *Call) error {
			entered <- call
			<-release
			return Reject(480, "Temporarily Unavailable")
		}
	})
	// Registered after newIWF's, so it runs first: a failing test must
	// not leave handlers that Close waits for.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	offer := buildOffer(t, offerMedia("peer"))
	a, b, c := newRawPeer(t, w, "127.0.0.1"), newRawPeer(t, w, "127.0.0.2"), newRawPeer(t, w, "127.0.0.3")

	a1 := a.invite(t, "application/sdp", offer)
	recv(t, entered, "the first call from a")
	if got := a.final(t, a.invite(t, "application/sdp", offer)); got.status != 486 {
		t.Fatalf("second call from a answered %d %s, want 486", got.status, got.reason)
	}
	b1 := b.invite(t, "application/sdp", offer)
	recv(t, entered, "the call from b")
	got := c.final(t, c.invite(t, "application/sdp", offer))
	if got.status != 503 || got.header.Get("Retry-After") == "" {
		t.Fatalf("third call answered %d %s (Retry-After %q), want 503 with Retry-After", got.status, got.reason, got.header.Get("Retry-After"))
	}
	if st := w.m.Stats(); st.Incoming != 2 || st.Busy != 1 || st.Overloaded != 1 {
		t.Fatalf("stats %+v", st)
	}

	free()
	for _, r := range []struct {
		p      *rawPeer
		callID string
	}{{a, a1}, {b, b1}} {
		if got := r.p.final(t, r.callID); got.status != 480 {
			t.Fatalf("held call answered %d", got.status)
		}
	}
	if st := w.m.Stats(); st.Incoming != 0 {
		t.Fatalf("places not given back: %+v", st)
	}
	if got := c.final(t, c.invite(t, "application/sdp", offer)); got.status != 480 {
		t.Fatalf("a call once there is room answered %d, want the handler's 480", got.status)
	}
}

// TestWarningCarriesNoInternalText: a Warning tells the peer what in its
// offer is wrong in our words, never the Go error underneath.
func TestWarningCarriesNoInternalText(t *testing.T) {
	badPath := bytes.Replace(buildOffer(t, offerMedia("peer")), []byte("a=path:msrp://"), []byte("a=path:msrp:/%zz"), 1)
	if !bytes.Contains(badPath, []byte("%zz")) {
		t.Fatal("the offer has no a=path to spoil")
	}
	tests := []struct {
		name string
		body []byte
		want string // the warn-code and warn-text after the agent
	}{
		{"malformed sdp", []byte("v=0\r\nbogus\r\n"), `307 "msrpsdp: malformed session description"`},
		{"unreadable path", badPath, `307 "msrpsdp: a=path: invalid uri"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newIWF(t, nil)
			p := newRawPeer(t, w, "127.0.0.1")
			a := p.final(t, p.invite(t, "application/sdp", tc.body))
			code, rest, _ := strings.Cut(a.header.Get("Warning"), " ")
			_, text, _ := strings.Cut(rest, " ")
			if a.status != 488 || code+" "+text != tc.want {
				t.Fatalf("answered %d with Warning %q, want 488 with %s", a.status, a.header.Get("Warning"), tc.want)
			}
		})
	}
}

// TestLimitsValidate names the faulty key.
func TestLimitsValidate(t *testing.T) {
	err := Limits{MaxIncoming: -1, MaxIncomingPerSource: -1}.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "max_incoming_sessions:") || !strings.Contains(err.Error(), "max_incoming_sessions_per_source:") {
		t.Fatalf("Validate = %v", err)
	}
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Limits: Limits{MaxIncoming: -1}}); err == nil || !strings.Contains(err.Error(), "max_incoming_sessions: ") {
		t.Fatalf("New: %v, want the negative limit named", err)
	}
}
