package testutil

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// WriteRecorder is a net.Conn that records each Write call a writer
// makes, to count how many syscalls a batch of frames would have taken.
// When Gate is set, the first Write waits for it to close; Entered
// receives a token per Write as it starts.
type WriteRecorder struct {
	net.Conn
	Gate    chan struct{}
	Entered chan struct{}

	mu     sync.Mutex
	writes [][]byte
}

// NewWriteRecorder returns a WriteRecorder over one end of a net.Pipe
// (whose other end is closed at cleanup); up to 64 Writes may start
// before anyone reads Entered.
func NewWriteRecorder(t testing.TB) *WriteRecorder {
	a, b := net.Pipe()
	t.Cleanup(func() { _ = b.Close() })
	return &WriteRecorder{Conn: a, Entered: make(chan struct{}, 64)}
}

// Write records p and reports it written.
func (c *WriteRecorder) Write(p []byte) (int, error) {
	c.mu.Lock()
	first := len(c.writes) == 0
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	c.Entered <- struct{}{}
	if first && c.Gate != nil {
		<-c.Gate
	}
	return len(p), nil
}

// SetWriteDeadline accepts any deadline: writes never block but on Gate.
func (c *WriteRecorder) SetWriteDeadline(time.Time) error { return nil }

// Writes returns the Write calls so far, one slice each.
func (c *WriteRecorder) Writes() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

// BytesWritten is the length of every Write so far.
func (c *WriteRecorder) BytesWritten() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.writes {
		n += len(w)
	}
	return n
}

// CheckWrites fails unless the writes carry frames, in order, byte for
// byte, in at most max write calls.
func CheckWrites(t testing.TB, writes, frames [][]byte, max int) {
	t.Helper()
	if len(writes) > max {
		t.Errorf("%d frames went out in %d writes, want at most %d", len(frames), len(writes), max)
	}
	if got, want := bytes.Join(writes, nil), bytes.Join(frames, nil); !bytes.Equal(got, want) {
		t.Errorf("wire bytes\n got %q\nwant %q", got, want)
	}
}
