package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"iwf/internal/cpim"
	"iwf/session/msrp"
)

// Message is a complete message received on a session.
type Message struct {
	ID          string
	ContentType string
	// Headers are the MIME headers that came with the first chunk.
	Headers []msrp.Header
	// Body is the content, nil when a Sink received it.
	Body []byte
	Size int64
	// SuccessReport and FailureReport are what the sender asked for.
	SuccessReport bool
	FailureReport msrp.Report

	session *Session
	from    string // From-Path of the sender, the To-Path of REPORTs
}

// Report sends the REPORT for m (RFC 4975 section 7.1.2) when the sender
// asked for it: code 200 when Success-Report is yes, a failure code when
// Failure-Report is yes or partial. Otherwise it does nothing.
func (m *Message) Report(code int, comment string) error {
	if code == 200 && !m.SuccessReport || code != 200 && m.FailureReport == msrp.ReportNo {
		return nil
	}
	return m.session.sendReport(m.ID, m.from, msrp.ByteRange{Start: 1, End: m.Size, Total: m.Size}, code, comment)
}

// MediaType is the message's media type without parameters, lower case
// (RFC 2045 section 5.1: type and subtype are case-insensitive).
func (m *Message) MediaType() string { return mediaType(m.ContentType) }

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// inbound is a message being reassembled.
//
// Without a sink its content is kept in memory that grows with the bytes
// received, never with what a Byte-Range claims (a total, an offset far
// ahead): mem holds what arrived from offset 0 on without a gap, pieces
// what arrived beyond a gap until the gap fills. Those bytes are charged
// to the session's and the endpoint's bounds while the message is
// incomplete.
type inbound struct {
	msg    *Message
	sink   Sink
	mem    []byte
	pieces []piece // sorted by offset; may overlap
	total  int64   // Byte-Range total, msrp.Unknown until known
	size   int64   // known once the '$' chunk arrived, else -1
	got    ranges
	// held is the bytes charged; gone marks a message no longer being
	// reassembled (complete, dropped, refused, expired, session ended),
	// whose charge was given back. Both are guarded by Session.mu.
	held    int64
	gone    bool
	touched atomic.Int64 // unix nanoseconds of the last chunk
}

// piece is content received beyond a gap.
type piece struct {
	off  int64
	data []byte
}

// maxGaps bounds the received intervals of one message: chunks that leave
// gaps cost a scan of the list each, so a peer sending them byte by byte
// could otherwise make reassembly quadratic. Real senders send in order
// or nearly so.
const maxGaps = 1024

// ranges is a sorted list of received [start, end) byte intervals.
type ranges [][2]int64

func (r *ranges) add(start, end int64) {
	if start >= end {
		return
	}
	rs := *r
	i := 0
	for i < len(rs) && rs[i][1] < start {
		i++
	}
	j := i
	for j < len(rs) && rs[j][0] <= end {
		start = min(start, rs[j][0])
		end = max(end, rs[j][1])
		j++
	}
	rs = slices.Replace(rs, i, j, [2]int64{start, end})
	*r = rs
}

func (r ranges) covers(n int64) bool {
	return n == 0 || len(r) == 1 && r[0][0] == 0 && r[0][1] >= n
}

