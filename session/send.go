package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"iwf/session/msrp"
)

// OutgoingMessage is a message to send on a session.
type OutgoingMessage struct {
	// MessageID is generated when empty.
	MessageID   string
	ContentType string
	// Body holds the content; for large content use Reader and Size.
	Body []byte
	// Reader streams the content when Body is nil.
	Reader io.Reader
	// Size of Reader's content, or -1 when unknown (Byte-Range total '*').
	Size int64
	// SuccessReport asks the peer for a REPORT on success.
	SuccessReport bool
	// FailureReport is yes (default), no or partial (RFC 4975 section 7.2).
	FailureReport msrp.Report
	// Headers are extra MIME headers (Content-Disposition...).
	Headers []msrp.Header
}

// txResult is the outcome of one chunk's transaction.
type txResult struct {
	code    int
	comment string
}

// Send sends m in chunks and returns its Message-ID once every chunk was
// answered (or written, when Failure-Report is no or partial). A non-200
// response stops the message, which is then ended with a '#' chunk
// (RFC 4975 section 7.1.1) unless it went whole in one chunk, and
// returns a *StatusError; so does a transaction timeout (local 408).
// Cancelling ctx aborts the same way; a message in one chunk is on its
// way by then, and its outcome is counted when it comes.
//
// Memory stays bounded whatever the size: the content is read one chunk
// at a time, at most two chunks are buffered, and at most Window chunks
// await their responses, so a slow peer stalls this sender, not others.
//
// Send is Queue then Wait.
func (s *Session) Send(ctx context.Context, m *OutgoingMessage) (string, error) {
	p, err := s.start(ctx, m)
	if err != nil {
		if p != nil {
			return p.id, err
		}
		return "", err
	}
	return p.Wait(ctx)
}

