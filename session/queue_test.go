package session_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"iwf/internal/testutil"
	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

// heldSend is a SEND a holdingPeer read, as RFC 4975 section 7.1 frames
// it.
type heldSend struct {
	tid, messageID, fromPath, toPath, byteRange string
	body                                        []byte
	flag                                        byte
}

// holdingPeer is an MSRP endpoint on a raw socket, its frames read and
// written by hand from RFC 4975 section 9: it answers the bodiless SEND
// that binds a session at once, and holds its answers to the SENDs of
// messages until it has received hold of them; then it answers those in
// order (status gives each one's code; 0 closes the connection instead)
// and every later one at once.
type holdingPeer struct {
	uri    msrp.URI
	hold   int
	status func(i int) int
	// sends receives every SEND of a message, in wire order.
	sends chan heldSend
}

func startHoldingPeer(t *testing.T, hold int, status func(i int) int) *holdingPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingPeer{
		uri:    msrp.URI{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, SessionID: "heldpeer", Transport: "tcp"},
		hold:   hold,
		status: status,
		sends:  make(chan heldSend, 64),
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		p.serve(nc)
	}()
	return p
}

func (p *holdingPeer) serve(nc net.Conn) {
	br := bufio.NewReader(nc)
	var held []heldSend
	n := 0
	for {
		f, err := readSend(br)
		if err != nil {
			return
		}
		if f.body == nil && f.byteRange == "1-0/0" {
			// The bodiless SEND that binds the session (section 5.4).
			if !p.answer(nc, f, 200) {
				return
			}
			continue
		}
		p.sends <- f
		if n >= p.hold {
			if !p.answer(nc, f, p.status(n)) {
				return
			}
			n++
			continue
		}
		held = append(held, f)
		if len(held) < p.hold {
			continue
		}
		for _, h := range held {
			if !p.answer(nc, h, p.status(n)) {
				return
			}
			n++
		}
		held = nil
	}
}

// answer writes the response to f (section 7.2: To-Path is the first
// URI of the request's From-Path, From-Path the first of its To-Path);
// status 0 closes the connection instead.
func (p *holdingPeer) answer(nc net.Conn, f heldSend, status int) bool {
	if status == 0 {
		nc.Close()
		return false
	}
	to, _, _ := strings.Cut(f.fromPath, " ")
	from, _, _ := strings.Cut(f.toPath, " ")
	_, err := fmt.Fprintf(nc, "MSRP %s %d Status\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%s$\r\n", f.tid, status, to, from, f.tid)
	return err == nil
}

// readSend reads one request: the start line "MSRP" SP transact-id SP
// method, header lines, then the end-line "-------" transact-id flag, or
// an empty line, the body, CRLF and the end-line.
func readSend(br *bufio.Reader) (heldSend, error) {
	var f heldSend
	start, err := br.ReadString('\n')
	if err != nil {
		return f, err
	}
	fields := strings.Fields(start)
	if len(fields) != 3 || fields[0] != "MSRP" || fields[2] != "SEND" {
		return f, fmt.Errorf("not a SEND: %q", start)
	}
	f.tid = fields[1]
	end := "-------" + f.tid
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return f, err
		}
		line = strings.TrimSuffix(line, "\r\n")
		if strings.HasPrefix(line, end) && len(line) == len(end)+1 {
			f.flag = line[len(end)]
			return f, nil
		}
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ": ")
		switch name {
		case "Message-ID":
			f.messageID = value
		case "From-Path":
			f.fromPath = value
		case "To-Path":
			f.toPath = value
		case "Byte-Range":
			f.byteRange = value
		}
	}
	tail := []byte("\r\n" + end)
	body := []byte{}
	for {
		c, err := br.ReadByte()
		if err != nil {
			return f, err
		}
		body = append(body, c)
		if k := len(body) - len(tail) - 3; k >= 0 && bytes.Equal(body[k:k+len(tail)], tail) &&
			strings.IndexByte("$+#", body[k+len(tail)]) >= 0 && string(body[len(body)-2:]) == "\r\n" {
			f.flag, f.body = body[k+len(tail)], body[:k]
			return f, nil
		}
	}
}

