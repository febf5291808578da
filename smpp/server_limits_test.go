package smpp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
)

// TestServerConnectionBudget: connections beyond max_connections, or
// beyond max_per_source from one address, are closed as soon as they are
// accepted and counted; once one of the others closes, a new one is
// served.
func TestServerConnectionBudget(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name string
		edit func(*ServerConfig)
	}{
		{"max_connections", func(c *ServerConfig) { c.MaxConnections = 2 }},
		{"max_per_source", func(c *ServerConfig) { c.MaxPerSource = 2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serverConfig(acme())
			tc.edit(&cfg)
			srv := startServer(t, cfg, nil)
			addr := srv.Addr().String()
			first, second := dialRaw(t, addr), dialRaw(t, addr)
			first.bind("acme", "pw", 1)
			second.bind("acme", "pw", 1)
			third := dialRaw(t, addr)
			if _, _, err := third.next(); !isEOF(err) || isTimeout(err) {
				t.Fatalf("connection over the budget: %v, want it closed", err)
			}
			if st := srv.Stats(); st.Refused != 1 || st.Open != 2 || st.Accepted != 2 {
				t.Errorf("stats %+v, want 2 open and 1 refused", st)
			}
			_ = first.nc.Close()
			testutil.Eventually(t, func() bool { return srv.Stats().Open == 1 }, "the closed connection to leave the budget")
			dialRaw(t, addr).bind("acme", "pw", 1)
		})
	}
}

