package smpp

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// recordConn records each Write call the session's writer makes. When
// gate is set, the first Write waits for it to close; entered receives a
// token per Write as it starts.
type recordConn struct {
	net.Conn
	gate    chan struct{}
	entered chan struct{}

	mu     sync.Mutex
	writes [][]byte
}

func newRecordConn(t *testing.T) *recordConn {
	a, b := net.Pipe()
	t.Cleanup(func() { _ = b.Close() })
	return &recordConn{Conn: a, entered: make(chan struct{}, 64)}
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	first := len(c.writes) == 0
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	c.entered <- struct{}{}
	if first && c.gate != nil {
		<-c.gate
	}
	return len(p), nil
}

func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

func (c *recordConn) written() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

// writeSession starts a session's writer on nc, ended at cleanup.
func writeSession(t *testing.T, nc net.Conn, yield func()) *session {
	t.Helper()
	s := newSession(testutil.Context(t), nc, sessionOpts{
		log:         testutil.Logger(t),
		respTimeout: time.Minute,
		writeQueue:  64,
		yield:       yield,
	})
	t.Cleanup(func() {
		s.fail(errors.New("test over"))
		s.aux.Wait()
	})
	return s
}

// respFrames makes n distinct submit_sm_resp frames.
func respFrames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = respFrame(CmdSubmitSMResp, StatusOK, uint32(i+1), "msg-"+string(rune('a'+i)))
	}
	return out
}

// checkWrites fails unless the writes carry frames, in order, byte for
// byte, in at most max write calls.
func checkWrites(t *testing.T, writes, frames [][]byte, max int) {
	t.Helper()
	if len(writes) > max {
		t.Errorf("%d frames went out in %d writes, want at most %d", len(frames), len(writes), max)
	}
	if got, want := bytes.Join(writes, nil), bytes.Join(frames, nil); !bytes.Equal(got, want) {
		t.Errorf("wire bytes\n got %x\nwant %x", got, want)
	}
}

// Frames handed to the writer while its write is blocked in the socket
// go out together, in order, in the write after it.
func TestWriterCoalescesFramesQueuedDuringAWrite(t *testing.T) {
	const n = 16
	nc := newRecordConn(t)
	nc.gate = make(chan struct{})
	s := writeSession(t, nc, nil)
	frames := respFrames(n + 1)
	if err := s.write(frames[0]); err != nil {
		t.Fatal(err)
	}
	<-nc.entered // the first write is in the socket, held there
	for _, f := range frames[1:] {
		if err := s.write(f); err != nil {
			t.Fatal(err)
		}
	}
	close(nc.gate)
	s.flush() // returns once everything queued before it is written
	checkWrites(t, nc.written(), frames, 2)
}

// The writer yields before it takes the queue, so that frames from
// goroutines ready to run (handlers one store commit woke together) join
// the frame that woke it in one write instead of a write each.
func TestWriterYieldsBeforeTakingTheQueue(t *testing.T) {
	const n = 16
	nc := newRecordConn(t)
	yielded := make(chan struct{})
	resume := make(chan struct{})
	var stepped atomic.Bool
	s := writeSession(t, nc, func() {
		if stepped.CompareAndSwap(false, true) {
			yielded <- struct{}{}
			<-resume
		}
	})
	frames := respFrames(n)
	if err := s.write(frames[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-yielded:
	case <-nc.entered:
		t.Fatal("the first frame was written before the writer yielded")
	}
	// What runs during the yield: the other handlers queue their answers.
	for _, f := range frames[1:] {
		if err := s.write(f); err != nil {
			t.Fatal(err)
		}
	}
	close(resume)
	s.flush()
	checkWrites(t, nc.written(), frames, 1)
}
