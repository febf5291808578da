package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"iwf/smpp"
	"iwf/smpp/receipt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	seq := func(n int) []time.Duration {
		v := make([]int, n)
		for i := range v {
			v[i] = n - i // reversed: percentiles must sort
		}
		return ms(v...)
	}
	tests := []struct {
		name               string
		in                 []time.Duration
		p50, p90, p99, max int // milliseconds
	}{
		{"none", nil, 0, 0, 0, 0},
		{"one", ms(7), 7, 7, 7, 7},
		{"two", ms(9, 1), 1, 9, 9, 9},
		{"ten", seq(10), 5, 9, 10, 10},
		{"hundred", seq(100), 50, 90, 99, 100},
		{"thousand", seq(1000), 500, 900, 990, 1000},
		{"one slow outlier", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 1, 1, 500, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := percentiles(tc.in)
			want := Latency{
				Samples: len(tc.in),
				P50:     millis(time.Duration(tc.p50) * time.Millisecond), P90: millis(time.Duration(tc.p90) * time.Millisecond),
				P99: millis(time.Duration(tc.p99) * time.Millisecond), Max: millis(time.Duration(tc.max) * time.Millisecond),
			}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// rec builds a record from millisecond offsets: submitted at s, answered
// (acked when ok) at a, received at r (-1: never) as the idx-th receipt.
func rec(s, a, r int, idx int64, o outcome) record {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	x := record{outcome: o, submitAt: at(s)}
	if o == acked {
		x.ackAt = at(a)
	}
	if r >= 0 {
		x.recvAt, x.recvIdx, x.recvs = at(r), idx, 1
	}
	return x
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name       string
		convs      int
		recs       []record
		lost, ooo  int
		latSamples int
	}{
		{
			name: "all in order", convs: 1,
			recs:       []record{rec(0, 1, 5, 1, acked), rec(2, 3, 6, 2, acked), rec(4, 5, 7, 3, acked)},
			latSamples: 3,
		},
		{
			name: "acknowledged, never received", convs: 1,
			recs:       []record{rec(0, 1, 5, 1, acked), rec(2, 3, -1, 0, acked), rec(4, 5, -1, 0, acked)},
			lost:       2,
			latSamples: 1,
		},
		{
			name: "refused or unanswered and not received is no loss", convs: 1,
			recs:       []record{rec(0, 1, -1, 0, refused), rec(2, 3, -1, 0, unconfirmed), rec(4, 0, -1, 0, notSent)},
			latSamples: 0,
		},
		{
			name: "unanswered but received counts for latency", convs: 1,
			recs:       []record{rec(0, 0, 9, 1, unconfirmed)},
			latSamples: 1,
		},
		{
			// 1 was submitted at 2, after 0's ack at 1: it may not overtake 0.
			name: "overtakes an acknowledged message", convs: 1,
			recs:       []record{rec(0, 1, 8, 2, acked), rec(2, 3, 6, 1, acked)},
			ooo:        1,
			latSamples: 2,
		},
		{
			// Both outstanding at once (SMPP 3.4 2.8): no order between them.
			name: "concurrent submits may swap", convs: 1,
			recs:       []record{rec(0, 5, 8, 2, acked), rec(1, 4, 6, 1, acked)},
			latSamples: 2,
		},
		{
			// Seqs 0 and 2 are conversation 0, 1 is conversation 1.
			name: "order is per conversation", convs: 2,
			recs:       []record{rec(0, 1, 9, 3, acked), rec(2, 3, 5, 1, acked), rec(4, 5, 6, 2, acked)},
			ooo:        1,
			latSamples: 3,
		},
		{
			// 3 messages jump ahead of 0, which was acknowledged first.
			name: "several overtake one", convs: 1,
			recs: []record{
				rec(0, 1, 20, 4, acked), rec(2, 3, 10, 1, acked), rec(4, 5, 11, 2, acked), rec(6, 7, 12, 3, acked),
			},
			ooo:        3,
			latSamples: 4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyze(tc.recs, tc.convs)
			if a.lost != tc.lost || a.outOfOrder != tc.ooo || a.latency.Samples != tc.latSamples {
				t.Errorf("lost %d out of order %d samples %d, want %d %d %d",
					a.lost, a.outOfOrder, a.latency.Samples, tc.lost, tc.ooo, tc.latSamples)
			}
		})
	}
}

