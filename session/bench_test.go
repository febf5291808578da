package session_test

import (
	"bytes"
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
// connection; "ratio" is MSRP throughput over raw TCP throughput.
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

// rawCopy is the baseline: io.Copy of the same bytes over loopback TCP.
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
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := io.Copy(c, bytes.NewReader(content)); err != nil {
		b.Fatal(err)
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
	ep := msrptest.NewEndpoint(b, session.Config{})
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
