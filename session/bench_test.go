package session_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"iwf/session"
	"iwf/session/msrp"
	"iwf/session/msrptest"
)

// discardSink counts the bytes of a streamed message.
type discardSink struct{ n int64 }

func (d *discardSink) WriteAt(p []byte, _ int64) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}

// BenchmarkTransfer100MB sends 100 MB over an MSRP session on loopback
// and, in the same run, copies 100 MB over a plain loopback TCP
// connection with the buffer sizes our connections use (rawCopy); "ratio"
// is MSRP throughput over raw TCP throughput.
func BenchmarkTransfer100MB(b *testing.B) {
	const size = 100 << 20
	// Binary content, like the photos and videos of RCS file transfer.
	content := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(content)
	a := msrptest.NewEndpoint(b, session.Config{})
	bb := msrptest.NewEndpoint(b, session.Config{MaxMessageSize: 1 << 30})
	ctx := context.Background()
	done := make(chan int64, 1)
	sa, err := a.NewSession(ctx, session.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := bb.NewSession(ctx, session.SessionOptions{AcceptTypes: []string{"*"},
		NewSink: func(*session.Message) (session.Sink, error) { return &discardSink{}, nil },
		Handler: session.HandlerFuncs{Message: func(_ context.Context, _ *session.Session, m *session.Message) error {
			done <- m.Size
			return nil
		}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
		b.Fatal(err)
	}
	if err := sa.Connect(ctx, sb.LocalPath(), true); err != nil {
		b.Fatal(err)
	}
	var msrpTime, rawTime time.Duration
	b.SetBytes(size)
	for b.Loop() {
		start := time.Now()
		if _, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "application/octet-stream", Body: content}); err != nil {
			b.Fatal(err)
		}
		if n := <-done; n != size {
			b.Fatalf("received %d", n)
		}
		msrpTime += time.Since(start)
		rawTime += rawCopy(b, content)
	}
	b.ReportMetric(float64(rawTime)/float64(msrpTime), "ratio")
	b.ReportMetric(float64(size)*float64(b.N)/msrpTime.Seconds()/1e6, "msrp-MB/s")
	b.ReportMetric(float64(size)*float64(b.N)/rawTime.Seconds()/1e6, "raw-MB/s")
}

// The buffer sizes of an MSRP connection, which the raw baseline uses too:
// a message alone on its connection goes out in writes of a solo chunk
// (the 64 KiB write buffer passes a larger write straight to the socket),
// and the receiver reads through a 64 KiB buffer (msrp.NewReader's).
// io.Copy into io.Discard would read 8 KiB at a time: a slower baseline
// that flatters the ratio.
var rawWriteSize = session.DefaultConfig().SoloChunkSize

const rawReadSize = 64 << 10

// rawCopy is the baseline: the same bytes over loopback TCP, written in
// rawWriteSize pieces and read into a rawReadSize buffer.
func rawCopy(b *testing.B, content []byte) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		buf := make([]byte, rawReadSize)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		c.Close()
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for off := 0; off < len(content); off += rawWriteSize {
		if _, err := c.Write(content[off:min(off+rawWriteSize, len(content))]); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if n := <-got; n != int64(len(content)) {
		b.Fatalf("raw copy got %d", n)
	}
	return time.Since(start)
}

// BenchmarkIdleSessionMemory reports the heap held by one connected,
// idle session (both ends counted once each: per-session bytes).
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 500
	a := msrptest.NewEndpoint(b, session.Config{})
	bb := msrptest.NewEndpoint(b, session.Config{})
	ctx := context.Background()
	for b.Loop() {
		sessions := make([]*session.Session, 0, 2*n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			sa, err := a.NewSession(ctx, session.SessionOptions{})
			if err != nil {
				b.Fatal(err)
			}
			sb, err := bb.NewSession(ctx, session.SessionOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
				b.Fatal(err)
			}
			if err := sa.Connect(ctx, sb.LocalPath(), true); err != nil {
				b.Fatal(err)
			}
			sessions = append(sessions, sa, sb)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(sessions)), "B/idle-session")
		for _, s := range sessions {
			s.Close()
		}
	}
}

