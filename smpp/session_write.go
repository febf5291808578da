package smpp

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// The write side of a session. Every PDU goes through one queue that a
// writer goroutine drains, so that no reader of the peer's requests
// (the read loop, a message handler) ever blocks on the peer's socket: a
// peer that sends requests without reading the answers would otherwise
// pile up a goroutine and a stored message per request behind the
// blocked write. Answers the peer causes (responses, generic_nack) are
// held to a count; beyond it, or when one write takes longer than the
// response timeout, the peer is cut off as a slow reader. Requests we
// send are not counted: the window bounds them.

// errSlowReader ends a session whose peer does not read what it is sent.
var errSlowReader = errors.New("smpp: peer not reading what it is sent")

// maxWriteBuf is the largest write buffer kept between batches; one that
// grew past it for a burst of large deliver_sm is dropped.
const maxWriteBuf = 256 << 10

// outFrame is one PDU waiting to be written.
type outFrame struct {
	b []byte
	// answer marks a frame the peer caused, outside any window.
	answer bool
	// closeWrite half-closes the connection once the frame is written.
	closeWrite bool
	// written, when set, is closed once the frame is on the wire, or
	// dropped because the write side was half-closed before it.
	written chan struct{}
	// queued, when set, is called once the frame is queued, before the
	// writer can take it: what it changes is in force before the peer
	// can read the frame, and a frame queued by whoever sees the change
	// goes out after this one.
	queued func()
}

// outbox is the queue between the session and its writer. The writer
// takes the whole queue at once, so besides the answers queued, as many
// may be in the write under way: twice the limit at most.
type outbox struct {
	mu      sync.Mutex
	frames  []outFrame
	answers int // answers in frames
	// shut is set once the write side is half-closed: later frames are
	// dropped.
	shut bool
	wake chan struct{} // one token: frames are waiting
}

// write queues an answer (a response, generic_nack); a peer that lets
// more than the write queue's worth of them pile up is cut off.
func (s *session) write(frame []byte) error {
	return s.enqueue(outFrame{b: frame, answer: true})
}

// writeWait queues an answer and waits until it is written, the session
// ends or the response timeout passes: for the last answer before the
// session closes the connection itself.
func (s *session) writeWait(frame []byte) error {
	done := make(chan struct{})
	if err := s.enqueue(outFrame{b: frame, answer: true, written: done}); err != nil {
		return err
	}
	t := time.NewTimer(s.opts.respTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-s.dead:
		return ErrClosed
	case <-t.C:
		return errSlowReader
	}
}

// flush waits until what is queued now is written, the session ends or
// the response timeout passes.
func (s *session) flush() {
	done := make(chan struct{})
	if s.enqueue(outFrame{written: done}) != nil {
		return
	}
	t := time.NewTimer(s.opts.respTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-s.dead:
	case <-t.C:
	}
}

// enqueue hands f to the writer. An answer over the queue's limit fails
// the session as a slow reader.
func (s *session) enqueue(f outFrame) error {
	o := &s.out
	o.mu.Lock()
	select {
	case <-s.dead:
		o.mu.Unlock()
		return ErrClosed
	default:
	}
	if o.shut {
		o.mu.Unlock()
		return ErrClosed
	}
	if f.answer && o.answers >= s.opts.writeQueue {
		o.mu.Unlock()
		s.fail(fmt.Errorf("%w: %d answers unwritten", errSlowReader, s.opts.writeQueue))
		return errSlowReader
	}
	o.frames = append(o.frames, f)
	if f.answer {
		o.answers++
	}
	if f.queued != nil {
		f.queued()
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeLoop writes what is queued, in order, a batch per write call,
// until the session ends. Frames queued while a write is under way go
// out together in the next one. A write that does not complete within the
// response timeout means the peer stopped reading.
func (s *session) writeLoop() {
	defer s.aux.Done()
	o := &s.out
	var batch []outFrame
	var buf []byte
	for {
		select {
		case <-s.dead:
			return
		case <-o.wake:
		}
		// Yield before taking the queue: the frame that woke us usually
		// has company on its way. A store commit wakes many handlers at
		// once, and the runtime runs the writer the first of them readied
		// ahead of the rest, so without the yield each answer left in a
		// write of its own. A lone frame loses nothing: with no one else
		// runnable the yield returns at once.
		s.opts.yield()
		o.mu.Lock()
		batch, o.frames = o.frames, batch[:0]
		o.answers = 0
		o.mu.Unlock()
		buf = buf[:0]
		shut := false
		for _, f := range batch {
			buf = append(buf, f.b...)
			if f.closeWrite {
				shut = true // nothing after the unbind_resp goes out
				break
			}
		}
		if len(buf) > 0 {
			_ = s.nc.SetWriteDeadline(time.Now().Add(s.opts.respTimeout))
			if _, err := s.nc.Write(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					err = fmt.Errorf("%w: %w", errSlowReader, err)
				}
				s.fail(err)
				return
			}
		}
		if shut {
			s.halfClose()
		}
		for _, f := range batch {
			if f.written != nil {
				close(f.written)
			}
		}
		clear(batch) // drop the frames for the collector
		if cap(buf) > maxWriteBuf {
			buf = nil
		}
	}
}

// halfClose ends the write side after an unbind_resp (SMPP 3.4 4.2):
// the peer reads the end of the stream and closes its side.
func (s *session) halfClose() {
	o := &s.out
	o.mu.Lock()
	o.shut = true
	for _, f := range o.frames {
		if f.written != nil {
			close(f.written)
		}
	}
	o.frames, o.answers = nil, 0
	o.mu.Unlock()
	if cw, ok := s.opts.under.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