// receiveChunk takes one SEND: routes it to its message, streams its body
// into the message's sink and answers it. It runs on the reader goroutine.
func (s *Session) receiveChunk(c *conn, f *msrp.Frame, hasBody bool, rd *msrp.Reader) {
	s.ep.stats.chunksReceived.Add(1)
	if !hasBody && f.ContentType == "" {
		// A bodiless SEND: it binds the session or keeps it alive
		// (RFC 4975 section 7.1).
		c.respond(f, 200, statusComment(200))
		return
	}
	if f.MessageID == "" {
		c.respond(f, 400, "Message-ID missing")
		return
	}
	in, code, comment := s.inboundFor(f)
	if code != 200 {
		s.ep.stats.rejected.Add(1)
		c.respond(f, code, comment)
		return
	}
	br := f.ByteRange
	if !br.IsSet() {
		br = msrp.ByteRange{Start: 1, End: msrp.Unknown, Total: msrp.Unknown}
	}
	off := br.Start - 1
	in.touched.Store(s.ep.now().UnixNano())
	n, err := s.readBody(c, in, rd, off, hasBody)
	if err != nil {
		// The reader's own faults carry their status: 400 for a broken
		// body, 413 beyond max_chunk.
		code := msrp.StatusOf(err)
		var le *limitErr
		switch {
		case errors.As(err, &le):
			code = 413
		case errors.Is(err, errGone):
			// Dropped while this chunk streamed in: the session ended or
			// the message timed out.
			code = 408
			if s.Err() != nil {
				code = 481
			}
		}
		s.reject(in, code)
		c.respond(f, code, statusComment(code))
		return
	}
	s.ep.stats.bytesReceived.Add(uint64(n))
	flag := rd.Flag()
	if !hasBody {
		flag = f.Flag
	}
	// The reaper reads got (for a 408 REPORT) under s.mu.
	s.mu.Lock()
	in.got.add(off, off+n)
	gaps := len(in.got)
	s.mu.Unlock()
	if gaps > maxGaps {
		s.reject(in, 413)
		c.respond(f, 413, statusComment(413))
		return
	}
	in.touched.Store(s.ep.now().UnixNano())
	switch flag {
	case msrp.FlagAbort:
		// The sender gave up on the message: drop what arrived.
		s.drop(in.msg.ID)
		c.respond(f, 200, statusComment(200))
		return
	case msrp.FlagEnd:
		in.size = off + n
	}
	if in.size < 0 || !in.got.covers(in.size) {
		c.respond(f, 200, statusComment(200))
		return
	}
	s.complete(c, f, in)
}

// limitErr marks content beyond a bound: the session's max-size, or the
// bytes that may be held for incomplete messages.
type limitErr struct {
	what string
	max  int64
}

func (e *limitErr) Error() string { return fmt.Sprintf("session: %s over %d bytes", e.what, e.max) }

// errGone stops a chunk of a message dropped while it streamed in.
var errGone = errors.New("session: message no longer reassembled")

// readBody streams the chunk's body into the message at offset off,
// straight from the connection's read buffer.
func (s *Session) readBody(c *conn, in *inbound, rd *msrp.Reader, off int64, hasBody bool) (int64, error) {
	if !hasBody {
		return 0, nil
	}
	var n int64
	cur := -1 // the piece this chunk fills, when it lies beyond a gap
	for {
		data, err := rd.BodyChunk()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		c.activity.Add(1)
		at := off + n
		end := at + int64(len(data))
		if end > s.maxSize {
			return n, &limitErr{what: "message max-size", max: s.maxSize}
		}
		if in.sink != nil {
			if _, err := in.sink.WriteAt(data, at); err != nil {
				return n, err
			}
		} else if err := s.store(in, at, data, &cur); err != nil {
			return n, err
		}
		n += int64(len(data))
	}
	if in.sink == nil {
		s.mergePieces(in)
	}
	return n, nil
}

// store keeps data, which belongs at offset at, in memory. Content at or
// before the end of mem extends it (a resend of bytes already there
// overwrites them); content beyond a gap goes to a piece, which *cur
// names for the rest of the chunk.
func (s *Session) store(in *inbound, at int64, data []byte, cur *int) error {
	have := int64(len(in.mem))
	if at <= have {
		k := min(have-at, int64(len(data)))
		copy(in.mem[at:], data[:k])
		data = data[k:]
		if len(data) == 0 {
			return nil
		}
		if err := s.charge(in, int64(len(data))); err != nil {
			return err
		}
		in.mem = appendContent(in.mem, data, in.total, s.maxSize)
		return nil
	}
	if err := s.charge(in, int64(len(data))); err != nil {
		return err
	}
	if *cur >= 0 {
		// The runs of one chunk are contiguous.
		in.pieces[*cur].data = append(in.pieces[*cur].data, data...)
		return nil
	}
	i, _ := slices.BinarySearchFunc(in.pieces, at, func(p piece, off int64) int { return cmp.Compare(p.off, off) })
	in.pieces = slices.Insert(in.pieces, i, piece{off: at, data: slices.Clone(data)})
	*cur = i
	return nil
}

