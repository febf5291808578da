package smpp

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
)

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

// Frames handed to the writer while its write is blocked in the socket
// go out together, in order, in the write after it.
func TestWriterCoalescesFramesQueuedDuringAWrite(t *testing.T) {
	const n = 16
	nc := testutil.NewWriteRecorder(t)
	nc.Gate = make(chan struct{})
	s := writeSession(t, nc, nil)
	frames := respFrames(n + 1)
	if err := s.write(frames[0]); err != nil {
		t.Fatal(err)
	}
	<-nc.Entered // the first write is in the socket, held there
	for _, f := range frames[1:] {
		if err := s.write(f); err != nil {
			t.Fatal(err)
		}
	}
	close(nc.Gate)
	s.flush() // returns once everything queued before it is written
	testutil.CheckWrites(t, nc.Writes(), frames, 2)
}

// The writer yields before it takes the queue, so that frames from
// goroutines ready to run (handlers one store commit woke together) join
// the frame that woke it in one write instead of a write each.
func TestWriterYieldsBeforeTakingTheQueue(t *testing.T) {
	const n = 16
	nc := testutil.NewWriteRecorder(t)
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
	case <-nc.Entered:
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
	testutil.CheckWrites(t, nc.Writes(), frames, 1)
}