// BenchmarkReceiveSmallMessages: one-chunk text messages from a raw peer
// on one session, kept in memory (parse, route, reassemble, handler,
// 200): 64 in flight, the peer reading and dropping the responses.
func BenchmarkReceiveSmallMessages(b *testing.B) {
	// 64 in flight: the receiver must queue them all, or the ones past
	// its default 32 are answered 503, never handled, and the final
	// wait below never ends.
	ep := msrptest.NewEndpoint(b, session.Config{MaxQueuedMessages: 1024})
	ctx := context.Background()
	got := make(chan struct{}, 128)
	s, err := ep.NewSession(ctx, session.SessionOptions{Handler: session.HandlerFuncs{
		Message: func(context.Context, *session.Session, *session.Message) error {
			got <- struct{}{}
			return nil
		}}})
	if err != nil {
		b.Fatal(err)
	}
	peer := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "benchpeer", Transport: "tcp"}
	if err := s.Connect(ctx, []msrp.URI{peer}, false); err != nil {
		b.Fatal(err)
	}
	p := msrptest.Dial(b, s.LocalURI().Addr())
	go io.Copy(io.Discard, p.Conn) // ends with the connection
	body := []byte("Hey Bob, are you there?")
	f := msrp.Frame{Method: msrp.MethodSEND, TransactionID: "tid00001", MessageID: "msg00001",
		ToPath: s.LocalURI().String(), FromPath: peer.String(), ContentType: "text/plain",
		ByteRange: msrp.ByteRange{Start: 1, End: int64(len(body)), Total: int64(len(body))}, Body: body, Flag: msrp.FlagEnd}
	frame, err := msrp.AppendFrame(nil, &f)
	if err != nil {
		b.Fatal(err)
	}
	const inFlight = 64
	for range inFlight {
		if _, err := p.Conn.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Conn.Write(frame); err != nil {
			b.Fatal(err)
		}
		<-got
	}
	for range inFlight {
		<-got
	}
}

// smallPair connects two sessions on loopback for the small-message
// benchmarks and returns the sending one.
func smallPair(b *testing.B) *session.Session {
	a := msrptest.NewEndpoint(b, session.Config{})
	// The receiver may queue every message in flight: a 503 for its
	// full queue is not what is measured here.
	bb := msrptest.NewEndpoint(b, session.Config{MaxQueuedMessages: 1024})
	ctx := context.Background()
	sa, err := a.NewSession(ctx, session.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := bb.NewSession(ctx, session.SessionOptions{AcceptTypes: []string{"*"},
		Handler: session.HandlerFuncs{Message: func(context.Context, *session.Session, *session.Message) error { return nil }}})
	if err != nil {
		b.Fatal(err)
	}
	if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
		b.Fatal(err)
	}
	if err := sa.Connect(ctx, sb.LocalPath(), true); err != nil {
		b.Fatal(err)
	}
	return sa
}

// smallBody is a one-chunk CPIM message of SMS length.
var smallBody = []byte("From: <sip:+447700900456@iwf.example>\r\nTo: <sip:+447700900123@iwf.example>\r\n" +
	"DateTime: 2025-03-01T12:00:00Z\r\n\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n" +
	"Benchmark message of a typical SMS length, about one hundred bytes long.")

// BenchmarkSendSmallMessages is the worker's send over MSRP: one-chunk
// CPIM messages from one session to another on loopback, each Send
// returning once the peer's 200 arrived, 64 senders at once on the one
// session (the messages of many conversations share a connection).
func BenchmarkSendSmallMessages(b *testing.B) {
	sa := smallPair(b)
	ctx := context.Background()
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "message/cpim", Body: smallBody}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkQueueSmallMessages is the worker's pipelined send: the same
// messages as BenchmarkSendSmallMessages, queued from one goroutine (one
// conversation) with up to 64 awaiting their 200, each outcome taken in
// queue order.
func BenchmarkQueueSmallMessages(b *testing.B) {
	sa := smallPair(b)
	ctx := context.Background()
	const inFlight = 64
	ring := make([]*session.Pending, 0, inFlight)
	wait := func(p *session.Pending) {
		if _, err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if len(ring) == inFlight {
			wait(ring[i%inFlight])
			ring[i%inFlight] = nil
		}
		p, err := sa.Queue(ctx, &session.OutgoingMessage{ContentType: "message/cpim", Body: smallBody})
		if err != nil {
			b.Fatal(err)
		}
		if len(ring) < inFlight {
			ring = append(ring, p)
		} else {
			ring[i%inFlight] = p
		}
	}
	for i := range ring {
		// Oldest first: the slot after the last one filled.
		if p := ring[(b.N+i)%len(ring)]; p != nil {
			wait(p)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
