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
// (RFC 4975 section 7.1.1), and returns a *StatusError; so does a
// transaction timeout (local 408). Cancelling ctx aborts the same way.
//
// Memory stays bounded whatever the size: the content is read one chunk
// at a time, at most two chunks are buffered, and at most Window chunks
// await their responses, so a slow peer stalls this sender, not others.
func (s *Session) Send(ctx context.Context, m *OutgoingMessage) (string, error) {
	c, err := s.waitBound(ctx)
	if err != nil {
		return "", err
	}
	id := m.MessageID
	if id == "" {
		id = msrp.NewID()
	}
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
	s.mu.Lock()
	head := msrp.Frame{
		Method:        msrp.MethodSEND,
		ToPath:        s.toPath,
		FromPath:      s.fromPath,
		MessageID:     id,
		FailureReport: m.FailureReport,
		ContentType:   m.ContentType,
		Headers:       m.Headers,
	}
	s.mu.Unlock()
	if head.ContentType == "" {
		head.ContentType = "text/plain"
	}
	if m.SuccessReport {
		head.SuccessReport = msrp.ReportYes
	}
	snd := &sender{
		s: s, c: c, head: head, body: body, src: src, size: size,
		wantResponses: m.FailureReport != msrp.ReportNo && m.FailureReport != msrp.ReportPartial,
		results:       make(chan txResult, s.ep.cfg.Window+1),
	}
	c.senderStarted()
	err = snd.run(ctx)
	c.senderDone()
	if err != nil {
		s.ep.stats.sendFailures.Add(1)
		return id, err
	}
	s.ep.stats.messagesSent.Add(1)
	return id, nil
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
	scratch       []byte
	bufs          [2]*outChunk
	backing       [2][]byte
	inFlight      [2]bool
}

// headRoom bounds the serialized start line and headers of a chunk.
func (snd *sender) headRoom() int {
	n := 256 + len(snd.head.ToPath) + len(snd.head.FromPath) + len(snd.head.MessageID) + len(snd.head.ContentType)
	for _, h := range snd.head.Headers {
		n += len(h.Name) + len(h.Value) + 4
	}
	return n
}

func (snd *sender) run(ctx context.Context) error {
	snd.room = snd.headRoom()
	snd.tail = len("\r\n-------") + 32 + 3
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