// queueAll queues texts on a session connected to peer, from one
// goroutine, and returns their Pendings.
func queueAll(t *testing.T, peer *holdingPeer, texts ...string) (*session.Endpoint, *session.Session, []*session.Pending) {
	t.Helper()
	ep := msrptest.NewEndpoint(t, session.Config{})
	ctx := testutil.Context(t)
	s, err := ep.NewSession(ctx, session.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, []msrp.URI{peer.uri}, true); err != nil {
		t.Fatal(err)
	}
	var ps []*session.Pending
	for i, text := range texts {
		p, err := s.Queue(ctx, &session.OutgoingMessage{MessageID: fmt.Sprintf("msg%05d", i), Body: []byte(text)})
		if err != nil {
			t.Fatalf("queue %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	return ep, s, ps
}

// nextSend awaits the peer's next SEND of a message.
func (p *holdingPeer) nextSend(t *testing.T) heldSend {
	t.Helper()
	return recv(t, p.sends, "a SEND at the peer")
}

// Issue 13 item 3: messages queued one after the other go on the wire
// together, in call order, without waiting for each other's 200: the
// peer answers none until it has all of them.
func TestQueuePipelinesInCallOrder(t *testing.T) {
	const n = 5
	peer := startHoldingPeer(t, n, func(int) int { return 200 })
	texts := []string{"one", "two", "three", "four", "five"}
	ep, _, ps := queueAll(t, peer, texts...)
	for i, text := range texts {
		f := peer.nextSend(t)
		if f.messageID != fmt.Sprintf("msg%05d", i) || string(f.body) != text || f.flag != '$' {
			t.Fatalf("SEND %d: %s %q %c, want msg%05d %q $", i, f.messageID, f.body, f.flag, i, text)
		}
		if want := fmt.Sprintf("1-%d/%d", len(text), len(text)); f.byteRange != want {
			t.Fatalf("SEND %d: Byte-Range %s, want %s", i, f.byteRange, want)
		}
	}
	ctx := testutil.Context(t)
	for i, p := range ps {
		id, err := p.Wait(ctx)
		if err != nil || id != fmt.Sprintf("msg%05d", i) {
			t.Fatalf("wait %d: %s, %v", i, id, err)
		}
	}
	if st := ep.Stats(); st.MessagesSent != n || st.SendFailures != 0 || st.ChunksSent != n {
		t.Fatalf("stats %+v", st)
	}
}

// A status about one message of those in flight fails that one only;
// its chunk went whole, so no '#' follows it (RFC 4975 section 7.1.1).
func TestQueuePerMessageStatus(t *testing.T) {
	peer := startHoldingPeer(t, 3, func(i int) int {
		if i == 1 {
			return 413
		}
		return 200
	})
	ep, s, ps := queueAll(t, peer, "one", "two", "three")
	ctx := testutil.Context(t)
	for i, p := range ps {
		_, err := p.Wait(ctx)
		var se *session.StatusError
		switch {
		case i == 1 && (!errors.As(err, &se) || se.Code != 413 || se.Local):
			t.Fatalf("wait %d: %v, want the peer's 413", i, err)
		case i != 1 && err != nil:
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	if _, err := s.Send(ctx, &session.OutgoingMessage{MessageID: "msg00003", Body: []byte("four")}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if f := peer.nextSend(t); f.messageID != fmt.Sprintf("msg%05d", i) || f.flag != '$' {
			t.Fatalf("SEND %d: %s %c, want msg%05d $", i, f.messageID, f.flag, i)
		}
	}
	if st := ep.Stats(); st.MessagesSent != 3 || st.SendFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A connection lost with messages in flight fails every one of them.
func TestQueueConnectionLostInFlight(t *testing.T) {
	peer := startHoldingPeer(t, 3, func(int) int { return 0 })
	ep, _, ps := queueAll(t, peer, "one", "two", "three")
	ctx := testutil.Context(t)
	for i, p := range ps {
		if _, err := p.Wait(ctx); !errors.Is(err, session.ErrConnLost) {
			t.Fatalf("wait %d: %v, want the connection lost", i, err)
		}
	}
	if st := ep.Stats(); st.MessagesSent != 0 || st.SendFailures != 3 {
		t.Fatalf("stats %+v", st)
	}
}
