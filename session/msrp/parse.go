package msrp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// Limits bound what a Reader accepts from a peer. Zero fields take the
// defaults of DefaultLimits. The YAML keys are those of the daemon's msrp
// section; MaxNonSendBody has none.
type Limits struct {
	// MaxHeaderBytes bounds the start line plus headers of one frame.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxHeaders bounds the number of header lines.
	MaxHeaders int `yaml:"max_headers"`
	// MaxNonSendBody bounds the body of anything but SEND (RFC 4975
	// section 7.1: REPORT and other non-SEND bodies are small).
	MaxNonSendBody int64 `yaml:"-"`
	// MaxChunk bounds the body of one SEND chunk.
	MaxChunk int64 `yaml:"max_chunk"`
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{
	MaxHeaderBytes: 16 << 10,
	MaxHeaders:     64,
	MaxNonSendBody: 10240,
	MaxChunk:       16 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultLimits.MaxHeaders
	}
	if l.MaxNonSendBody <= 0 {
		l.MaxNonSendBody = DefaultLimits.MaxNonSendBody
	}
	if l.MaxChunk <= 0 {
		l.MaxChunk = DefaultLimits.MaxChunk
	}
	return l
}

const (
	endLineDashes = "-------"
	minTIDLen     = 4  // ident = ALPHANUM 3*31ident-char
	maxTIDLen     = 32 //
	readerBufSize = 64 << 10
)

type readerState uint8

const (
	stateIdle        readerState = iota // between frames
	stateBody                           // inside a body, before its end-line
	stateSkipHeaders                    // inside headers that broke a limit
)

// Reader splits an MSRP byte stream into frames. It accepts any split of
// the stream (it reads through a bufio.Reader) and hands bodies out as a
// stream, so a large chunk is never held whole unless the caller asks for
// it with ReadFrame.
//
// Use: Next reads a start line and headers; when it reports a body, Read
// returns the body bytes until io.EOF, after which Flag is the end-line's
// continuation flag. Next skips whatever the caller left unread.
type Reader struct {
	br      *bufio.Reader
	lim     Limits
	hdr     []byte // start line and headers of the current frame
	lines   []int  // offsets in hdr where each header line starts
	pattern []byte // CRLF + dashes + transaction id: the start of the end-line
	state   readerState
	midLine bool // stateSkipHeaders: the cut fell inside a header line
	flag    byte
	bodyN   int64
	bodyMax int64
}

// NewReader returns a Reader over r with limits lim.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < readerBufSize {
		br = bufio.NewReaderSize(r, readerBufSize)
	}
	return &Reader{br: br, lim: lim.withDefaults()}
}

// Flag is the continuation flag of the last frame whose end-line was read.
func (r *Reader) Flag() byte { return r.flag }

// Next reads the start line and headers of the next frame into f. It
// returns hasBody true when a body follows, to be read with Read.
//
// A *ParseError or *LimitError that does not wrap ErrFraming comes with
// as much of f filled in as was parsed (at least the transaction id and
// method or status, and the paths when they came before the fault), so
// the caller can answer it. It is returned as soon as the fault is seen,
// before the rest of the bad frame arrives, so a peer that stalls after
// it is still answered; the next call to Next skips that rest. Any error
// wrapping ErrFraming, or io.EOF at a frame boundary, ends the stream.
func (r *Reader) Next(f *Frame) (hasBody bool, err error) {
	switch r.state {
	case stateSkipHeaders:
		if err := r.skipHeaders(); err != nil {
			return false, err
		}
	case stateBody:
		if err := r.discardBody(); err != nil {
			return false, err
		}
	}
	f.Reset()
	r.flag = flagUndefined
	r.hdr = r.hdr[:0]
	r.lines = r.lines[:0]

	var block string
	hdr, consume, ended, fast := r.peekHeader()
	if fast {
		// One string for the whole header block: every field is a
		// substring of it, which keeps a small frame at one allocation.
		block = string(hdr)
		_, _ = r.br.Discard(consume)
	} else {
		r.lines = r.lines[:0]
		if err := r.readStartLine(); err != nil {
			return false, err
		}
		var err error
		ended, err = r.readHeaderLines()
		if err != nil {
			if !errors.Is(err, ErrFraming) {
				// Give the caller what it needs to answer: the start line
				// and whatever complete headers came before the fault
				// (the paths, with luck). Their own faults do not matter
				// here: the frame is refused anyway.
				partial := string(r.hdr)
				_ = parseStartLine(partial[:r.lines[0]], f)
				_ = parseHeaders(partial, r.lines, f)
			}
			return false, err
		}
		block = string(r.hdr)
	}
	if err := parseStartLine(block[:r.lines[0]], f); err != nil {
		return false, err
	}
	perr := parseHeaders(block, r.lines, f)
	if ended {
		f.Flag = r.flag
		if perr == nil {
			perr = requiredHeaders(f)
		}
		return false, perr
	}
	r.state = stateBody
	r.bodyN = 0
	r.bodyMax = r.lim.MaxNonSendBody
	if f.Method == MethodSEND {
		r.bodyMax = r.lim.MaxChunk
	}
	if perr == nil {
		perr = requiredHeaders(f)
	}
	if perr == nil && f.ContentType == "" {
		perr = &ParseError{Offset: len(block), Reason: "body without Content-Type"}
	}
	if perr != nil {
		// Report at once; the next Next skips the body, so the reader
		// stays in step without making the answer wait for it.
		return false, perr
	}
	return true, nil
}