// mergePieces moves into mem the pieces that a chunk made contiguous with
// it, giving back the charge of their bytes that mem already had.
func (s *Session) mergePieces(in *inbound) {
	k := 0
	for ; k < len(in.pieces) && in.pieces[k].off <= int64(len(in.mem)); k++ {
		p := in.pieces[k]
		have := int64(len(in.mem))
		var added int64
		if end := p.off + int64(len(p.data)); end > have {
			in.mem = appendContent(in.mem, p.data[have-p.off:], in.total, s.maxSize)
			added = end - have
		}
		_ = s.charge(in, added-int64(len(p.data))) // a refund: never fails
	}
	clear(in.pieces[:k])
	in.pieces = in.pieces[k:]
}

// appendContent appends data to b. Capacity grows by doubling with what
// was received, capped by the message's known total (no copy at the end
// of an in-order transfer) and its max-size, and never allocated from a
// claim alone.
func appendContent(b, data []byte, total, limit int64) []byte {
	need := len(b) + len(data)
	if need <= cap(b) {
		return append(b, data...)
	}
	c := int64(max(need, 2*cap(b)))
	if total >= int64(need) {
		c = min(c, total)
	}
	c = max(min(c, limit), int64(need))
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return append(nb, data...)
}

// charge counts n more bytes (or gives back -n) held for in, against the
// session's and the endpoint's bounds on incomplete messages.
func (s *Session) charge(in *inbound, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.gone {
		return errGone
	}
	if n > 0 {
		if lim := s.ep.cfg.MaxIncompleteBytes; s.incomplete+n > lim {
			return &limitErr{what: "session's incomplete messages", max: lim}
		}
		if lim := s.ep.cfg.MaxIncompleteBytesTotal; s.ep.stats.incompleteBytes.Add(n) > lim {
			s.ep.stats.incompleteBytes.Add(-n)
			return &limitErr{what: "endpoint's incomplete messages", max: lim}
		}
	} else {
		s.ep.stats.incompleteBytes.Add(n)
	}
	s.incomplete += n
	in.held += n
	return nil
}

// releaseLocked ends the reassembly of in and gives back its charge; the
// caller holds s.mu. The reader may still be writing into it: its next
// charge fails with errGone.
func (s *Session) releaseLocked(in *inbound) {
	if in.gone {
		return
	}
	in.gone = true
	s.incomplete -= in.held
	s.ep.stats.incompleteBytes.Add(-in.held)
	in.held = 0
}

// inboundFor finds or starts the reassembly of f's message, checking the
// session's bounds: accepted types (415), max-size (413) and how many
// messages may be in progress at once.
func (s *Session) inboundFor(f *msrp.Frame) (*inbound, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 481, statusComment(481)
	}
	if code, ok := s.rejected[f.MessageID]; ok {
		return nil, code, statusComment(code)
	}
	if in, ok := s.inbound[f.MessageID]; ok {
		return in, 200, ""
	}
	if !s.accepts(f.ContentType) {
		s.rememberRejected(f.MessageID, 415)
		return nil, 415, statusComment(415)
	}
	total := f.ByteRange.Total
	if !f.ByteRange.IsSet() {
		total = msrp.Unknown
	}
	if total > s.maxSize {
		s.rememberRejected(f.MessageID, 413)
		return nil, 413, statusComment(413)
	}
	if len(s.inbound) >= s.ep.cfg.MaxIncomplete {
		return nil, 413, "Too Many Messages In Progress"
	}
	m := &Message{
		ID:            f.MessageID,
		ContentType:   f.ContentType,
		Headers:       slices.Clone(f.Headers),
		SuccessReport: f.SuccessReport == msrp.ReportYes,
		FailureReport: f.FailureReport,
		session:       s,
		from:          f.FromPath,
	}
	if m.FailureReport == msrp.ReportUnset {
		m.FailureReport = msrp.ReportYes
	}
	in := &inbound{msg: m, total: total, size: -1}
	in.touched.Store(s.ep.now().UnixNano())
	if s.opts.NewSink != nil {
		sink, err := s.opts.NewSink(m)
		if err != nil {
			code := msrp.StatusOf(err)
			s.rememberRejected(f.MessageID, code)
			return nil, code, statusComment(code)
		}
		in.sink = sink // nil: this message goes to memory after all
	}
	s.inbound[f.MessageID] = in
	return in, 200, ""
}