// TestServerClosesSilentConnections: a connection that does not bind
// within bind_timeout is closed whatever it sends meanwhile, a bind that
// sends nothing for idle_timeout is closed, and each is counted.
// Something that is not SMPP at all is answered generic_nack and closed
// at once.
func TestServerClosesSilentConnections(t *testing.T) {
	testutil.CheckLeaks(t)
	bindTimeout := func(s ServerStats) uint64 { return s.ClosedBindTimeout }
	idle := func(s ServerStats) uint64 { return s.ClosedIdle }
	tests := []struct {
		name string
		// talk plays the peer until the server closes: it returns the
		// error that told it so.
		talk     func(c *rawConn) error
		closedBy func(ServerStats) uint64
	}{
		{"bound and silent", func(c *rawConn) error {
			c.bind("acme", "pw", 1)
			_, _, err := c.next()
			return err
		}, idle},
		{"never binds", func(c *rawConn) error {
			_, _, err := c.next()
			return err
		}, bindTimeout},
		{"half a header", func(c *rawConn) error {
			c.send([]byte{0, 0, 0, 16, 0, 0})
			_, _, err := c.next()
			return err
		}, bindTimeout},
		{"enquire_link but no bind", func(c *rawConn) error {
			// SMPP 3.4 4.11 allows enquire_link before the bind; it must
			// not keep an unbound connection open.
			for seq := uint32(1); ; seq++ {
				if _, err := c.nc.Write(marshal(pdu.NewEnquireLink(), seq)); err != nil {
					return err
				}
				if _, _, err := c.next(); err != nil {
					return err
				}
			}
		}, bindTimeout},
		{"unknown command before the bind", func(c *rawConn) error {
			c.send(headerOnly(0x00000777, 0, 7))
			c.expect(CmdGenericNack, StatusInvCmdID, 7)
			_, _, err := c.next()
			return err
		}, bindTimeout},
		{"not SMPP at all", func(c *rawConn) error {
			c.send([]byte("GET / HTTP/1.1\r\nHost: iwf\r\n\r\n"))
			// "GET " read as command_length: far over the limit.
			c.expect(CmdGenericNack, StatusInvCmdLen, parseHeader([]byte("GET / HTTP/1.1\r\n")).Seq)
			_, _, err := c.next()
			return err
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serverConfig(acme())
			cfg.IdleTimeout, cfg.BindTimeout = 50*time.Millisecond, 50*time.Millisecond
			if tc.closedBy == nil {
				// Closed without any timeout's help.
				cfg.IdleTimeout, cfg.BindTimeout = time.Hour, time.Hour
			}
			srv := startServer(t, cfg, nil)
			c := dialRaw(t, srv.Addr().String())
			if err := tc.talk(c); !isEOF(err) || isTimeout(err) {
				t.Fatalf("want the server to close, got %v", err)
			}
			// Counted once the connection's goroutine is done with it.
			closes := func(st ServerStats) uint64 { return st.ClosedBindTimeout + st.ClosedIdle + st.ClosedSlowReader }
			if tc.closedBy == nil {
				testutil.Eventually(t, func() bool { return srv.Stats().Open == 0 }, "the connection to close")
				if st := srv.Stats(); closes(st) != 0 {
					t.Errorf("stats %+v: counted as a timeout", st)
				}
				return
			}
			testutil.Eventually(t, func() bool { return tc.closedBy(srv.Stats()) == 1 }, "the close to be counted")
			if st := srv.Stats(); closes(st) != 1 || st.Open != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestServerCutsOffPeerThatDoesNotRead: a partner that sends requests
// and never reads the answers is cut off once its write queue is full,
// instead of having the server hold an answer (and a goroutine) for
// every request it sends; a receiver that never reads its deliver_sm is
// cut off once the writes stall. Either is counted as a slow reader.
func TestServerCutsOffPeerThatDoesNotRead(t *testing.T) {
	testutil.CheckLeaks(t)
	submit, err := AppendMessage(nil, CmdSubmitSM, 0, testMessage("never read"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		request []byte
	}{
		{"submit_sm", submit},
		{"enquire_link", marshal(pdu.NewEnquireLink(), 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serverConfig(acme())
			// Only the queue can cut the peer off: no write times out.
			cfg.WriteQueue, cfg.ResponseTimeout = 16, time.Hour
			srv := startServer(t, cfg, nil)
			c := dialRawSmall(t, srv.Addr().String())
			c.bind("acme", "pw", 1)
			var batch []byte
			for i := range 64 {
				f := append([]byte(nil), tc.request...)
				setSeq(f, uint32(i+2))
				batch = append(batch, f...)
			}
			// Write until the server cuts the connection; the writes
			// fail then, with the answers never read.
			for written := 0; ; written += len(batch) {
				if written > 64<<20 {
					t.Fatalf("not cut off after %d MiB of requests whose answers were never read", written>>20)
				}
				_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.nc.Write(batch); err != nil {
					if isTimeout(err) {
						t.Fatalf("server stopped reading without cutting the peer off: %v", err)
					}
					break
				}
			}
			testutil.Eventually(t, func() bool { return srv.Stats().ClosedSlowReader == 1 }, "the slow reader to be counted")
			if st := srv.Stats(); st.Open != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	t.Run("deliver_sm", func(t *testing.T) {
		cfg := serverConfig(acme())
		// Also the bound on one write: a write the peer does not take
		// within it cuts the peer off.
		cfg.ResponseTimeout = 50 * time.Millisecond
		srv := startServer(t, cfg, nil)
		c := dialRawSmall(t, srv.Addr().String())
		req := pdu.NewBindRequest(pdu.Receiver)
		req.SystemID, req.Password = "acme", "pw"
		c.sendPDU(req, 1)
		c.expect(CmdBindReceiverResp, StatusOK, 1)
		testutil.Eventually(t, func() bool { return boundCount(srv) == 1 }, "the bind")
		m := testMessage("")
		m.ShortMessage = nil
		m.TLVs = []TLV{{Tag: 0x0424, Value: bytes.Repeat([]byte{'x'}, 60<<10)}} // message_payload
		ctx := testutil.Context(t)
		// Deliver, a window's worth at a time, until the kernel's buffers
		// are full and the bind is gone.
		errc := make(chan error, acme().Window)
		for range acme().Window {
			go func() {
				for {
					_, err := srv.Deliver(ctx, "acme", m)
					switch {
					case errors.Is(err, ErrNoBind):
						errc <- nil // cut off
						return
					case err == nil:
						errc <- errors.New("a deliver_sm the peer never read was answered")
						return
					case ctx.Err() != nil:
						errc <- ctx.Err()
						return
					}
				}
			}()
		}
		for range acme().Window {
			if err := recv(t, errc); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, func() bool { return srv.Stats().ClosedSlowReader == 1 }, "the slow reader to be counted")
		if _, err := io.Copy(io.Discard, c.nc); isTimeout(err) {
			t.Fatalf("connection still open: %v", err)
		}
	})
}

// TestServerUnbindAfterQueuedAnswers: answers queued before a peer's
// unbind reach it before the unbind_resp, and the server half-closes
// after it (SMPP 3.4 4.2).
func TestServerUnbindAfterQueuedAnswers(t *testing.T) {
	testutil.CheckLeaks(t)
	srv := startServer(t, serverConfig(acme()), nil)
	c := dialRaw(t, srv.Addr().String())
	c.bind("acme", "pw", 1)
	var in []byte
	for seq := uint32(2); seq < 6; seq++ {
		in = append(in, marshal(pdu.NewEnquireLink(), seq)...)
	}
	in = append(in, marshal(pdu.NewUnbind(), 6)...)
	c.send(in)
	for seq := uint32(2); seq < 6; seq++ {
		c.expect(CmdEnquireLinkResp, StatusOK, seq)
	}
	c.expect(CmdUnbindResp, StatusOK, 6)
	if _, _, err := c.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after unbind_resp: %v, want the end of the stream", err)
	}
}