// peekHeader finds a whole, well-formed start line and header block in
// what is already buffered, without copying it. Anything unusual (not all
// buffered, stray CRLF, a limit reached, a malformed line) returns ok
// false and the line-by-line path handles it, errors included.
func (r *Reader) peekHeader() (hdr []byte, consume int, ended, ok bool) {
	if r.br.Buffered() == 0 {
		_, _ = r.br.Peek(1) // wait for data; errors surface on the slow path
	}
	buf, _ := r.br.Peek(r.br.Buffered())
	if len(buf) > r.lim.MaxHeaderBytes {
		buf = buf[:r.lim.MaxHeaderBytes]
	}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 2 || buf[nl-1] != '\r' {
		return nil, 0, false, false
	}
	tid, valid := startLineTID(buf[:nl+1])
	if !valid {
		return nil, 0, false, false
	}
	r.pattern = append(append(append(r.pattern[:0], "\r\n"...), endLineDashes...), tid...)
	endLine := r.pattern[2:]
	r.lines = append(r.lines[:0], nl+1)
	for pos := nl + 1; ; {
		n := bytes.IndexByte(buf[pos:], '\n')
		if n < 1 || buf[pos+n-1] != '\r' {
			return nil, 0, false, false
		}
		line := buf[pos : pos+n+1]
		switch {
		case bytes.HasPrefix(line, endLine):
			rest := line[len(endLine):]
			if len(rest) != 3 || !isFlag(rest[0]) {
				return nil, 0, false, false
			}
			r.flag = rest[0]
			return buf[:pos], pos + len(line), true, true
		case len(line) == 2:
			return buf[:pos], pos + 2, false, true
		case len(r.lines) > r.lim.MaxHeaders:
			return nil, 0, false, false
		}
		r.lines = append(r.lines, pos)
		pos += len(line)
	}
}

// readStartLine reads the start line into r.hdr, skipping stray empty
// lines between frames, and sets r.pattern from its transaction id.
func (r *Reader) readStartLine() error {
	for {
		start := len(r.hdr)
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && start == 0 && len(line) == 0 {
				return io.EOF
			}
			return err
		}
		if len(line) == 2 { // a stray CRLF
			r.hdr = r.hdr[:start]
			continue
		}
		tid, ok := startLineTID(line)
		if !ok {
			return &ParseError{Offset: 0, Reason: "bad start line", fatal: true}
		}
		r.pattern = append(append(append(r.pattern[:0], "\r\n"...), endLineDashes...), tid...)
		r.lines = append(r.lines, len(r.hdr))
		return nil
	}
}

// readHeaderLines reads header lines until the end-line (ended true) or
// the empty line before a body.
func (r *Reader) readHeaderLines() (ended bool, err error) {
	endLine := r.pattern[2:]
	for {
		start := len(r.hdr)
		line, err := r.readLine()
		if err != nil {
			return false, err
		}
		if bytes.HasPrefix(line, endLine) {
			rest := line[len(endLine):]
			if len(rest) != 3 || !isFlag(rest[0]) {
				return false, &ParseError{Offset: start, Reason: "bad end-line", fatal: true}
			}
			r.flag = rest[0]
			r.hdr = r.hdr[:start]
			return true, nil
		}
		if len(line) == 2 {
			r.hdr = r.hdr[:start]
			return false, nil
		}
		if len(r.lines) > r.lim.MaxHeaders {
			r.hdr = r.hdr[:start]
			return false, r.headerFault(&LimitError{What: limitHeaderCount, Limit: int64(r.lim.MaxHeaders)}, false)
		}
		r.lines = append(r.lines, start)
	}
}