func TestTrackerReport(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		// play drives a tracker of 4 messages in 2 conversations.
		play func(tr *tracker)
		want func(r Report) bool
	}{
		{
			name: "complete run",
			play: func(tr *tracker) {
				for seq := range 4 {
					tr.sending(seq, at(seq*100))
					tr.ack(seq, "id", at(seq*100+50))
					tr.receive(payload{"run", seq}.text(), nil, "sip:"+destination(seq%2)+"@h", at(seq*100+200))
				}
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				// 4 acks by 350 ms, 4 receipts by 500 ms.
				return r.Acknowledged == 4 && r.Received == 4 && r.Lost == 0 &&
					r.AckRate == 4/0.35 && r.ReceiveRate == 4/0.5 && time.Duration(r.Elapsed) == 500*time.Millisecond &&
					time.Duration(r.Latency.P50) == 200*time.Millisecond
			},
		},
		{
			// The pace counts from the start of the submits; a first
			// submit that went out late must not shorten the span, or a
			// paced run would show a rate above its pace.
			name: "spans from the start of the submits",
			play: func(tr *tracker) {
				tr.startSubmitting(at(0))
				for seq := range 4 {
					tr.sending(seq, at(30+seq*100))
					tr.ack(seq, "id", at(30+seq*100+10))
					tr.receive(payload{"run", seq}.text(), nil, "sip:"+destination(seq%2)+"@h", at(30+seq*100+20))
				}
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				return time.Duration(r.SubmitElapsed) == 340*time.Millisecond && time.Duration(r.Elapsed) == 350*time.Millisecond
			},
		},
		{
			name: "received before its acknowledgement",
			play: func(tr *tracker) {
				tr.sending(0, at(0))
				tr.receive("load run 0", nil, "tel:"+destination(0), at(10))
				tr.ack(0, "id", at(20))
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				return r.Received == 1 && r.Lost == 0 && time.Duration(r.Elapsed) == 20*time.Millisecond
			},
		},
		{
			name: "duplicates, misrouted, foreign, refused, unconfirmed",
			play: func(tr *tracker) {
				tr.sending(0, at(0))
				tr.ack(0, "a", at(1))
				tr.receive("load run 0", nil, "sip:"+destination(0)+"@h", at(2))
				tr.receive("load run 0", nil, "sip:"+destination(0)+"@h", at(3))
				tr.sending(1, at(1))
				tr.ack(1, "b", at(2))
				tr.receive("load run 1", nil, "sip:"+destination(0)+"@h", at(4)) // conversation 1's message
				tr.receive("load old 1", nil, "", at(5))
				tr.receive("", &payloadError{Reason: "cpim"}, "", at(5))
				tr.sending(2, at(2))
				tr.refuse(2, 0x58)
				tr.sending(3, at(3))
				tr.fail(3, "response timeout")
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				return r.Received == 2 && r.Duplicates == 1 && r.Misrouted == 1 && r.Foreign == 2 &&
					r.Refused == 1 && len(r.RefusedStatuses) == 1 && r.Unconfirmed == 1 &&
					r.UnconfirmedCauses["response timeout"] == 1 && r.Lost == 0 && r.Failed()
			},
		},
		{
			// The receipt may come on another bind before the response.
			name: "receipts matched whatever their order with the responses",
			play: func(tr *tracker) {
				for seq := range 3 {
					tr.sending(seq, at(seq))
					tr.receive(payload{"run", seq}.text(), nil, "", at(5))
				}
				tr.receipt(receiptFor(t, "a1", receipt.Delivered))
				tr.ack(0, "a1", at(10))
				tr.ack(1, "255", at(11))
				tr.receipt(receiptFor(t, "ff", receipt.Delivered)) // 255 in hex, as some SMSCs write it
				tr.ack(2, "c3", at(12))
				tr.receipt(receiptFor(t, "zz", receipt.Undeliverable))
				tr.receipt(&smpp.Message{ShortMessage: []byte("a message, not a receipt")})
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				return r.Receipts == 3 && r.ReceiptsMatched == 2 && r.ReceiptStates["DELIVRD"] == 2 && r.ReceiptStates["UNDELIV"] == 1
			},
		},
		{
			name: "timed out with messages missing",
			play: func(tr *tracker) {
				tr.sending(0, at(0))
				tr.ack(0, "a", at(1))
				tr.sending(1, at(1))
				tr.ack(1, "b", at(2))
				tr.receive("load run 1", nil, "", at(3))
				tr.doneSubmitting()
			},
			want: func(r Report) bool {
				// end is the wait's end, 1000 ms.
				return r.Lost == 1 && r.Received == 1 && time.Duration(r.Elapsed) == time.Second && r.Failed()
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker("run", 4, 2)
			tc.play(tr)
			r := tr.report(Report{}, at(1000))
			if !tc.want(r) {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// receiptFor is the deliver_sm of a receipt for id.
func receiptFor(t *testing.T, id string, st receipt.State) *smpp.Message {
	t.Helper()
	m, err := smpp.ReceiptMessage(smpp.Address{Addr: "1"}, smpp.Address{Addr: "2"}, receipt.Receipt{ID: id, State: st})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFailed(t *testing.T) {
	tests := []struct {
		name string
		r    Report
		want bool
	}{
		{"clean", Report{Received: 10, OutOfOrder: 3, Foreign: 2, Refused: 1}, false},
		{"lost", Report{Lost: 1}, true},
		{"duplicate", Report{Duplicates: 1}, true},
		{"misrouted", Report{Misrouted: 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Failed(); got != tc.want {
				t.Errorf("Failed() = %v, want %v", got, tc.want)
			}
		})
	}
}

// goldenReport has every part a report can show.
func goldenReport() Report {
	return Report{
		RunID: "1a2b3c4d", Messages: 20000, Conversations: 50, Binds: 2, Window: 100,
		Submitted: 20000, Acknowledged: 19990, Refused: 8, RefusedStatuses: map[string]int{"ESME_RTHROTTLED (0x00000058)": 8},
		Unconfirmed: 2, UnconfirmedCauses: map[string]int{"response timeout": 2}, Throttled: 12,
		Received: 19989, Duplicates: 1, Lost: 1, OutOfOrder: 2, Foreign: 3, ForeignFirst: "iwf-load: payload: not of this run: load 9f 1",
		Sessions: 50, SessionsEnded: 1,
		Receipts: 19989, ReceiptsMatched: 19989, ReceiptStates: map[string]int{"DELIVRD": 19989},
		Elapsed: millis(3210 * time.Millisecond), SubmitElapsed: millis(3105 * time.Millisecond),
		AckRate: 6437.5, ReceiveRate: 6227.1,
		Latency:        Latency{Samples: 19989, P50: millis(12300 * time.Microsecond), P90: millis(25 * time.Millisecond), P99: millis(81 * time.Millisecond), Max: millis(142 * time.Millisecond)},
		LatencyUp:      Latency{Samples: 19489, P50: millis(12 * time.Millisecond), P90: millis(24 * time.Millisecond), P99: millis(44 * time.Millisecond), Max: millis(98 * time.Millisecond)},
		LatencyOpening: Latency{Samples: 500, P50: millis(70 * time.Millisecond), P90: millis(110 * time.Millisecond), P99: millis(138 * time.Millisecond), Max: millis(142 * time.Millisecond)},
		Baseline:       &Baseline{Acknowledged: 20000, Elapsed: millis(800 * time.Millisecond), Rate: 25000, Ratio: 0.2491},
	}
}

func TestReportGolden(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		write func(r Report, b *bytes.Buffer) error
	}{
		{"text", "report.golden.txt", func(r Report, b *bytes.Buffer) error { return r.writeText(b) }},
		{"json", "report.golden.json", func(r Report, b *bytes.Buffer) error { return r.writeJSON(b) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(goldenReport(), &b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("got\n%s\nwant\n%s", b.Bytes(), want)
			}
		})
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	want := goldenReport()
	if err := want.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := got.writeJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) || got.Latency != want.Latency || got.Elapsed != want.Elapsed {
		t.Errorf("read back\n%s\nwrote\n%s", again.Bytes(), b.Bytes())
	}
}

func TestReportJSONFields(t *testing.T) {
	var b bytes.Buffer
	if err := goldenReport().writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	lat, _ := m["latency"].(map[string]any)
	if m["lost"] != 1.0 || m["duplicates"] != 1.0 || lat["p50_ms"] != 12.3 || m["elapsed_ms"] != 3210.0 {
		t.Errorf("json %s", b.Bytes())
	}
}

// The latency splits by whether a message was submitted before or after
// its own conversation's first message arrived: conversation 1's session
// coming up late must not count conversation 0's messages as opening.
func TestAnalyzeSplitsSessionOpening(t *testing.T) {
	recs := []record{
		rec(0, 1, 80, 1, acked),      // conv 0: first, opens its session (80 ms)
		rec(10, 11, 300, 5, acked),   // conv 1: first, opens late (290 ms)
		rec(20, 21, 85, 2, acked),    // conv 0: submitted before 0's first arrived
		rec(30, 31, 301, 6, acked),   // conv 1: before 1's first arrived
		rec(100, 101, 103, 3, acked), // conv 0: session up (3 ms)
		rec(200, 201, 302, 7, acked), // conv 1: 200 < 300, still opening
		rec(150, 151, 152, 4, acked), // conv 0: up (2 ms)
		rec(400, 401, 405, 8, acked), // conv 1: up (5 ms)
	}
	a := analyze(recs, 2)
	if a.latency.Samples != 8 || a.up.Samples != 3 || a.opening.Samples != 5 {
		t.Fatalf("samples all %d up %d opening %d, want 8 3 5", a.latency.Samples, a.up.Samples, a.opening.Samples)
	}
	if got := time.Duration(a.up.Max); got != 5*time.Millisecond {
		t.Errorf("session up max %v, want 5ms", got)
	}
	if got := time.Duration(a.opening.Max); got != 290*time.Millisecond {
		t.Errorf("opening max %v, want 290ms", got)
	}
}
