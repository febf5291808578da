package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of a run; it prints as text (writeText) or JSON.
type Report struct {
	RunID         string  `json:"run_id"`
	Messages      int     `json:"messages"`
	Conversations int     `json:"conversations"`
	Binds         int     `json:"binds"`
	Window        int     `json:"window"`
	Rate          float64 `json:"rate"`

	// Submitted counts submit_sm sent; Acknowledged those answered
	// ESME_ROK; Refused those answered with an error status, by status;
	// Unconfirmed those never answered (timeout, lost bind, stop), by
	// cause: the daemon may or may not hold them.
	Submitted         int            `json:"submitted"`
	Acknowledged      int            `json:"acknowledged"`
	Refused           int            `json:"refused"`
	RefusedStatuses   map[string]int `json:"refused_statuses,omitempty"`
	Unconfirmed       int            `json:"unconfirmed"`
	UnconfirmedCauses map[string]int `json:"unconfirmed_causes,omitempty"`
	// Throttled and QueueFull count ESME_RTHROTTLED and ESME_RMSGQFUL
	// answers, after which the client paused and sent the message again
	// (SMPP 3.4 5.1.3): the daemon pushing back, often a window smaller
	// than ours.
	Throttled int `json:"throttled"`
	QueueFull int `json:"queue_full"`

	// Received counts distinct messages of this run received on the RCS
	// side, Duplicates the extra copies, Lost the acknowledged ones never
	// received, OutOfOrder those received ahead of a message of their
	// conversation acknowledged before they were even submitted,
	// Misrouted those arriving on a session called for another number.
	// Foreign counts messages that are not this run's (an earlier run's
	// leftovers, unreadable bodies); ForeignFirst says why the first was.
	Received     int    `json:"received"`
	Duplicates   int    `json:"duplicates"`
	Lost         int    `json:"lost"`
	OutOfOrder   int    `json:"out_of_order"`
	Misrouted    int    `json:"misrouted"`
	Foreign      int    `json:"foreign"`
	ForeignFirst string `json:"foreign_first,omitempty"`
	// Sessions counts the MSRP sessions the daemon opened to the RCS
	// side, SessionsEnded those it ended (idle BYE) or that failed before
	// the run ended.
	Sessions      int `json:"sessions"`
	SessionsEnded int `json:"sessions_ended"`

	// Receipts counts delivery receipts; ReceiptsMatched those naming a
	// message_id we were given; ReceiptStates counts them by stat.
	Receipts        int            `json:"receipts"`
	ReceiptsMatched int            `json:"receipts_matched"`
	ReceiptStates   map[string]int `json:"receipt_states,omitempty"`

	// TimedOut is set when the timeout cut the submits short or ended
	// the wait for messages.
	TimedOut bool `json:"timed_out"`
	// Elapsed runs from the start of the submits (the origin of the
	// pace) to the last message received (or the end of the wait);
	// SubmitElapsed to the last acknowledgement.
	Elapsed       millis `json:"elapsed_ms"`
	SubmitElapsed millis `json:"submit_elapsed_ms"`
	// AckRate and ReceiveRate are messages per second over those spans.
	AckRate     float64 `json:"acknowledged_per_second"`
	ReceiveRate float64 `json:"received_per_second"`
	// Latency is end to end: submit_sm written to the MSRP SEND received.
	Latency Latency `json:"latency"`
	// LatencyUp is Latency of the messages submitted once their
	// conversation's first message had arrived (its session was up);
	// LatencyOpening of those submitted before, which waited for the
	// session to be set up (INVITE, MSRP connection). Together they are
	// Latency: a paced run's first moments are every conversation's
	// set-up at once, which can set its p99 on their own.
	LatencyUp      Latency `json:"latency_session_up"`
	LatencyOpening Latency `json:"latency_session_opening"`
	// Baseline is the same client against the in-process test SMSC.
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Latency holds nearest-rank percentiles of a set of durations.
type Latency struct {
	Samples int    `json:"samples"`
	P50     millis `json:"p50_ms"`
	P90     millis `json:"p90_ms"`
	P99     millis `json:"p99_ms"`
	Max     millis `json:"max_ms"`
}

// Baseline is the reference run against the test SMSC.
type Baseline struct {
	Acknowledged int     `json:"acknowledged"`
	Elapsed      millis  `json:"elapsed_ms"`
	Rate         float64 `json:"acknowledged_per_second"`
	// Ratio is the end-to-end ReceiveRate over Rate: the machine is
	// shared, so figures compare against a reference of the same run.
	Ratio float64 `json:"ratio"`
}

// millis is a duration that marshals as fractional milliseconds.
type millis time.Duration

// MarshalJSON writes milliseconds with microsecond precision.
func (m millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Duration(m).Microseconds())/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes, so that a saved report
// reads back.
func (m *millis) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("iwf-load: milliseconds %q: %w", b, err)
	}
	*m = millis(math.Round(v * float64(time.Millisecond)))
	return nil
}