// readLine appends one CRLF-terminated line to r.hdr and returns it. The
// header limit is checked against what has arrived so far, not only at
// the end of a line: a peer that sends an endless line and then stalls
// is refused as soon as the line passes the limit.
func (r *Reader) readLine() ([]byte, error) {
	start := len(r.hdr)
	for {
		buf, _ := r.br.Peek(r.br.Buffered())
		frag, complete := buf, false
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			frag, complete = buf[:i+1], true
		}
		if len(r.hdr)+len(frag) > r.lim.MaxHeaderBytes {
			if len(r.lines) == 0 {
				return nil, &ParseError{Offset: len(r.hdr), Reason: "start line too long", fatal: true}
			}
			_, _ = r.br.Discard(len(frag))
			r.hdr = r.hdr[:start]
			return nil, r.headerFault(&LimitError{What: limitHeaderBytes, Limit: int64(r.lim.MaxHeaderBytes)}, !complete)
		}
		r.hdr = append(r.hdr, frag...)
		_, _ = r.br.Discard(len(frag))
		if complete {
			line := r.hdr[start:]
			if len(line) < 2 || line[len(line)-2] != '\r' {
				return nil, &ParseError{Offset: start, Reason: "line not terminated by CRLF", fatal: true}
			}
			return line, nil
		}
		// Wait for more of the line.
		if _, err := r.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) && len(r.hdr) == 0 {
				return nil, io.EOF
			}
			return r.hdr[start:], &ParseError{Offset: len(r.hdr), Reason: "stream ended inside a frame: " + err.Error(), fatal: true}
		}
	}
}

// headerFault leaves the rest of a frame whose headers broke a limit for
// the next Next to skip, and returns fault. midLine says the cut fell
// inside a line, whose rest is no line of its own.
func (r *Reader) headerFault(fault error, midLine bool) error {
	r.state = stateSkipHeaders
	r.midLine = midLine
	return fault
}

// skipHeaders discards the rest of a frame whose headers broke a limit:
// header lines up to its end-line, or up to the empty line and then its
// body. Nothing of it is kept.
func (r *Reader) skipHeaders() error {
	endLine := r.pattern[2:]
	for {
		line, err := r.br.ReadSlice('\n')
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			r.midLine = true
			continue
		default:
			return &ParseError{Reason: "stream ended inside a frame", fatal: true}
		}
		if r.midLine {
			r.midLine = false
			continue
		}
		if bytes.HasPrefix(line, endLine) && len(line) == len(endLine)+3 && isFlag(line[len(endLine)]) {
			r.flag = line[len(endLine)]
			r.state = stateIdle
			return nil
		}
		if len(line) == 2 {
			r.state = stateBody
			r.bodyN, r.bodyMax = 0, 1<<62
			return r.discardBody()
		}
	}
}

// Read reads body bytes of the current frame; io.EOF marks its end-line.
func (r *Reader) Read(p []byte) (int, error) {
	if r.state != stateBody {
		return 0, io.EOF
	}
	data, err := r.scanBody()
	if err != nil {
		return 0, err
	}
	n := copy(p, data)
	return n, r.consumeBody(n)
}

// BodyChunk returns the next run of body bytes straight from the read
// buffer, without a copy; the slice is valid until the next call on r.
// It returns io.EOF at the end-line, after which Flag is set.
func (r *Reader) BodyChunk() ([]byte, error) {
	if r.state != stateBody {
		return nil, io.EOF
	}
	data, err := r.scanBody()
	if err != nil {
		return nil, err
	}
	if err := r.consumeBody(len(data)); err != nil {
		return nil, err
	}
	return data, nil
}

