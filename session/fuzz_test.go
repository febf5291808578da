package session_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iwf/session"
	"iwf/session/msrptest"
)

// FuzzConnection writes arbitrary bytes on an MSRP connection: the
// endpoint must answer or close, never panic, and keep serving others.
func FuzzConnection(f *testing.F) {
	files, _ := filepath.Glob("msrp/testdata/*.msrp")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	ep := msrptest.NewEndpoint(f, session.Config{})
	a := msrptest.NewEndpoint(f, session.Config{})
	s, err := ep.NewSession(context.Background(), session.SessionOptions{})
	if err != nil {
		f.Fatal(err)
	}
	addr := s.LocalURI().Addr()
	f.Fuzz(func(t *testing.T, data []byte) {
		// Aim some inputs at the live session.
		in := strings.ReplaceAll(string(data), "kjhd37s2s20w2a", s.LocalURI().SessionID)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte(in)); err != nil {
			return // the endpoint may close first
		}
		_ = c.(*net.TCPConn).CloseWrite()
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		// The endpoint still opens sessions and carries messages.
		rb := newRecorder()
		sa, err := a.NewSession(context.Background(), session.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sb, err := ep.NewSession(context.Background(), session.SessionOptions{Handler: rb})
		if err != nil {
			t.Fatal(err)
		}
		defer sa.Close()
		defer sb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sb.Connect(ctx, sa.LocalPath(), false); err != nil {
			t.Fatal(err)
		}
		if err := sa.Connect(ctx, sb.LocalPath(), true); err != nil {
			t.Fatal(err)
		}
		if _, err := sa.Send(ctx, &session.OutgoingMessage{ContentType: "text/plain", Body: []byte("alive")}); err != nil {
			t.Fatalf("endpoint broken after input: %v", err)
		}
	})
}
