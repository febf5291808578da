package pager_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iwf/internal/cpim"
	"iwf/internal/testutil"
	"iwf/pager"
)

// sipp runs SIPp (the Debian package sip-tester; a missing binary fails
// the test: these are the checks against an independent implementation)
// with scenario from testdata/sipp against the IWF's listener on
// transport, for calls calls, and returns its output. A nonzero exit (a
// call whose answer was not the scenario's) fails the test.
func sipp(t *testing.T, iw *iwf, scenario, transport string, calls int, extra ...string) string {
	t.Helper()
	return sippRun(t, iw, scenario, transport, calls, extra...)
}

func sippRun(t testing.TB, iw *iwf, scenario, transport string, calls int, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (Debian package sip-tester; .ci/run installs it): %v", err)
	}
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	mode := map[string]string{"udp": "u1", "tcp": "t1"}[transport]
	args := []string{
		"-sf", sf,
		"-s", "+447700900123",
		"-t", mode,
		"-i", "127.0.0.1",
		"-p", itoa(testutil.FreePort(t)), // SIPp's default is 5060
		"-m", itoa(calls),
		"-nostdin", "-skip_rlimit",
		"-timeout", "30s", "-timeout_error",
		"-recv_timeout", "10000",
		"-trace_err", "-trace_msg",
	}
	args = append(args, extra...)
	args = append(args, iw.stack.Addr(transport).String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir() // SIPp writes its logs next to it
	out, err := cmd.CombinedOutput()
	if err != nil {
		// The error and message traces say which answer broke the
		// scenario.
		logs, _ := filepath.Glob(filepath.Join(cmd.Dir, "*.log"))
		var traces strings.Builder
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			traces.WriteString("== " + filepath.Base(l) + "\n" + string(b))
		}
		t.Fatalf("sipp %s: %v\n%s", scenario, err, traces.String())
	}
	return string(out)
}

func TestSIPpMessage(t *testing.T) {
	small := loopbackTrunk("uk")
	small.MaxBodyBytes = 400
	iw := startIWF(t, []pager.Trunk{small}, nil)
	for _, tp := range []string{"udp", "tcp"} {
		t.Run("202 over "+tp, func(t *testing.T) {
			before := len(iw.store.Messages())
			sipp(t, iw, "message_202.xml", tp, 5)
			msgs := iw.store.Messages()[before:]
			if len(msgs) != 5 {
				t.Fatalf("%d messages stored for 5 sent", len(msgs))
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m.Text, "Hello from SIPp, message ") || m.From.String() != "tel:+447700900456" || m.To.String() != "tel:+447700900123" {
					t.Fatalf("%+v", m)
				}
			}
		})
	}
	t.Run("cpim with imdn", func(t *testing.T) {
		before := len(iw.store.Messages())
		sipp(t, iw, "message_cpim.xml", "udp", 1)
		msgs := iw.store.Messages()[before:]
		if len(msgs) != 1 || strings.TrimSpace(msgs[0].Text) != "Hej från SIPp" || msgs[0].IMDN.MessageID == "" ||
			msgs[0].IMDN.Disposition != cpim.PositiveDelivery|cpim.Display || msgs[0].ContentType != "message/cpim" {
			t.Fatalf("%+v", msgs)
		}
	})
	t.Run("retransmission and resend deduplicated", func(t *testing.T) {
		calls := iw.store.Calls()
		sipp(t, iw, "message_duplicate.xml", "udp", 1)
		if got := iw.store.Calls() - calls; got != 1 {
			t.Fatalf("Accept called %d times for one message sent twice", got)
		}
	})
	// Refusals: the scenarios expect the status; SIPp fails otherwise.
	for _, sc := range []string{"message_415.xml", "message_413.xml", "message_400.xml", "message_420.xml", "message_405.xml"} {
		t.Run(sc, func(t *testing.T) {
			calls := iw.store.Calls()
			sipp(t, iw, sc, "udp", 1)
			if iw.store.Calls() != calls {
				t.Fatal("a refused request reached the store")
			}
		})
	}
}

func TestSIPpForbiddenSource(t *testing.T) {
	far := loopbackTrunk("far")
	far.AllowedSources = []string{"198.51.100.0/24"}
	iw := startIWF(t, []pager.Trunk{far}, nil)
	sipp(t, iw, "message_403.xml", "udp", 1)
	if iw.store.Calls() != 0 {
		t.Fatal("a forbidden source reached the store")
	}
}
