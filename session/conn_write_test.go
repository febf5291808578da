package session

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"iwf/internal/testutil"
)

// startWriter runs a connection's writer alone on nc (no reader, no
// reaper), closed at cleanup; yield, when set, replaces its yield.
func startWriter(t *testing.T, nc net.Conn, yield func()) *conn {
	t.Helper()
	ep, err := NewEndpoint(Config{Host: "127.0.0.1", Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(ep, nc, "", "")
	if yield != nil {
		c.yield = yield
	}
	done := make(chan error, 1)
	go func() { done <- c.writeLoop() }()
	t.Cleanup(func() {
		c.close(errors.New("test over"))
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return c
}

// sendFrames makes n distinct bodiless SENDs (RFC 4975 section 7.1.2).
func sendFrames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "MSRP t%d SEND\r\nTo-Path: msrp://127.0.0.1:2855/a;tcp\r\n"+
			"From-Path: msrp://127.0.0.1:2856/b;tcp\r\nMessage-ID: m%d\r\nByte-Range: 1-0/0\r\n-------t%d$\r\n", i, i, i)
	}
	return out
}

// awaitBytes waits until the writer wrote the frames' length in all.
func awaitBytes(t *testing.T, nc *testutil.WriteRecorder, frames [][]byte) {
	t.Helper()
	want := len(bytes.Join(frames, nil))
	testutil.Eventually(t, func() bool { return nc.BytesWritten() >= want }, "written %d of %d bytes", nc.BytesWritten(), want)
}

// Frames handed to the writer while its write is blocked in the socket
// go out together, in order, in the write after it.
func TestWriterCoalescesFramesQueuedDuringAWrite(t *testing.T) {
	const n = 16
	nc := testutil.NewWriteRecorder(t)
	nc.Gate = make(chan struct{})
	c := startWriter(t, nc, nil)
	frames := sendFrames(n + 1)
	if err := c.sendControl(frames[0]); err != nil {
		t.Fatal(err)
	}
	<-nc.Entered // the first write is in the socket, held there
	for _, f := range frames[1:] {
		if err := c.sendControl(f); err != nil {
			t.Fatal(err)
		}
	}
	close(nc.Gate)
	awaitBytes(t, nc, frames)
	testutil.CheckWrites(t, nc.Writes(), frames, 2)
}

// The writer yields before it flushes, so that the SENDs a sender queues
// back to back, chunks of messages Queue sends whole, join the first one
// in one write instead of racing it to the socket.
func TestWriterYieldsBeforeFlushing(t *testing.T) {
	const n = 16
	nc := testutil.NewWriteRecorder(t)
	yielded := make(chan struct{})
	resume := make(chan struct{})
	var stepped atomic.Bool
	c := startWriter(t, nc, func() {
		if stepped.CompareAndSwap(false, true) {
			yielded <- struct{}{}
			<-resume
		}
	})
	frames := sendFrames(n)
	chunk := func(b []byte) *outChunk { return &outChunk{buf: b, written: make(chan error, 1)} }
	first := chunk(frames[0])
	if err := c.enqueueChunk(first, "", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-yielded:
	case <-nc.Entered:
		t.Fatal("the first SEND was written before the writer yielded")
	}
	// What runs during the yield: the sender queues the rest of its batch.
	chunks := []*outChunk{first}
	for _, f := range frames[1:] {
		ch := chunk(f)
		if err := c.enqueueChunk(ch, "", nil); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, ch)
	}
	close(resume)
	for i, ch := range chunks {
		if err := <-ch.written; err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	awaitBytes(t, nc, frames)
	testutil.CheckWrites(t, nc.Writes(), frames, 1)
}