// rememberRejected keeps the status of a refused message so its later
// chunks get the same answer; the memory is bounded.
func (s *Session) rememberRejected(id string, code int) {
	if len(s.rejected) >= 256 {
		clear(s.rejected)
	}
	s.rejected[id] = code
}

func (s *Session) reject(in *inbound, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(in)
	if s.inbound != nil {
		delete(s.inbound, in.msg.ID)
		s.rememberRejected(in.msg.ID, code)
	}
}

func (s *Session) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.inbound[id]; ok {
		s.releaseLocked(in)
		delete(s.inbound, id)
	}
}

// accepts matches a content type against a=accept-types, with "*" and
// "type/*" wildcards (RFC 4975 section 8.6); parameters are ignored.
// An is-composing indication is always taken (and dropped, see
// complete): refusing it would make clients that send it regardless of
// our a=accept-types show an error for a message nobody typed.
func (s *Session) accepts(ct string) bool {
	mt := mediaType(ct)
	if mt == composingType {
		return true
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, a := range s.opts.AcceptTypes {
		a = strings.ToLower(a)
		if a == "*" || a == mt || strings.HasSuffix(a, "/*") && strings.TrimSuffix(a, "/*") == major {
			return true
		}
	}
	return false
}

// delivery is a complete message waiting for the session's Handler,
// with what is needed to answer its last chunk.
type delivery struct {
	c  *conn
	in *inbound
	// req holds the fields of the last chunk that its response needs;
	// the reader reuses its frame for the next request.
	req msrp.Frame
	// deadline is the last chunk's transaction timeout: past it the
	// sender gave up on the answer, so the message is not stored.
	deadline time.Time
}

// complete queues a whole message for the session's Handler and returns:
// the reader goes on with the other sessions on the connection (and this
// one) while the Handler persists it. The 200 for the last chunk goes out
// only after HandleMessage returned, so a handler that persists the
// message makes the 200 mean "stored". Messages reach the Handler in the
// order they completed, one at a time.
func (s *Session) complete(c *conn, f *msrp.Frame, in *inbound) {
	m := in.msg
	m.Size = in.size
	if in.sink == nil {
		m.Body = in.mem[:in.size:in.size]
	}
	if isComposing(m) {
		// RFC 3994: a composing indication is for the screen of a person
		// in a chat; there is none on the SMS side, so it is taken and
		// dropped, never relayed nor refused.
		s.drop(m.ID)
		s.ep.stats.composing.Add(1)
		c.respond(f, 200, statusComment(200))
		return
	}
	d := &delivery{
		c:  c,
		in: in,
		req: msrp.Frame{
			Method: f.Method, TransactionID: f.TransactionID,
			ToPath: f.ToPath, FromPath: f.FromPath, FailureReport: f.FailureReport,
		},
		deadline: time.Now().Add(s.ep.cfg.TransactionTimeout),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.respond(f, 481, statusComment(481))
		return
	}
	// The message leaves reassembly but keeps its bytes charged until
	// the Handler is done with it: queued bodies count against the same
	// bounds as incomplete ones.
	delete(s.inbound, m.ID)
	if len(s.queue) >= s.ep.cfg.MaxQueuedMessages {
		s.releaseLocked(in)
		s.mu.Unlock()
		// Temporary: the store is behind. The sender may send the
		// message again; nothing of it was kept.
		s.ep.stats.rejected.Add(1)
		s.ep.stats.queueFull.Add(1)
		c.respond(f, 503, statusComment(503))
		return
	}
	s.queue = append(s.queue, d)
	start := !s.delivering
	s.delivering = true
	if start {
		// The reader runs under e.wg, so the count is above zero here
		// and Endpoint.Close waits for this goroutine too.
		s.ep.wg.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.deliverLoop()
	}
}

// deliverLoop hands queued messages to the Handler in order until the
// queue is empty; complete starts it again for the next message.
func (s *Session) deliverLoop() {
	defer s.ep.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.delivering = false
			s.mu.Unlock()
			return
		}
		d := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.deliver(d)
	}
}