func (m millis) String() string { return time.Duration(m).Round(roundTo(time.Duration(m))).String() }

func roundTo(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return 10 * time.Millisecond
	case d >= 10*time.Millisecond:
		return 100 * time.Microsecond
	}
	return time.Microsecond
}

// Failed says whether the run broke the promise the tool checks: nothing
// acknowledged lost, nothing delivered twice or to the wrong party.
func (r Report) Failed() bool { return r.Lost > 0 || r.Duplicates > 0 || r.Misrouted > 0 }

// analysis is what the records say beyond the counters.
type analysis struct {
	lost       int
	outOfOrder int
	latency    Latency
	// up and opening split latency by whether the conversation's first
	// message had arrived when the message was submitted.
	up, opening Latency
}

// analyze computes losses, order and latency from the records; seq i
// belongs to conversation i % convs.
func analyze(recs []record, convs int) analysis {
	var a analysis
	lat := make([]time.Duration, 0, len(recs))
	byConv := make([][]int, convs)
	for seq, r := range recs {
		if r.recvs == 0 {
			if r.outcome == acked {
				a.lost++
			}
			continue
		}
		if r.outcome != notSent {
			lat = append(lat, r.recvAt.Sub(r.submitAt))
		}
		byConv[seq%convs] = append(byConv[seq%convs], seq)
	}
	var up, opening []time.Duration
	for _, seqs := range byConv {
		a.outOfOrder += outOfOrder(recs, seqs)
		u, o := splitBySessionUp(recs, seqs)
		up, opening = append(up, u...), append(opening, o...)
	}
	a.latency = percentiles(lat)
	a.up, a.opening = percentiles(up), percentiles(opening)
	return a
}

// splitBySessionUp splits the latencies of one conversation's received
// messages (seqs) by whether they were submitted after its first
// message arrived, that is once its session was up, or before.
func splitBySessionUp(recs []record, seqs []int) (up, opening []time.Duration) {
	var first time.Time
	for _, seq := range seqs {
		if r := recs[seq]; first.IsZero() || r.recvAt.Before(first) {
			first = r.recvAt
		}
	}
	for _, seq := range seqs {
		r := recs[seq]
		if r.outcome == notSent {
			continue
		}
		if d := r.recvAt.Sub(r.submitAt); r.submitAt.Before(first) {
			opening = append(opening, d)
		} else {
			up = append(up, d)
		}
	}
	return up, opening
}

// outOfOrder counts the messages of one conversation (seqs, all
// received) that arrived before a message acknowledged before they were
// submitted. Windowed submits have no order among themselves (SMPP 3.4
// section 2.8: several requests may be outstanding at once), so only an
// order the ESME could observe counts: once the daemon acknowledged A,
// anything submitted after must not overtake it.
func outOfOrder(recs []record, seqs []int) int {
	order := slices.Clone(seqs)
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(recs[b].recvIdx, recs[a].recvIdx) })
	// Walking from the last received back, earliest holds the earliest
	// acknowledgement among the messages received after the current one.
	var earliest time.Time
	n := 0
	for _, seq := range order {
		r := recs[seq]
		if !earliest.IsZero() && earliest.Before(r.submitAt) {
			n++
		}
		if r.outcome == acked && (earliest.IsZero() || r.ackAt.Before(earliest)) {
			earliest = r.ackAt
		}
	}
	return n
}

// percentiles are nearest-rank: the p-th of n sorted samples is the
// ceil(p*n/100)-th.
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := func(p int) millis {
		i := (p*len(s) + 99) / 100
		return millis(s[max(i, 1)-1])
	}
	return Latency{Samples: len(s), P50: rank(50), P90: rank(90), P99: rank(99), Max: millis(s[len(s)-1])}
}

