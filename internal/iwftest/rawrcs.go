package iwftest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
)

// RawRCSOptions say what a RawRCS announces in its SDP answer and how it
// answers SENDs.
type RawRCSOptions struct {
	// AcceptTypes is its a=accept-types; "message/cpim text/plain" when
	// empty.
	AcceptTypes string
	// AcceptWrappedTypes is its a=accept-wrapped-types, none when empty.
	AcceptWrappedTypes string
	// MaxSize is its a=max-size, none when 0.
	MaxSize int64
	// Answer gives the status of the SEND ending a message; nil answers
	// 200, 0 leaves the SEND unanswered (a peer that hung, for the
	// sender's transaction timeout). It runs on the session's reading
	// goroutine.
	Answer func(RawMessage) int
	// Withhold, when set, holds back the answer to each message it
	// returns true for, until one comes it returns false for: the held
	// answers then go, in order, ahead of that one's. A peer answering
	// in bursts. It runs after Answer, on the same goroutine.
	Withhold func(RawMessage) bool
}

// RawMessage is a message a RawRCS received, read off the wire as RFC
// 4975 and RFC 3862 describe it.
type RawMessage struct {
	// Session numbers the peer's sessions from 1, in the order of their
	// INVITEs.
	Session int
	// MessageID and ContentType are the MSRP headers of its SEND.
	MessageID   string
	ContentType string
	Body        []byte
	// Text is the body, or the content inside it when it is message/cpim.
	Text string
	// IMDNMessageID is the CPIM imdn.Message-ID header, if any.
	IMDNMessageID string
	// Status is what the peer answered.
	Status int
}

// RawRCS plays an RCS network with nothing of the IWF's MSRP code: a
// sipgo dialog server answers each INVITE with an SDP written here, and
// the MSRP session behind it is a TCP listener reading frames by hand,
// answering each SEND itself. It stands for the strict or limited
// clients real networks have.
type RawRCS struct {
	Stack *sipstack.Stack
	// Msgs receives every message (bodiless SENDs aside), Byes one value
	// per BYE.
	Msgs chan RawMessage
	Byes chan struct{}
	// Invites receives every INVITE it answered, as it came.
	Invites chan *sip.Request

	opts     RawRCSOptions
	mu       sync.Mutex
	sessions int
	lns      []net.Listener
	wg       sync.WaitGroup
}

// StartRawRCS starts a RawRCS on 127.0.0.1, stopped when the test ends.
func StartRawRCS(t testing.TB, opts RawRCSOptions) *RawRCS {
	t.Helper()
	if opts.AcceptTypes == "" {
		opts.AcceptTypes = "message/cpim text/plain"
	}
	r := &RawRCS{Msgs: make(chan RawMessage, 1024), Byes: make(chan struct{}, 64), Invites: make(chan *sip.Request, 64), opts: opts}
	r.Stack = sipstacktest.Start(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		client, err := st.Client("tcp")
		if err != nil {
			t.Fatal(err)
		}
		dialogs := sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: st.Contact("tcp", "rcs")})
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { r.invite(t, st, dialogs, req, tx) })
		srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
		srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			if err := dialogs.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			}
			r.Byes <- struct{}{}
		})
	})
	t.Cleanup(r.close)
	return r
}

// TCP is its SIP address over TCP, for a trunk's next hop.
func (r *RawRCS) TCP() string { return r.Stack.Addr("tcp").String() }

// Next returns the next message, failing the test after Wait.
func (r *RawRCS) Next(t testing.TB) RawMessage {
	t.Helper()
	return await(t, r.Msgs, "the raw RCS side received nothing")
}

// Sessions is how many INVITEs it answered.
func (r *RawRCS) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions
}