// ReadBody appends the rest of the current body to dst.
func (r *Reader) ReadBody(dst []byte) ([]byte, error) {
	for r.state == stateBody {
		data, err := r.scanBody()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, data...)
		if err := r.consumeBody(len(data)); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// ReadFrame reads a whole frame, body included (bounded by the limits).
func (r *Reader) ReadFrame(f *Frame) error {
	hasBody, err := r.Next(f)
	if err != nil || !hasBody {
		return err
	}
	f.Body, err = r.ReadBody(f.Body[:0])
	if err != nil {
		return err
	}
	f.Flag = r.flag
	return nil
}

func (r *Reader) consumeBody(n int) error {
	if _, err := r.br.Discard(n); err != nil {
		return &ParseError{Reason: "discard: " + err.Error(), fatal: true}
	}
	r.bodyN += int64(n)
	if r.bodyN > r.bodyMax {
		what := limitChunk
		if r.bodyMax == r.lim.MaxNonSendBody {
			what = limitBody
		}
		// Report at once; the next Next discards the rest, so a peer
		// that keeps sending is answered before its body ends.
		return &LimitError{What: what, Limit: r.bodyMax}
	}
	return nil
}

// scanBody returns the next run of buffered body bytes without consuming
// them, or io.EOF after consuming the end-line.
func (r *Reader) scanBody() ([]byte, error) {
	// From anywhere inside a body at least the end-line remains, so
	// waiting for that many bytes never waits for more than the peer sent.
	need := len(r.pattern) + 3
	if _, err := r.br.Peek(need); err != nil {
		return nil, &ParseError{Reason: "stream ended inside a body: " + err.Error(), fatal: true}
	}
	buf, _ := r.br.Peek(r.br.Buffered())
	if r.bodyN == 0 && bytes.HasPrefix(buf, r.pattern[2:]) && isFlag(buf[len(r.pattern)-2]) &&
		buf[len(r.pattern)-1] == '\r' && buf[len(r.pattern)] == '\n' {
		// An empty body whose CRLF before the end-line was left out.
		_, _ = r.br.Discard(need - 2)
		r.flag = buf[len(r.pattern)-2]
		r.state = stateIdle
		return nil, io.EOF
	}
	i := bytes.Index(buf, r.pattern)
	if i == 0 {
		fl := buf[len(r.pattern)]
		if isFlag(fl) && buf[len(r.pattern)+1] == '\r' && buf[len(r.pattern)+2] == '\n' {
			// RFC 4975 section 7.1: the CRLF before the end-line is not
			// part of the content.
			_, _ = r.br.Discard(need)
			r.flag = fl
			r.state = stateIdle
			return nil, io.EOF
		}
		// Looks like an end-line but is not one: it is content.
		if j := bytes.Index(buf[1:], r.pattern); j >= 0 {
			return buf[:1+j], nil
		}
		return buf[:max(1, len(buf)-len(r.pattern)+1)], nil
	}
	if i > 0 {
		return buf[:i], nil
	}
	// Keep back a tail that could be the start of the end-line.
	return buf[:len(buf)-len(r.pattern)+1], nil
}

func (r *Reader) discardBody() error {
	for r.state == stateBody {
		data, err := r.scanBody()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := r.br.Discard(len(data)); err != nil {
			return &ParseError{Reason: "discard: " + err.Error(), fatal: true}
		}
		r.bodyN += int64(len(data))
	}
	return nil
}

func isFlag(c byte) bool { return c == FlagEnd || c == FlagMore || c == FlagAbort }

// startLineTID returns the transaction id of "MSRP <tid> ...".
func startLineTID(line []byte) ([]byte, bool) {
	if !bytes.HasPrefix(line, []byte("MSRP ")) {
		return nil, false
	}
	rest := line[5:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return nil, false
	}
	tid := rest[:sp]
	if !validTID(tid) {
		return nil, false
	}
	return tid, true
}

// validTID: transact-id = ident = ALPHANUM 3*31ident-char, with
// ident-char = ALPHANUM / "." / "-" / "+" / "%" / "=" (RFC 4975 section 9).
func validTID[T string | []byte](tid T) bool {
	if len(tid) < minTIDLen || len(tid) > maxTIDLen || !isAlnum(tid[0]) {
		return false
	}
	for i := 1; i < len(tid); i++ {
		c := tid[i]
		if !isAlnum(c) && c != '.' && c != '-' && c != '+' && c != '%' && c != '=' {
			return false
		}
	}
	return true
}

// parseStartLine fills the transaction id and method or status of f from
// "MSRP tid METHOD\r\n" or "MSRP tid 200 OK\r\n".
func parseStartLine(line string, f *Frame) error {
	line = strings.TrimSuffix(line[5:], "\r\n")
	tid, rest, _ := strings.Cut(line, " ")
	f.TransactionID = tid
	if len(rest) >= 3 && isDigit(rest[0]) && isDigit(rest[1]) && isDigit(rest[2]) && (len(rest) == 3 || rest[3] == ' ') {
		f.StatusCode = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
		if len(rest) > 4 {
			f.Comment = rest[4:]
		}
		if f.StatusCode < 100 {
			return &ParseError{Offset: 5 + len(tid) + 1, Reason: "bad status code", fatal: true}
		}
		return nil
	}
	if rest == "" {
		return &ParseError{Offset: 5 + len(tid) + 1, Reason: "missing method", fatal: true}
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < 'A' || rest[i] > 'Z' {
			return &ParseError{Offset: 5 + len(tid) + 1 + i, Reason: "bad method", fatal: true}
		}
	}
	f.Method = rest
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func requiredHeaders(f *Frame) error {
	switch {
	case f.ToPath == "":
		return &ParseError{Header: "To-Path", Reason: "missing"}
	case f.FromPath == "":
		return &ParseError{Header: "From-Path", Reason: "missing"}
	}
	return nil
}