// deliver calls the Handler for one message and answers its last chunk
// with the outcome.
func (s *Session) deliver(d *delivery) {
	m := d.in.msg
	ctx, cancel := context.WithDeadline(d.c.ctx, d.deadline)
	err := ctx.Err()
	if err == nil {
		err = s.opts.Handler.HandleMessage(ctx, s, m)
	} else {
		// The connection is gone or the sender stopped waiting while the
		// message was queued: nobody would learn that it was stored.
		err = Reject(408, statusComment(408))
	}
	cancel()
	s.mu.Lock()
	s.releaseLocked(d.in)
	s.mu.Unlock()
	if err != nil {
		code := msrp.StatusOf(err)
		if code == 200 {
			code = 500
		}
		s.ep.stats.rejected.Add(1)
		d.c.respond(&d.req, code, statusComment(code))
		return
	}
	s.ep.stats.messagesReceived.Add(1)
	d.c.respond(&d.req, 200, statusComment(200))
	if m.SuccessReport && !s.opts.ManualReports {
		_ = m.Report(200, statusComment(200))
	}
}

// sendReport sends a REPORT about the bytes br of message id back along
// the sender's From-Path.
func (s *Session) sendReport(id, to string, br msrp.ByteRange, code int, comment string) error {
	s.mu.Lock()
	c, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed || c == nil {
		return ErrClosed
	}
	f := msrp.Frame{
		Method:    msrp.MethodREPORT,
		ToPath:    to,
		FromPath:  s.fromPath,
		MessageID: id,
		ByteRange: br,
		Status:    msrp.Status{Namespace: 0, Code: code, Comment: comment},
	}
	msrp.SealTransactionID(&f, nil)
	buf, err := msrp.AppendFrame(nil, &f)
	if err != nil {
		return err
	}
	return c.sendControl(buf)
}

// receiveReport passes a REPORT for one of our messages to the handler.
func (s *Session) receiveReport(f *msrp.Frame) {
	s.opts.Handler.HandleReport(s, Report{
		MessageID: f.MessageID,
		Status:    f.Status.Code,
		Comment:   f.Status.Comment,
		ByteRange: f.ByteRange,
	})
}

// expireIncomplete drops messages whose chunks stopped coming, with a
// failure REPORT when the sender wants one (408, RFC 4975 section 7.1.2).
func (s *Session) expireIncomplete(now time.Time) {
	type staleMsg struct {
		m  *Message
		br msrp.ByteRange
	}
	var stale []staleMsg
	s.mu.Lock()
	for id, in := range s.inbound {
		if now.Sub(time.Unix(0, in.touched.Load())) > s.ep.cfg.IncompleteTimeout {
			stale = append(stale, staleMsg{in.msg, in.received()})
			s.releaseLocked(in)
			delete(s.inbound, id)
		}
	}
	s.mu.Unlock()
	for _, st := range stale {
		if st.m.FailureReport == msrp.ReportNo {
			continue
		}
		_ = s.sendReport(st.m.ID, st.m.from, st.br, 408, "Incomplete Message Timed Out")
	}
}

// received is the Byte-Range a failure REPORT about an incomplete message
// gives (RFC 4975 section 7.1.2: the range the status is about): from the
// first byte to the last one received, over the total when it is known.
// Gaps inside are not told apart: the whole message failed. The caller
// holds Session.mu.
func (in *inbound) received() msrp.ByteRange {
	br := msrp.ByteRange{Start: 1, End: 0, Total: in.total}
	if n := len(in.got); n > 0 {
		br.End = in.got[n-1][1]
	}
	return br
}

// composingType is the media type of an is-composing indication
// (RFC 3994 section 4).
const composingType = "application/im-iscomposing+xml"

// isComposing reports whether m is an is-composing indication, bare or
// wrapped in CPIM as RCS clients send it.
func isComposing(m *Message) bool {
	switch m.MediaType() {
	case composingType:
		return true
	case "message/cpim":
		// Cheap test first: the wrapped type must appear in the body.
		if !containsFold(m.Body[:min(len(m.Body), cpim.DefaultMaxHeaderBytes)], composingType) {
			return false
		}
		cm, err := cpim.ParseOptions{Tolerant: true}.Parse(m.Body)
		return err == nil && cm.MediaType() == composingType
	}
	return false
}

// containsFold reports whether b contains lower, a lower-case ASCII
// string, ignoring ASCII case.
func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		j := 0
		for j < len(lower) && b[i+j]|0x20 == lower[j]|0x20 {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}