func (r *RawRCS) close() {
	r.mu.Lock()
	for _, ln := range r.lns {
		ln.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// invite answers with a passive MSRP media line (RFC 4975 section 8,
// RFC 6135): the IWF, offering actpass, connects to the path given.
func (r *RawRCS) invite(t testing.TB, st *sipstack.Stack, dialogs *sipgo.DialogServerCache, req *sip.Request, tx sip.ServerTransaction) {
	dlg, err := dialogs.ReadInvite(req, tx)
	if err != nil {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = dlg.Respond(500, "Server Error", nil)
		return
	}
	r.mu.Lock()
	r.sessions++
	n := r.sessions
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	port := ln.Addr().(*net.TCPAddr).Port
	self := fmt.Sprintf("msrp://127.0.0.1:%d/raw%d;tcp", port, n)
	var sdp strings.Builder
	fmt.Fprintf(&sdp, "v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", n)
	fmt.Fprintf(&sdp, "m=message %d TCP/MSRP *\r\n", port)
	fmt.Fprintf(&sdp, "a=accept-types:%s\r\n", r.opts.AcceptTypes)
	if r.opts.AcceptWrappedTypes != "" {
		fmt.Fprintf(&sdp, "a=accept-wrapped-types:%s\r\n", r.opts.AcceptWrappedTypes)
	}
	if r.opts.MaxSize > 0 {
		fmt.Fprintf(&sdp, "a=max-size:%d\r\n", r.opts.MaxSize)
	}
	fmt.Fprintf(&sdp, "a=path:%s\r\na=setup:passive\r\n", self)
	// RFC 3264 section 6.1: a sendonly stream is answered recvonly.
	if bytes.Contains(req.Body(), []byte("\na=sendonly\r")) {
		sdp.WriteString("a=recvonly\r\n")
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r.serve(n, self, nc)
	}()
	r.Invites <- req.Clone()
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, []byte(sdp.String()))
	res.AppendHeader(&sip.ContactHeader{Address: st.Contact(strings.ToLower(req.Transport()), "rcs")})
	if err := dlg.WriteResponse(res); err != nil {
		t.Logf("raw rcs: 200 to INVITE: %v", err)
	}
}

// serve reads the SENDs of one session and answers them.
func (r *RawRCS) serve(session int, self string, nc net.Conn) {
	br := bufio.NewReader(nc)
	parts := map[string]*bytes.Buffer{}
	reports := 0
	var held strings.Builder
	for {
		f, err := readRawFrame(br)
		if err != nil {
			return
		}
		if f.method != "SEND" {
			continue // responses and REPORTs get no answer
		}
		id := f.headers["Message-ID"]
		status := 200
		withhold := false
		if f.hasBody {
			buf := parts[id]
			if buf == nil {
				buf = new(bytes.Buffer)
				parts[id] = buf
			}
			buf.Write(f.body)
			if f.flag == '$' {
				delete(parts, id)
				m := RawMessage{Session: session, MessageID: id, ContentType: f.headers["Content-Type"], Body: buf.Bytes()}
				m.Text = string(m.Body)
				if strings.HasPrefix(strings.ToLower(m.ContentType), "message/cpim") {
					m.IMDNMessageID, m.Text = readCPIM(m.Body)
				}
				if r.opts.Answer != nil {
					status = r.opts.Answer(m)
				}
				m.Status = status
				withhold = r.opts.Withhold != nil && r.opts.Withhold(m)
				r.Msgs <- m
			} else if f.flag == '#' {
				delete(parts, id)
			}
		}
		if status == 0 {
			continue
		}
		// RFC 4975 section 7.2: a response goes back unless
		// Failure-Report is "no", or "partial" and the answer is 200.
		fr := f.headers["Failure-Report"]
		if fr == "no" || fr == "partial" && status == 200 {
			continue
		}
		to, _, _ := strings.Cut(f.headers["From-Path"], " ")
		resp := fmt.Sprintf("MSRP %s %d %s\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%s$\r\n",
			f.tid, status, rawComment(status), to, self, f.tid)
		if f.hasBody && f.flag == '$' && status == 200 && f.headers["Success-Report"] == "yes" {
			// RFC 4975 section 7.1.2: the REPORT names the message by
			// its Message-ID and covers all of it. One chunk per
			// message is all the IWF sends this peer.
			reports++
			tid := fmt.Sprintf("rep%d", reports)
			resp += fmt.Sprintf("MSRP %s REPORT\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: %s\r\nByte-Range: 1-%d/%d\r\nStatus: 000 200 OK\r\n-------%s$\r\n",
				tid, to, self, id, len(f.body), len(f.body), tid)
		}
		if withhold {
			held.WriteString(resp)
			continue
		}
		if held.Len() > 0 {
			resp = held.String() + resp
			held.Reset()
		}
		if _, err := io.WriteString(nc, resp); err != nil {
			return
		}
	}
}

func rawComment(status int) string {
	switch status {
	case 200:
		return "OK"
	case 413:
		return "Message Too Large"
	case 415:
		return "Unsupported Media Type"
	case 481:
		return "Session Does Not Exist"
	case 506:
		return "Session Already Bound"
	}
	return "Status"
}

// rawFrame is an MSRP request or response as RFC 4975 section 9 frames
// it.
type rawFrame struct {
	tid, method string
	headers     map[string]string
	hasBody     bool
	body        []byte
	flag        byte
}

// readRawFrame reads one frame: the start line "MSRP" SP transact-id SP
// method (or status), header lines, then either the end-line
// "-------" transact-id flag, or an empty line, the body and the end-line
// after a CRLF.
func readRawFrame(br *bufio.Reader) (*rawFrame, error) {
	start, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(start)
	if len(fields) < 3 || fields[0] != "MSRP" {
		return nil, fmt.Errorf("raw msrp: start line %q", start)
	}
	f := &rawFrame{tid: fields[1], method: fields[2], headers: map[string]string{}}
	end := "-------" + f.tid
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) == len(end)+1 && strings.HasPrefix(line, end) {
			f.flag = line[len(end)]
			return f, nil
		}
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		f.headers[name] = strings.TrimSpace(value)
	}
	f.hasBody = true
	tail := "\r\n" + end
	var buf []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nil, err
		}
		buf = append(buf, c)
		n := len(buf)
		if n >= len(tail)+3 && buf[n-2] == '\r' && buf[n-1] == '\n' && strings.IndexByte("$+#", buf[n-3]) >= 0 &&
			string(buf[n-3-len(tail):n-3]) == tail {
			f.flag = buf[n-3]
			f.body = buf[:n-3-len(tail)]
			return f, nil
		}
	}
}

// readCPIM splits a message/cpim body (RFC 3862 section 2): the message
// headers, an empty line, the content headers, an empty line, the
// content. It returns the imdn.Message-ID header (RFC 5438 section 6.3)
// and the content.
func readCPIM(b []byte) (imdnID, content string) {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	head, rest, _ := strings.Cut(s, "\n\n")
	for _, line := range strings.Split(head, "\n") {
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), "imdn.Message-ID") {
			imdnID = strings.TrimSpace(value)
		}
	}
	_, content, _ = strings.Cut(rest, "\n\n")
	return imdnID, content
}
