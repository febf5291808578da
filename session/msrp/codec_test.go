package msrp

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite golden files from the serializer")

// readAll parses every frame of data, reading through r.
func readAll(t testing.TB, r io.Reader) []Frame {
	t.Helper()
	rd := NewReader(r, Limits{})
	var out []Frame
	for {
		var f Frame
		err := rd.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		out = append(out, f)
	}
}

// splitReader returns the data in pieces of random sizes.
type splitReader struct {
	data []byte
	rng  *rand.Rand
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + s.rng.IntN(min(len(s.data), len(p), 17))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

func TestGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/*.msrp")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		if filepath.Base(file) == "fake_endline.msrp" {
			continue // its body holds its own end-line: parse-only
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			frames := readAll(t, bytes.NewReader(data))
			var out []byte
			for i := range frames {
				if out, err = AppendFrame(out, &frames[i]); err != nil {
					t.Fatal(err)
				}
			}
			if *update {
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("serialized differs from golden:\n%q\nwant\n%q", out, data)
			}
			// Any split of the stream gives the same frames.
			oneByte := readAll(t, iotest.OneByteReader(bytes.NewReader(data)))
			random := readAll(t, &splitReader{data: data, rng: rand.New(rand.NewPCG(1, 2))})
			if !reflect.DeepEqual(frames, oneByte) || !reflect.DeepEqual(frames, random) {
				t.Fatal("frames differ with another split of the stream")
			}
		})
	}
}

func TestGoldenFields(t *testing.T) {
	tests := []struct {
		file  string
		index int
		check func(t *testing.T, f *Frame)
	}{
		{"send_simple.msrp", 0, func(t *testing.T, f *Frame) {
			want := Frame{
				TransactionID: "a786hjs2", Method: "SEND",
				ToPath:      "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp",
				FromPath:    "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
				MessageID:   "87652491",
				ByteRange:   ByteRange{1, 25, 25},
				ContentType: "text/plain",
				Body:        []byte("Hey Bob, are you there?"),
				Flag:        FlagEnd,
			}
			if !reflect.DeepEqual(*f, want) {
				t.Fatalf("got %+v\nwant %+v", *f, want)
			}
		}},
		{"send_simple.msrp", 1, func(t *testing.T, f *Frame) {
			if f.IsRequest() || f.StatusCode != 200 || f.Comment != "OK" || f.Body != nil {
				t.Fatalf("response: %+v", f)
			}
		}},
		{"send_chunked.msrp", 0, func(t *testing.T, f *Frame) {
			if f.ByteRange != (ByteRange{1, Unknown, 8}) || f.Flag != FlagMore || string(f.Body) != "abcd" {
				t.Fatalf("first chunk: %+v", f)
			}
		}},
		{"send_chunked.msrp", 1, func(t *testing.T, f *Frame) {
			if f.ByteRange != (ByteRange{5, 8, 8}) || f.Flag != FlagEnd || string(f.Body) != "EFGH" {
				t.Fatalf("last chunk: %+v", f)
			}
		}},
		{"report.msrp", 0, func(t *testing.T, f *Frame) {
			if f.SuccessReport != ReportYes || f.FailureReport != ReportNo {
				t.Fatalf("reports: %+v", f)
			}
		}},
		{"report.msrp", 1, func(t *testing.T, f *Frame) {
			if f.Method != MethodREPORT || f.Status != (Status{0, 200, "OK"}) || f.Body != nil {
				t.Fatalf("report: %+v", f)
			}
		}},
		{"auth_relay.msrp", 1, func(t *testing.T, f *Frame) {
			if f.StatusCode != 401 || !strings.HasPrefix(f.WWWAuthenticate, `Digest realm="intra.example.com"`) {
				t.Fatalf("401: %+v", f)
			}
		}},
		{"auth_relay.msrp", 3, func(t *testing.T, f *Frame) {
			if f.UsePath != "msrps://intra.example.com:9000/jui787s2f;tcp" || f.Expires != (Seconds{600, true}) || f.AuthenticationInfo == "" {
				t.Fatalf("200: %+v", f)
			}
		}},
		{"auth_relay.msrp", 4, func(t *testing.T, f *Frame) {
			if f.StatusCode != 423 || f.MinExpires != (Seconds{1200, true}) {
				t.Fatalf("423: %+v", f)
			}
		}},
		{"extension_headers.msrp", 0, func(t *testing.T, f *Frame) {
			want := []Header{
				{"X-Custom", "kept in order"},
				{"Content-ID", "<f81d4fae@example.com>"},
				{"Content-Description", "an empty file"},
				{"Content-Disposition", `attachment; filename="empty.txt"`},
			}
			if !reflect.DeepEqual(f.Headers, want) || f.FailureReport != ReportPartial || f.ByteRange != (ByteRange{1, 0, 0}) || len(f.Body) != 0 {
				t.Fatalf("extension headers: %+v", f)
			}
			if v, ok := f.Header("content-disposition"); !ok || !strings.HasPrefix(v, "attachment") {
				t.Fatalf("Header lookup: %q %v", v, ok)
			}
		}},
		{"extension_headers.msrp", 1, func(t *testing.T, f *Frame) {
			if f.HasBody() || f.ContentType != "" {
				t.Fatalf("bodiless SEND: %+v", f)
			}
		}},
		{"extension_headers.msrp", 2, func(t *testing.T, f *Frame) {
			if f.Method != "FOO" {
				t.Fatalf("unknown method kept: %+v", f)
			}
		}},
		{"fake_endline.msrp", 0, func(t *testing.T, f *Frame) {
			want := "a body with a fake end-line\r\n-------xk39aa04Z\r\nand dashes -------xk39aa0 inside"
			if string(f.Body) != want || f.Flag != FlagAbort {
				t.Fatalf("body %q flag %c", f.Body, f.Flag)
			}
			if _, err := AppendFrame(nil, f); !errors.Is(err, ErrEndLineInBody) {
				t.Fatalf("serializer accepted a body with its own end-line: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			frames := readAll(t, bytes.NewReader(data))
			if tc.index >= len(frames) {
				t.Fatalf("only %d frames", len(frames))
			}
			tc.check(t, &frames[tc.index])
		})
	}
}

const (
	okHead = "MSRP abcd1234 SEND\r\nTo-Path: msrp://b.example.com:1/s;tcp\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\n"
	next   = "MSRP next5678 SEND\r\nTo-Path: msrp://b.example.com:1/s;tcp\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\nMessage-ID: after\r\n-------next5678$\r\n"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		lim    Limits
		fatal  bool
		status int
		tid    string // transaction id the caller can answer
	}{
		{"bad start line", "HTTP/1.1 200 OK\r\n\r\n", Limits{}, true, 400, ""},
		{"short tid", "MSRP abc SEND\r\n", Limits{}, true, 400, ""},
		{"lowercase method", "MSRP abcd1234 send\r\n", Limits{}, true, 400, ""},
		{"bare LF", "MSRP abcd1234 SEND\n", Limits{}, true, 400, ""},
		{"eof in headers", okHead, Limits{}, true, 400, ""},
		{"eof in body", okHead + "Content-Type: text/plain\r\n\r\nabc", Limits{}, true, 400, ""},
		{"bad end-line flag", okHead + "-------abcd1234X\r\n", Limits{}, true, 400, ""},
		{"missing To-Path", "MSRP abcd1234 SEND\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"bad byte-range", okHead + "Byte-Range: 0-1/1\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"bad failure-report", okHead + "Failure-Report: maybe\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"bad status", "MSRP abcd1234 REPORT\r\nTo-Path: msrp://b.example.com:1/s;tcp\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\nStatus: 0 200\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"duplicate header", okHead + "Message-ID: one1\r\nMessage-ID: two2\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"header without colon", okHead + "Garbage\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"body without content-type", okHead + "\r\nhello\r\n-------abcd1234$\r\n" + next, Limits{}, false, 400, "abcd1234"},
		{"too many headers", okHead + strings.Repeat("X-A: b\r\n", 10) + "Content-Type: text/plain\r\n\r\nbody\r\n-------abcd1234$\r\n" + next, Limits{MaxHeaders: 5}, false, 400, "abcd1234"},
		{"header bytes", okHead + "X-Long: " + strings.Repeat("x", 300) + "\r\n-------abcd1234$\r\n" + next, Limits{MaxHeaderBytes: 200}, false, 400, "abcd1234"},
		{"header bytes with body", okHead + "X-Long: " + strings.Repeat("x", 300) + "\r\nContent-Type: a/b\r\n\r\nxx\r\n-------abcd1234$\r\n" + next, Limits{MaxHeaderBytes: 200}, false, 400, "abcd1234"},
		{"chunk too large", okHead + "Content-Type: text/plain\r\n\r\n" + strings.Repeat("y", 100) + "\r\n-------abcd1234+\r\n" + next, Limits{MaxChunk: 50}, false, 413, "abcd1234"},
		{"report body too large", "MSRP abcd1234 REPORT\r\nTo-Path: msrp://b.example.com:1/s;tcp\r\nFrom-Path: msrp://a.example.com:2/t;tcp\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("y", 100) + "\r\n-------abcd1234$\r\n" + next, Limits{MaxNonSendBody: 64}, false, 413, "abcd1234"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.input), tc.lim)
			var f Frame
			err := rd.ReadFrame(&f)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			if errors.Is(err, ErrFraming) != tc.fatal {
				t.Fatalf("fatal = %v, want %v: %v", !tc.fatal, tc.fatal, err)
			}
			if got := StatusOf(err); got != tc.status {
				t.Fatalf("status %d, want %d: %v", got, tc.status, err)
			}
			if tc.fatal {
				return
			}
			if f.TransactionID != tc.tid {
				t.Fatalf("tid %q, want %q", f.TransactionID, tc.tid)
			}
			// Paths that came before the fault are there to answer it,
			// whatever the fault (header limits included).
			if strings.HasPrefix(tc.input, okHead) && (f.ToPath == "" || f.FromPath == "") {
				t.Fatalf("paths not filled in: To-Path %q, From-Path %q", f.ToPath, f.FromPath)
			}
			// The reader stays in step: the next frame parses.
			var g Frame
			if err := rd.ReadFrame(&g); err != nil || g.MessageID != "after" {
				t.Fatalf("next frame: %v %+v", err, g)
			}
		})
	}
}

// TestFaultBeforeFrameEnds: a frame over a limit, or refused for its
// headers, is reported as soon as the fault is seen, with its paths, not
// once the peer has sent the rest of it: a peer that stalls after the
// fault (here: any read past it fails) still gets its answer.
func TestFaultBeforeFrameEnds(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		input  string
		lim    Limits
		status int
	}{
		{"header line past the limit, unfinished", okHead + "X-Long: " + long, Limits{MaxHeaderBytes: 200}, 400},
		{"header lines past the limit", okHead + "X-Long: " + long + "\r\nX-More: y", Limits{MaxHeaderBytes: 200}, 400},
		{"too many headers", okHead + strings.Repeat("X-A: b\r\n", 6), Limits{MaxHeaders: 5}, 400},
		{"chunk past the limit", okHead + "Content-Type: text/plain\r\n\r\n" + long, Limits{MaxChunk: 50}, 413},
		{"body without content-type", okHead + "\r\nhello", Limits{}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stalled := errors.New("read past the fault")
			rd := NewReader(io.MultiReader(strings.NewReader(tc.input), iotest.ErrReader(stalled)), tc.lim)
			var f Frame
			err := rd.ReadFrame(&f)
			if err == nil || errors.Is(err, ErrFraming) || StatusOf(err) != tc.status {
				t.Fatalf("got %v (status %d), want a status %d before the frame ends", err, StatusOf(err), tc.status)
			}
			if f.TransactionID != "abcd1234" || f.ToPath == "" || f.FromPath == "" {
				t.Fatalf("not answerable: %+v", f)
			}
			// The rest never comes: the next frame is where the stall shows.
			if err := rd.ReadFrame(&f); !errors.Is(err, ErrFraming) {
				t.Fatalf("after the stall: %v", err)
			}
		})
	}
}

// TestSkipCutHeaderLine: when the header limit cuts a line, the rest of
// that line is skipped as part of it even when it looks like the end-line.
func TestSkipCutHeaderLine(t *testing.T) {
	// Bytes arrive one by one, so the cut falls just past the limit: the
	// rest of the line is then exactly an end-line.
	const limit = 200
	x := strings.Repeat("x", limit+1-len(okHead)-len("X-Long: "))
	in := okHead + "X-Long: " + x + "-------abcd1234$\r\n" + "-------abcd1234$\r\n" + next
	rd := NewReader(iotest.OneByteReader(strings.NewReader(in)), Limits{MaxHeaderBytes: limit})
	var f Frame
	if err := rd.ReadFrame(&f); StatusOf(err) != 400 || errors.Is(err, ErrFraming) {
		t.Fatalf("got %v", err)
	}
	if err := rd.ReadFrame(&f); err != nil || f.MessageID != "after" {
		t.Fatalf("next frame: %v %+v", err, f)
	}
}

func TestStreamingBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef\r\n-------"), 40000) // ~1 MB, dashes everywhere
	f := Frame{Method: MethodSEND, ToPath: "msrp://b.example.com:1/s;tcp", FromPath: "msrp://a.example.com:2/t;tcp",
		MessageID: "big1", ByteRange: ByteRange{1, int64(len(body)), int64(len(body))}, ContentType: "application/octet-stream", Body: body}
	SealTransactionID(&f, body)
	wire, err := AppendFrame(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	rd := NewReader(iotest.HalfReader(bytes.NewReader(wire)), Limits{})
	var g Frame
	hasBody, err := rd.Next(&g)
	if err != nil || !hasBody {
		t.Fatalf("next: %v %v", hasBody, err)
	}
	// Read in small pieces: the reader never needs the whole body.
	var got bytes.Buffer
	buf := make([]byte, 1000)
	for {
		n, err := rd.Read(buf)
		got.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), body) || rd.Flag() != FlagEnd {
		t.Fatalf("body of %d bytes differs (got %d), flag %c", len(body), got.Len(), rd.Flag())
	}
}

func TestEmptyBodyWithoutCRLF(t *testing.T) {
	// Grammar: Content-Type 2CRLF data CRLF end-line. Some peers omit the
	// CRLF of an empty body; accept it.
	in := okHead + "Content-Type: text/plain\r\n\r\n-------abcd1234$\r\n" + next
	rd := NewReader(strings.NewReader(in), Limits{})
	var f Frame
	if err := rd.ReadFrame(&f); err != nil || len(f.Body) != 0 || f.Flag != FlagEnd {
		t.Fatalf("%v %+v", err, f)
	}
	if err := rd.ReadFrame(&f); err != nil || f.MessageID != "after" {
		t.Fatalf("%v %+v", err, f)
	}
}

func TestNextSkipsUnreadBody(t *testing.T) {
	data, err := os.ReadFile("testdata/send_chunked.msrp")
	if err != nil {
		t.Fatal(err)
	}
	rd := NewReader(bytes.NewReader(data), Limits{})
	var f Frame
	if has, err := rd.Next(&f); err != nil || !has {
		t.Fatal(has, err)
	}
	if has, err := rd.Next(&f); err != nil || !has || f.TransactionID != "dkei38ia" {
		t.Fatal(has, err, f.TransactionID)
	}
}

func TestSealTransactionID(t *testing.T) {
	f := Frame{Method: MethodSEND}
	SealTransactionID(&f, []byte("x"))
	if !validTID(f.TransactionID) || len(f.TransactionID) != 16 {
		t.Fatalf("tid %q", f.TransactionID)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if seen[id] {
			t.Fatalf("repeated id %s", id)
		}
		seen[id] = true
	}
}

func TestByteRange(t *testing.T) {
	tests := []struct {
		in   string
		want ByteRange
		ok   bool
	}{
		{"1-25/25", ByteRange{1, 25, 25}, true},
		{"1-*/*", ByteRange{1, Unknown, Unknown}, true},
		{"1-0/0", ByteRange{1, 0, 0}, true},
		{"5-*/8", ByteRange{5, Unknown, 8}, true},
		{"1025-2048/*", ByteRange{1025, 2048, Unknown}, true},
		{"0-1/1", ByteRange{}, false},
		{"3-1/5", ByteRange{}, false},
		{"1-9/5", ByteRange{}, false},
		{"1-2", ByteRange{}, false},
		{"*-2/2", ByteRange{}, false},
		{"1-2/x", ByteRange{}, false},
		{"1-2/9999999999999999999999", ByteRange{}, false},
		{"", ByteRange{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseByteRange(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("got %+v, %v", got, err)
			}
			if tc.ok && got.String() != tc.in {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

func TestURI(t *testing.T) {
	tests := []struct {
		in   string
		want URI
		ok   bool
	}{
		{"msrp://atlanta.example.com:7654/jshA7weztas;tcp", URI{Host: "atlanta.example.com", Port: 7654, SessionID: "jshA7weztas", Transport: "tcp"}, true},
		{"msrps://alice@intra.example.com;tcp", URI{Secure: true, User: "alice", Host: "intra.example.com", Transport: "tcp"}, true},
		{"msrp://[2001:db8::1]:2855/a+b=c/d;tcp;foo=bar", URI{Host: "2001:db8::1", Port: 2855, SessionID: "a+b=c/d", Transport: "tcp", Params: []string{"foo=bar"}}, true},
		{"MSRP://10.0.0.1/x;TCP", URI{Host: "10.0.0.1", SessionID: "x", Transport: "TCP"}, true},
		{"sip://a.example.com;tcp", URI{}, false},
		{"msrp://a.example.com/x", URI{}, false},
		{"msrp://a.example.com:0/x;tcp", URI{}, false},
		{"msrp://a.example.com:99999/x;tcp", URI{}, false},
		{"msrp://:80/x;tcp", URI{}, false},
		{"msrp://a.example.com//;tcp", URI{Host: "a.example.com", SessionID: "/", Transport: "tcp"}, true},
		{"msrp://a b/x;tcp", URI{}, false},
		{"msrp://[::1/x;tcp", URI{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if !tc.ok {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v", got)
			}
			again, err := ParseURI(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip %q: %+v %v", got.String(), again, err)
			}
		})
	}
}

func TestURIEqual(t *testing.T) {
	a, _ := ParseURI("msrp://Atlanta.Example.com:7654/jshA7weztas;TCP")
	b, _ := ParseURI("msrp://atlanta.example.com:7654/jshA7weztas;tcp")
	c, _ := ParseURI("msrp://atlanta.example.com:7654/JSHA7WEZTAS;tcp")
	d, _ := ParseURI("msrp://atlanta.example.com/jshA7weztas;tcp")
	if !a.Equal(b) || a.Equal(c) || b.Equal(d) {
		t.Fatal("RFC 4975 section 6.1 comparison rules broken")
	}
	if b.Addr() != "atlanta.example.com:7654" || d.Addr() != "atlanta.example.com:2855" {
		t.Fatal("Addr")
	}
	p, err := ParsePath("msrp://r.example.com:2855/r1;tcp  msrp://b.example.com:1/s;tcp")
	if err != nil || len(p) != 2 || FormatPath(p) != "msrp://r.example.com:2855/r1;tcp msrp://b.example.com:1/s;tcp" || !PathEqual(p, p) || PathEqual(p, p[:1]) {
		t.Fatalf("path: %v %v", p, err)
	}
}

// TestReportValuesAnyCase: Success-Report and Failure-Report values are
// ABNF quoted strings, case-insensitive (RFC 5234 section 2.3).
func TestReportValuesAnyCase(t *testing.T) {
	tests := []struct {
		name             string
		header           string
		success, failure Report
	}{
		{"Yes", "Success-Report: Yes\r\n", ReportYes, ReportUnset},
		{"NO", "Success-Report: NO\r\nFailure-Report: NO\r\n", ReportNo, ReportNo},
		{"Partial", "Failure-Report: Partial\r\n", ReportUnset, ReportPartial},
		{"yEs", "Failure-Report: yEs\r\n", ReportUnset, ReportYes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(okHead+"Message-ID: msg0001\r\n"+tc.header+"-------abcd1234$\r\n"), Limits{})
			var f Frame
			if err := rd.ReadFrame(&f); err != nil {
				t.Fatal(err)
			}
			if f.SuccessReport != tc.success || f.FailureReport != tc.failure {
				t.Fatalf("success %v failure %v, want %v %v", f.SuccessReport, f.FailureReport, tc.success, tc.failure)
			}
		})
	}
}
