package main

import (
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/smpp"
	"iwf/smpp/smpptest"
)

// driveSMSC runs the SMS side alone against a test SMSC, with before
// called once the SMSC is up (to program it) and during called while the
// submits run.
func driveSMSC(t *testing.T, cfg Config, before func(*smpptest.Server), during func(*smpptest.Server)) (*tracker, *smpptest.Server) {
	t.Helper()
	srv := smpptest.Start(t, smpptest.Config{SystemID: "demo", Password: "demo"})
	if before != nil {
		before(srv)
	}
	cfg.Logger = testutil.Logger(t)
	cfg = cfg.withDefaults()
	tr := newTracker("r1", cfg.N, cfg.Conversations)
	s, err := newSMSSide(cfg, srv.Addr(), tr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.drive(testutil.Context(t), nil) }()
	if during != nil {
		during(srv)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return tr, srv
}

func TestSMSSide(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		before func(*smpptest.Server)
		during func(t *testing.T, s *smpptest.Server)
		check  func(t *testing.T, r Report, srv *smpptest.Server)
	}{
		{
			name: "messages as the daemon expects them", cfg: Config{N: 6, Conversations: 3, Binds: 1, Window: 2},
			check: func(t *testing.T, r Report, srv *smpptest.Server) {
				if r.Acknowledged != 6 {
					t.Errorf("acknowledged %d of 6", r.Acknowledged)
				}
				seen := map[string]bool{}
				for _, sub := range srv.Submits() {
					m, err := smpp.DecodeMessage(sub.Frame)
					if err != nil {
						t.Fatal(err)
					}
					text, err := m.Text(false)
					if err != nil {
						t.Fatal(err)
					}
					p, err := parseText(text)
					if err != nil || p.RunID != "r1" {
						t.Fatalf("text %q: %v", text, err)
					}
					want := smpp.Address{TON: 1, NPI: 1, Addr: destination(p.Seq % 3)}
					if m.Dest != want || m.Source != (smpp.Address{TON: 1, NPI: 1, Addr: "+46700000000"}) ||
						m.RegisteredDelivery != 1 || m.DataCoding != 0 {
						t.Errorf("seq %d: %+v", p.Seq, m)
					}
					seen[text] = true
				}
				if len(seen) != 6 {
					t.Errorf("%d distinct texts, want 6", len(seen))
				}
			},
		},
		{
			name: "every window kept full", cfg: Config{N: 40, Conversations: 4, Binds: 2, Window: 5},
			before: func(s *smpptest.Server) { s.Hold() },
			during: func(t *testing.T, s *smpptest.Server) {
				// Held responses: the tool has binds*window outstanding,
				// and no more.
				err := s.Wait(testutil.Context(t), func(st smpptest.State) bool { return st.Outstanding == 10 })
				if err != nil {
					t.Error(err)
				}
				s.Release()
			},
			check: func(t *testing.T, r Report, srv *smpptest.Server) {
				if got := srv.MaxOutstanding(); got != 10 || r.Acknowledged != 40 {
					t.Errorf("at most %d outstanding, %d acknowledged; want 10 and 40", got, r.Acknowledged)
				}
			},
		},
		{
			name: "throttled, then accepted", cfg: Config{N: 5, Conversations: 1, Binds: 1, Window: 1},
			before: func(s *smpptest.Server) { s.RespondNext(2, smpptest.StatusThrottled) },
			check: func(t *testing.T, r Report, _ *smpptest.Server) {
				if r.Acknowledged != 5 || r.Throttled != 2 || r.Refused != 0 {
					t.Errorf("acknowledged %d throttled %d refused %d; want 5 2 0", r.Acknowledged, r.Throttled, r.Refused)
				}
			},
		},
		{
			name: "refused with a status", cfg: Config{N: 5, Conversations: 1, Binds: 1, Window: 1},
			before: func(s *smpptest.Server) { s.RespondNext(2, smpptest.StatusSysErr) },
			check: func(t *testing.T, r Report, _ *smpptest.Server) {
				if r.Acknowledged != 3 || r.Refused != 2 || r.RefusedStatuses[smpp.StatusName(smpp.StatusSysErr)] != 2 {
					t.Errorf("acknowledged %d refused %d %v; want 3 and 2 ESME_RSYSERR", r.Acknowledged, r.Refused, r.RefusedStatuses)
				}
			},
		},
		{
			name: "paced", cfg: Config{N: 21, Conversations: 1, Binds: 2, Window: 10, Rate: 200},
			check: func(t *testing.T, r Report, _ *smpptest.Server) {
				// Seq 20 is due 100 ms after seq 0.
				if time.Duration(r.SubmitElapsed) < 100*time.Millisecond || r.Acknowledged != 21 {
					t.Errorf("%d acknowledged in %v, want 21 in at least 100ms", r.Acknowledged, time.Duration(r.SubmitElapsed))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			var during func(*smpptest.Server)
			if tc.during != nil {
				during = func(s *smpptest.Server) { tc.during(t, s) }
			}
			tr, srv := driveSMSC(t, tc.cfg, tc.before, during)
			tc.check(t, tr.report(Report{}, time.Now()), srv)
		})
	}
}

func TestSMSSideTimeout(t *testing.T) {
	testutil.CheckLeaks(t)
	// Responses held past the run's deadline: the submits end unconfirmed,
	// and drive still returns in time without an error.
	cfg := Config{N: 4, Conversations: 1, Binds: 1, Window: 4, Timeout: 200 * time.Millisecond}
	start := time.Now()
	tr, srv := driveSMSC(t, cfg, func(s *smpptest.Server) { s.Hold() }, nil)
	defer srv.Release()
	r := tr.report(Report{}, time.Now())
	if r.Unconfirmed != 4 || r.UnconfirmedCauses["run timeout"] != 4 || time.Since(start) > 20*time.Second {
		t.Errorf("unconfirmed %d %v after %v", r.Unconfirmed, r.UnconfirmedCauses, time.Since(start))
	}
}
