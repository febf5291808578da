package smpp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/pdu"

	"iwf/internal/testutil"
)

func vectorSeeds(f *testing.F) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "pdu", "*.hex"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no vectors: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		_, frame := readVector(f, filepath.Base(n))
		out = append(out, frame)
	}
	return out
}

// FuzzDecodeMessage: whatever DecodeMessage accepts, AppendMessage writes
// back to the same bytes, and that decodes to the same Message.
func FuzzDecodeMessage(f *testing.F) {
	for _, v := range vectorSeeds(f) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeMessage(frame)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || StatusOf(err) == StatusOK {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(frame) > DefaultMaxPDULen {
			return // readFrame never hands over more
		}
		h := parseHeader(frame)
		out, err := AppendMessage(nil, h.Command, h.Seq, m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v\n%+v", err, m)
		}
		// command_status (bytes 8..12) is not part of a Message.
		if !bytes.Equal(out[:8], frame[:8]) || !bytes.Equal(out[12:], frame[12:]) {
			t.Fatalf("re-encoded\n%x\nfrom\n%x", out, frame)
		}
		m2, err := DecodeMessage(out)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip\n%+v\n%+v", m, m2)
		}
	})
}

// fuzzConn feeds fixed bytes to the server and records what it writes.
type fuzzConn struct {
	r   *bytes.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *fuzzConn) Read(b []byte) (int, error) { return c.r.Read(b) }
func (c *fuzzConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(b)
}
func (c *fuzzConn) Close() error        { return nil }
func (c *fuzzConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2775} }
func (c *fuzzConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServerConn feeds arbitrary bytes to the server's connection reader:
// no panic, no hang, and everything written back is a well-formed response
// to a request that came in: the connection is answered or closed.
func FuzzServerConn(f *testing.F) {
	bind := pdu.NewBindRequest(pdu.Transceiver)
	bind.SystemID, bind.Password = "fuzz", "pw"
	bindFrame := marshal(bind, 1)
	seeds := [][]byte{
		bindFrame,
		append(append([]byte{}, bindFrame...), marshal(pdu.NewEnquireLink(), 2)...),
		append(append([]byte{}, bindFrame...), marshal(pdu.NewUnbind(), 3)...),
		append(append([]byte{}, bindFrame...), headerOnly(0x777, 0, 4)...),
		append(append([]byte{}, bindFrame...), appendHeader(nil, header{Length: 8, Command: CmdSubmitSM, Seq: 5})...),
		append(append([]byte{}, bindFrame...), bindFrame...),
		headerOnly(CmdSubmitSM, 0, 6),
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
	for _, v := range vectorSeeds(f) {
		seeds = append(seeds, append(append([]byte{}, bindFrame...), v...))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	cfg := serverConfig(ServerPartner{Name: "fuzz", SystemID: "fuzz", Password: "pw", Window: 4})
	cfg.ResponseTimeout = 50 * time.Millisecond
	srv, err := NewServer(ln, cfg, SubmitHandlerFunc(func(context.Context, string, *Message) (string, error) {
		return "id", nil
	}), testutil.Logger(f))
	if err != nil {
		f.Fatal(err)
	}
	// Every input binds from one address, most with a wrong password:
	// the back-off after failed binds must not turn into real waits.
	srv.guard.clk = newFakeClock()
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &fuzzConn{r: bytes.NewReader(in)}
		srv.serve(t.Context(), c, c)
		srv.wg.Wait()
		requests := countRequests(in)
		out := bytes.NewReader(c.out.Bytes())
		answers := 0
		for {
			frame, err := readFrame(out, nil, DefaultMaxPDULen)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("server wrote a malformed PDU: %v\n%x", err, c.out.Bytes())
			}
			if h := parseHeader(frame); h.Command&respBit == 0 {
				t.Fatalf("server wrote request %s", CommandName(h.Command))
			}
			answers++
		}
		if answers > requests.total {
			t.Fatalf("%d answers to %d requests", answers, requests.total)
		}
		if requests.firstIsRequest && answers == 0 {
			t.Fatalf("first request unanswered")
		}
	})
}

type requestCount struct {
	total          int
	firstIsRequest bool
}

// countRequests counts the request PDUs (and the first bad length, which
// is answered too) in a byte stream.
func countRequests(in []byte) requestCount {
	var rc requestCount
	for i := 0; len(in) >= HeaderLen; i++ {
		h := parseHeader(in)
		if h.Length < HeaderLen || h.Length > DefaultMaxPDULen {
			rc.total++
			rc.firstIsRequest = rc.firstIsRequest || i == 0
			return rc
		}
		if int(h.Length) > len(in) {
			return rc
		}
		if h.Command&respBit == 0 {
			rc.total++
			rc.firstIsRequest = rc.firstIsRequest || i == 0
		}
		in = in[h.Length:]
	}
	return rc
}

// FuzzDecodeDataSM: whatever DecodeDataSM accepts, written back field by
// field as SMPP 3.4 4.7.1 lays data_sm out, decodes to the same Message.
func FuzzDecodeDataSM(f *testing.F) {
	f.Add(pduOf(CmdDataSM, 1, dataSM("4915112345678", "4917612345678", TLV{Tag: 0x0424, Value: []byte("hello")})))
	f.Add(pduOf(CmdDataSM, 2, dataSM("", "BANK")))
	f.Add(pduOf(CmdDataSM, 3, dataSM("1", "2", TLV{Tag: 0x0424, Value: nil}, TLV{Tag: 0x0204, Value: []byte{1, 2}})))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeDataSM(frame)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || StatusOf(err) == StatusOK {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		p := (&body{}).cstr(m.ServiceType).u8(m.Source.TON, m.Source.NPI).cstr(m.Source.Addr).
			u8(m.Dest.TON, m.Dest.NPI).cstr(m.Dest.Addr).u8(m.ESMClass, m.RegisteredDelivery, m.DataCoding)
		for _, tl := range m.TLVs {
			p.tlv(tl.Tag, tl.Value)
		}
		h := parseHeader(frame)
		out := pduOf(CmdDataSM, h.Seq, p)
		if !bytes.Equal(out[16:], frame[16:]) {
			t.Fatalf("re-encoded\n%x\nfrom\n%x", out, frame)
		}
		m2, err := DecodeDataSM(out)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("second decode %v\n%+v\n%+v", err, m, m2)
		}
	})
}