// rate is n per second over d, 0 for an empty span.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// report fills the counters and figures of r from what was recorded;
// end is when the wait for messages stopped.
func (t *tracker) report(r Report, end time.Time) Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := analyze(t.recs, t.convs)
	r.RunID = t.runID
	r.Submitted, r.Acknowledged = t.submitted, t.acked
	r.RefusedStatuses, r.Refused = countMap(t.refused)
	r.UnconfirmedCauses, r.Unconfirmed = countMap(t.unconfirmed)
	r.Received, r.Duplicates, r.Lost, r.OutOfOrder = t.received, t.duplicates, a.lost, a.outOfOrder
	r.Misrouted, r.Foreign, r.ForeignFirst = t.misrouted, t.foreign, t.foreignFirst
	r.Sessions, r.SessionsEnded = t.sessions, t.ended
	r.Receipts, r.ReceiptsMatched = t.receipts, t.matchedLocked()
	r.Throttled, r.QueueFull = int(t.throttled), int(t.queueFull)
	r.ReceiptStates, _ = countMap(t.states)
	r.Latency, r.LatencyUp, r.LatencyOpening = a.latency, a.up, a.opening
	if t.submitted == 0 {
		return r
	}
	if t.submitsDone && t.waiting == 0 {
		end = t.lastRecv
		if t.lastAck.After(end) {
			end = t.lastAck
		}
	}
	r.Elapsed = millis(end.Sub(t.firstSubmit))
	if t.acked > 0 {
		r.SubmitElapsed = millis(t.lastAck.Sub(t.firstSubmit))
		r.AckRate = rate(t.acked, t.lastAck.Sub(t.firstSubmit))
	}
	if t.received > 0 {
		r.ReceiveRate = rate(t.received, t.lastRecv.Sub(t.firstSubmit))
	}
	return r
}

// countMap copies m (nil when empty) and sums it.
func countMap(m map[string]int) (map[string]int, int) {
	if len(m) == 0 {
		return nil, 0
	}
	sum := 0
	for _, v := range m {
		sum += v
	}
	return maps.Clone(m), sum
}

// writeJSON prints r as indented JSON.
func (r Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText prints r for people, one figure a line.
func (r Report) writeText(w io.Writer) error {
	var b strings.Builder
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "%-14s %s\n", name, fmt.Sprintf(format, args...))
	}
	pace := "as fast as the windows allow"
	if r.Rate > 0 {
		pace = fmt.Sprintf("%g/s", r.Rate)
	}
	fmt.Fprintf(&b, "iwf-load run %s: %d messages over %d conversations, %d binds x window %d, %s\n",
		r.RunID, r.Messages, r.Conversations, r.Binds, r.Window, pace)
	line("submitted", "%d", r.Submitted)
	line("acknowledged", "%d", r.Acknowledged)
	line("refused", "%d%s", r.Refused, breakdown(r.RefusedStatuses))
	line("unconfirmed", "%d%s", r.Unconfirmed, breakdown(r.UnconfirmedCauses))
	hint := ""
	if r.Throttled > 0 {
		hint = "; throttling pauses a bind 1-30 s: is the daemon's window for this ESME below -window?"
	}
	line("retried", "%d throttled, %d queue full (sent again after a pause)%s", r.Throttled, r.QueueFull, hint)
	line("received", "%d on %d sessions (%d ended before the run)", r.Received, r.Sessions, r.SessionsEnded)
	line("duplicates", "%d", r.Duplicates)
	line("lost", "%d", r.Lost)
	line("out of order", "%d", r.OutOfOrder)
	line("misrouted", "%d", r.Misrouted)
	if r.Foreign > 0 {
		line("foreign", "%d (first: %s)", r.Foreign, r.ForeignFirst)
	} else {
		line("foreign", "0")
	}
	line("receipts", "%d (%d matched)%s", r.Receipts, r.ReceiptsMatched, breakdown(r.ReceiptStates))
	timedOut := ""
	if r.TimedOut {
		timedOut = " (timed out)"
	}
	line("elapsed", "%v%s, submits %v", r.Elapsed, timedOut, r.SubmitElapsed)
	line("messages/s", "%.0f acknowledged, %.0f received end to end", r.AckRate, r.ReceiveRate)
	latency := func(name string, l Latency, samples string) {
		line(name, "p50 %v  p90 %v  p99 %v  max %v  (%d %s)", l.P50, l.P90, l.P99, l.Max, l.Samples, samples)
	}
	latency("latency", r.Latency, "samples, submit -> MSRP receive")
	latency("  session up", r.LatencyUp, "submitted once their conversation's first message had arrived")
	latency("  opening", r.LatencyOpening, "submitted before: they waited for the session set-up")
	if bl := r.Baseline; bl != nil {
		line("baseline", "%.0f acknowledged/s by the in-process test SMSC (%d in %v); end-to-end/baseline %.3f",
			bl.Rate, bl.Acknowledged, bl.Elapsed, bl.Ratio)
	}
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL (lost, duplicated or misrouted messages)"
	}
	line("result", "%s", verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// breakdown is " (a: 1, b: 2)" in key order, "" for none.
func breakdown(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+": "+strconv.Itoa(m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
