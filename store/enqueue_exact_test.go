package store

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/store/redistest"
)

// breakProxy stands between a Store and a real redis-server and, while
// armed, renames the command that follows an EVAL or EVALSHA in the
// client's stream (the trailing ZADD of Enqueue's pipeline) to one Redis
// does not know, so that exactly that command fails with an error reply
// while the ones before it ran. Commands are parsed from the RESP
// request stream (arrays of bulk strings), whatever the TCP segmentation.
type breakProxy struct {
	ln      net.Listener
	backend string
	armed   atomic.Bool
	wg      sync.WaitGroup
}

func newBreakProxy(t *testing.T, backend string) *breakProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &breakProxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *breakProxy) addr() string { return p.ln.Addr().String() }

func (p *breakProxy) accept() {
	defer p.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		conns = append(conns, c, b)
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, b); c.Close() }()
		go func() { defer p.wg.Done(); p.requests(c, b); b.Close() }()
	}
}

// requests forwards the client's commands one by one, renaming the
// command after an EVAL/EVALSHA while armed.
func (p *breakProxy) requests(from io.Reader, to io.Writer) {
	rd := bufio.NewReader(from)
	afterEval := false
	for {
		cmd, name, at, err := readCommand(rd)
		if err != nil {
			return
		}
		if afterEval && p.armed.Load() {
			// Same length, so the RESP framing stays valid.
			copy(cmd[at:], strings.Repeat("X", len(name)))
		}
		afterEval = name == "EVAL" || name == "EVALSHA"
		if _, err := to.Write(cmd); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings and returns its bytes,
// its first element in upper case and where that element starts.
func readCommand(rd *bufio.Reader) (cmd []byte, name string, at int, err error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, "", 0, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, "", 0, errors.New("not an array")
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, "", 0, err
	}
	out := []byte(line)
	for i := range n {
		hdr, err := rd.ReadString('\n')
		if err != nil {
			return nil, "", 0, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(hdr[1:]))
		if err != nil {
			return nil, "", 0, err
		}
		data := make([]byte, size+2)
		if _, err := io.ReadFull(rd, data); err != nil {
			return nil, "", 0, err
		}
		out = append(out, hdr...)
		if i == 0 {
			name, at = strings.ToUpper(string(data[:size])), len(out)
		}
		out = append(out, data...)
	}
	return out, name, at, nil
}

// TestEnqueueOutcomeIsTheScripts: when the script queued the entry and
// only the trailing pending-index ZADD failed, Enqueue reports success
// (the leading ZADD indexed the conversation): a "try later" here would
// make the peer send a stored message again.
func TestEnqueueOutcomeIsTheScripts(t *testing.T) {
	px := newBreakProxy(t, redistest.Start(t))
	s := open(t, Config{Addr: px.addr(), MaxRetries: -1})
	ctx := testutil.Context(t)
	px.armed.Store(true)
	dup, err := s.Enqueue(ctx, conv, "", []byte("hello"), time.Hour, 100)
	px.armed.Store(false)
	if err != nil || dup {
		t.Fatalf("Enqueue = dup %v, %v; want stored", dup, err)
	}
	readWant(t, s, conv, 10, "")
	pending, err := s.client.ZScore(ctx, s.keys.pending(conv), conv).Result()
	if err != nil || pending == 0 {
		t.Fatalf("pending index: %v, %v", pending, err)
	}
}