// Queue puts m on the connection and returns before its answer: Wait
// on the Pending returns what Send would have. Messages queued one
// after the other from one goroutine go on the wire in that order, so a
// caller may queue a conversation's messages and then take their
// outcomes. Content in memory (Body) that fits one chunk is queued
// whole without waiting for anything; other messages (a Reader, or
// content of several chunks) are sent completely, as Send does, before
// Queue returns. An error means the message failed before it could be
// left pending: the outcome Send would have returned.
func (s *Session) Queue(ctx context.Context, m *OutgoingMessage) (*Pending, error) {
	p, err := s.start(ctx, m)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Pending is a message Queue put on its connection, its outcome to
// come.
type Pending struct {
	id string
	// done is closed once err holds the outcome; nil when Queue knew it.
	done chan struct{}
	err  error

	// A message queued in one chunk: what settles its outcome.
	s     *Session
	c     *conn
	chunk outChunk
	// answered is set when a response is awaited (Failure-Report yes):
	// the transaction settles the outcome, else the writer does.
	answered bool
}

// Wait returns the message's Message-ID once its outcome is known, and
// the outcome as Send returns it. Cancelling ctx ends the wait only;
// the message stays on its way.
func (p *Pending) Wait(ctx context.Context) (string, error) {
	if p.done != nil {
		select {
		case <-p.done:
		case <-ctx.Done():
			return p.id, ctx.Err()
		}
	}
	return p.id, p.err
}

// settle records the outcome of a message queued in one chunk, once:
// by its transaction, or, with no response awaited, by the writer.
func (p *Pending) settle(err error) {
	p.err = err
	p.c.senderDone()
	if err != nil {
		p.s.ep.stats.sendFailures.Add(1)
	} else {
		p.s.ep.stats.messagesSent.Add(1)
	}
	close(p.done)
}

// written is the writer's word on the chunk: the outcome when no
// response is awaited. When one is, a failed write ends the connection,
// whose end settles the transaction.
func (p *Pending) written(err error) {
	if !p.answered {
		p.settle(err)
	}
}

// start is Queue; on an error after the Message-ID was chosen the
// Pending is returned as well, for Send to name the message.
func (s *Session) start(ctx context.Context, m *OutgoingMessage) (*Pending, error) {
	c, err := s.waitBound(ctx)
	if err != nil {
		return nil, err
	}
	id := m.MessageID
	if id == "" {
		id = msrp.NewID()
	}
	// Counted as sending from here: the count picks the chunk size.
	chunk := c.senderStarted()
	if (m.Body != nil || m.Reader == nil) && len(m.Body) <= chunk {
		return s.queueOne(ctx, c, id, m)
	}
	p := &Pending{id: id}
	p.err = s.sendChunks(ctx, c, id, m)
	c.senderDone()
	if p.err != nil {
		s.ep.stats.sendFailures.Add(1)
		return p, p.err
	}
	s.ep.stats.messagesSent.Add(1)
	return p, nil
}

// sendFrame is the head of m's SEND requests.
func (s *Session) sendFrame(id string, m *OutgoingMessage) msrp.Frame {
	s.mu.Lock()
	f := msrp.Frame{
		Method:        msrp.MethodSEND,
		ToPath:        s.toPath,
		FromPath:      s.fromPath,
		MessageID:     id,
		FailureReport: m.FailureReport,
		ContentType:   m.ContentType,
		Headers:       m.Headers,
	}
	s.mu.Unlock()
	if f.ContentType == "" {
		f.ContentType = "text/plain"
	}
	if m.SuccessReport {
		f.SuccessReport = msrp.ReportYes
	}
	return f
}

// wantsResponses reports whether the peer answers a SEND of m
// (RFC 4975 section 7.2: not with Failure-Report no, and only failures
// with partial).
func wantsResponses(m *OutgoingMessage) bool {
	return m.FailureReport != msrp.ReportNo && m.FailureReport != msrp.ReportPartial
}

// queueOne queues m, whose content is in memory and fits one chunk, as
// one frame in one buffer, and leaves its outcome to its transaction
// (or the writer). The caller counted it with senderStarted.
func (s *Session) queueOne(ctx context.Context, c *conn, id string, m *OutgoingMessage) (*Pending, error) {
	p := &Pending{id: id, s: s, c: c, answered: wantsResponses(m)}
	if err := ctx.Err(); err != nil {
		c.senderDone()
		s.ep.stats.sendFailures.Add(1)
		return p, err
	}
	f := s.sendFrame(id, m)
	n := int64(len(m.Body))
	// An empty message is 1-0/0 (RFC 4975 section 7.1.1).
	f.ByteRange = msrp.ByteRange{Start: 1, End: n, Total: n}
	msrp.SealTransactionID(&f, m.Body)
	buf := make([]byte, 0, headRoom(&f)+len(m.Body)+endRoom)
	buf = msrp.AppendHead(buf, &f, true)
	buf = append(append(buf, m.Body...), '\r', '\n')
	p.chunk.buf = msrp.AppendEndLine(buf, f.TransactionID, msrp.FlagEnd)
	p.chunk.queued = p
	p.done = make(chan struct{})
	if err := c.enqueueOne(&p.chunk, f.TransactionID, p.answered); err != nil {
		c.senderDone()
		s.ep.stats.sendFailures.Add(1)
		p.done = nil
		p.err = err
		return p, err
	}
	s.touch()
	s.ep.stats.chunksSent.Add(1)
	s.ep.stats.bytesSent.Add(uint64(n))
	return p, nil
}

// sendChunks sends m chunk by chunk, waiting for the answers within the
// window. The caller counted it with senderStarted.
func (s *Session) sendChunks(ctx context.Context, c *conn, id string, m *OutgoingMessage) error {
	body, size := m.Reader, m.Size
	var src []byte
	if m.Body != nil || body == nil {
		// Content in memory is sent in place, never read through a copy.
		src, size, body = m.Body, int64(len(m.Body)), nil
		if src == nil {
			src = []byte{} // an empty message
		}
	}
	if size < 0 {
		// Unknown length: peek ahead to tell the last chunk.
		body = bufio.NewReaderSize(body, 4096)
	}
	snd := &sender{
		s: s, c: c, head: s.sendFrame(id, m), body: body, src: src, size: size,
		wantResponses: wantsResponses(m),
		results:       make(chan txResult, s.ep.cfg.Window+1),
	}
	return snd.run(ctx)
}

// sender is the state of one message being sent.
type sender struct {
	s    *Session
	c    *conn
	head msrp.Frame
	body io.Reader
	src  []byte // the content when given as a slice: sent in place
	size int64  // -1 unknown

	// A chunk buffer holds room bytes for the head, the content, then tail
	// bytes for the end-line; capacity is its size, fixed for the message.
	room, tail, capacity int

	wantResponses bool
	results       chan txResult
	resolve       func(int, string, *msrp.Frame)
	pending       int
	offset        int64
	chunks        int  // chunks queued
	ended         bool // the last chunk ('$') is queued
	scratch       []byte
	bufs          [2]*outChunk
	backing       [2][]byte
	inFlight      [2]bool
}

// headRoom bounds the serialized start line and headers of a chunk of
// f's message.
func headRoom(f *msrp.Frame) int {
	n := 256 + len(f.ToPath) + len(f.FromPath) + len(f.MessageID) + len(f.ContentType)
	for _, h := range f.Headers {
		n += len(h.Name) + len(h.Value) + 4
	}
	return n
}

// endRoom bounds the CRLF and end-line after a chunk's content.
const endRoom = len("\r\n-------") + 32 + 3

func (snd *sender) run(ctx context.Context) error {
	snd.room = headRoom(&snd.head)
	snd.tail = endRoom
	solo := snd.s.ep.cfg.SoloChunkSize
	snd.capacity = snd.room + solo + snd.tail
	if snd.src != nil {
		snd.capacity = snd.room + snd.tail
	} else if snd.size >= 0 && snd.size < int64(solo) {
		snd.capacity = snd.room + int(snd.size) + snd.tail
	}
	snd.scratch = make([]byte, 0, snd.room)
	snd.resolve = func(code int, comment string, _ *msrp.Frame) {
		snd.results <- txResult{code: code, comment: comment}
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return snd.abort(err)
		}
		slot := i % 2
		if snd.inFlight[slot] {
			// Reuse a buffer only once the writer took it.
			if err := snd.waitWritten(ctx, slot); err != nil {
				return snd.abort(err)
			}
		}
		tid, n, last, err := snd.nextChunk(slot)
		if err != nil {
			return snd.abort(err)
		}
		var resolve func(int, string, *msrp.Frame)
		if snd.wantResponses {
			resolve = snd.resolve
			snd.pending++
		}
		if err := snd.c.enqueueChunk(snd.bufs[slot], tid, resolve); err != nil {
			return err
		}
		snd.inFlight[slot] = true
		snd.chunks++
		snd.ended = last
		snd.s.touch()
		snd.s.ep.stats.chunksSent.Add(1)
		snd.s.ep.stats.bytesSent.Add(uint64(n))
		snd.offset += int64(n)
		for snd.pending >= snd.s.ep.cfg.Window {
			if err := snd.waitResult(ctx); err != nil {
				return snd.abort(err)
			}
		}
		if last {
			break
		}
	}
	for snd.pending > 0 {
		if err := snd.waitResult(ctx); err != nil {
			return snd.abort(err)
		}
	}
	for slot := range snd.inFlight {
		if snd.inFlight[slot] {
			if err := snd.waitWritten(ctx, slot); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextChunk frames the content from snd.offset on, as much as one chunk
// takes, into the buffer of slot. It returns the chunk's transaction id,
// its content length and whether it ends the message.
func (snd *sender) nextChunk(slot int) (tid string, n int, last bool, err error) {
	room, tail := snd.room, snd.tail
	if snd.bufs[slot] == nil {
		snd.backing[slot] = make([]byte, snd.capacity)
		snd.bufs[slot] = &outChunk{written: make(chan error, 1)}
	}
	ch, buf := snd.bufs[slot], snd.backing[slot]
	var data []byte
	if snd.src != nil {
		end := snd.offset + min(int64(snd.c.chunkSize()), snd.size-snd.offset)
		data = snd.src[snd.offset:end]
		last = end == snd.size
	} else {
		limit := min(snd.c.chunkSize(), len(buf)-room-tail)
		// The content is read straight after room reserved for the
		// head, which is then copied in front of it.
		got, end, err := snd.fill(buf[room : room+limit])
		if err != nil {
			return "", 0, false, fmt.Errorf("session: read message content: %w", err)
		}
		data, last = buf[room:room+got], end
	}
	n = len(data)
	flag := msrp.FlagMore
	if last {
		flag = msrp.FlagEnd
	}
	f := snd.head
	f.ByteRange = msrp.ByteRange{Start: snd.offset + 1, End: snd.offset + int64(n), Total: snd.size}
	if last {
		f.ByteRange.Total = snd.offset + int64(n)
	}
	msrp.SealTransactionID(&f, data)
	if snd.src != nil {
		full := msrp.AppendHead(buf[:0], &f, true)
		headLen := len(full)
		full = msrp.AppendEndLine(append(full, '\r', '\n'), f.TransactionID, flag)
		ch.buf, ch.data, ch.tail = full[:headLen], data, full[headLen:]
	} else {
		h := msrp.AppendHead(snd.scratch[:0], &f, true)
		start := room - len(h)
		copy(buf[start:], h)
		ch.buf = msrp.AppendEndLine(append(buf[start:room+n], '\r', '\n'), f.TransactionID, flag)
	}
	return f.TransactionID, n, last, nil
}

// fill reads up to len(p) content bytes and reports whether they end the
// message.
func (snd *sender) fill(p []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(snd.body, p)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if snd.size >= 0 && snd.offset+int64(n) != snd.size {
			return n, false, fmt.Errorf("content ended after %d of %d bytes", snd.offset+int64(n), snd.size)
		}
		return n, true, nil
	case err != nil:
		return n, false, err
	}
	if snd.size >= 0 {
		if snd.offset+int64(n) > snd.size {
			return n, false, fmt.Errorf("content longer than its size %d", snd.size)
		}
		return n, snd.offset+int64(n) == snd.size, nil
	}
	if br, ok := snd.body.(*bufio.Reader); ok {
		if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
			return n, true, nil
		}
	}
	return n, false, nil
}

func (snd *sender) waitResult(ctx context.Context) error {
	select {
	case r := <-snd.results:
		snd.pending--
		return statusErr(r.code, r.comment)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (snd *sender) waitWritten(ctx context.Context, slot int) error {
	select {
	case err := <-snd.bufs[slot].written:
		snd.inFlight[slot] = false
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abort ends a message the peer refused or we gave up on with an empty
// '#' chunk, so the receiver drops what it has (RFC 4975 section 7.1.1).
func (snd *sender) abort(cause error) error {
	if errors.Is(cause, ErrConnLost) || snd.offset == 0 && snd.pending == 0 {
		return cause
	}
	// Chunks already queued go out first so the '#' really ends the
	// message; the writer signals each one (or the connection's end).
	for slot := range snd.inFlight {
		if snd.inFlight[slot] {
			<-snd.bufs[slot].written
			snd.inFlight[slot] = false
		}
	}
	if snd.ended && snd.chunks == 1 {
		// The message went whole, ended by its '$': nothing is left
		// for a '#' to end.
		return cause
	}
	f := snd.head
	f.FailureReport = msrp.ReportNo // nothing to learn from its answer
	f.ByteRange = msrp.ByteRange{Start: snd.offset + 1, End: snd.offset, Total: msrp.Unknown}
	f.Flag = msrp.FlagAbort
	msrp.SealTransactionID(&f, nil)
	if buf, err := msrp.AppendFrame(nil, &f); err == nil {
		_ = snd.c.sendControl(buf)
	}
	return cause
}
