//go:build chaos

package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// tally counts one chaos scenario's messages by their unique text: what
// the IWF acknowledged to the sender, what the peer on the other side
// received, and what went wrong on the way. Its methods are safe for
// concurrent use; waiters are woken on every change.
type tally struct {
	mu    sync.Mutex
	texts []string
	// acked counts the OK answers (submit_sm_resp ESME_ROK, MSRP 200) per
	// text; more than one means the sender submitted it again after an
	// attempt it could not tell the outcome of, and the IWF stored it
	// each time.
	acked map[string]int
	// attempts counts the submissions per text.
	attempts map[string]int
	// refused counts answers asking to try later (ESME_RX_T_APPN,
	// ESME_RTHROTTLED, MSRP 5xx); ambiguous the attempts that got no
	// answer (timeout, connection lost).
	refused, ambiguous int
	// givenUp are texts the sender stopped trying.
	givenUp map[string]bool
	// delivered holds, per text, the id of each copy the peer got (MSRP
	// Message-ID; "" where the peer cannot tell, SMPP).
	delivered map[string][]string
	// unanswered counts deliveries the peer saw and did not answer, and
	// declined those it answered with an error: neither is delivered.
	unanswered, declined int
	// failedBack are the texts whose sender was told they failed: a
	// failure delivery receipt (SMS sender) or REPORT (RCS sender).
	failedBack map[string]bool
	changed    chan struct{}
}

func newTally(texts []string) *tally {
	return &tally{
		texts: texts, acked: map[string]int{}, attempts: map[string]int{}, givenUp: map[string]bool{},
		delivered: map[string][]string{}, failedBack: map[string]bool{}, changed: make(chan struct{}),
	}
}

// update runs f under the lock and wakes the waiters.
func (tl *tally) update(f func()) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	f()
	close(tl.changed)
	tl.changed = make(chan struct{})
}

// view runs f under the lock and returns the channel closed at the next
// change, so that a waiter misses none.
func (tl *tally) view(f func()) <-chan struct{} {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	f()
	return tl.changed
}

func (tl *tally) attempt(text string)    { tl.update(func() { tl.attempts[text]++ }) }
func (tl *tally) ack(text string)        { tl.update(func() { tl.acked[text]++ }) }
func (tl *tally) refuse()                { tl.update(func() { tl.refused++ }) }
func (tl *tally) unclear()               { tl.update(func() { tl.ambiguous++ }) }
func (tl *tally) giveUp(text string)     { tl.update(func() { tl.givenUp[text] = true }) }
func (tl *tally) unanswer()              { tl.update(func() { tl.unanswered++ }) }
func (tl *tally) decline()               { tl.update(func() { tl.declined++ }) }
func (tl *tally) failReport(text string) { tl.update(func() { tl.failedBack[text] = true }) }

func (tl *tally) deliver(text, id string) {
	tl.update(func() { tl.delivered[text] = append(tl.delivered[text], id) })
}

// deliveries is how many copies the peer has got, all texts together.
func (tl *tally) deliveries() int {
	n := 0
	tl.view(func() { n = tl.copies() })
	return n
}

// copies counts the copies delivered; under the lock.
func (tl *tally) copies() int {
	n := 0
	for _, ids := range tl.delivered {
		n += len(ids)
	}
	return n
}

// awaitDeliveries waits until the peer has got n copies.
func (tl *tally) awaitDeliveries(t *testing.T, n int) {
	t.Helper()
	if !tl.await(2*time.Minute, func() bool { return tl.copies() >= n }) {
		t.Fatalf("%d copies delivered; gave up waiting for %d: %s", tl.deliveries(), n, tl.figures())
	}
}

// await waits until cond, read under the lock, holds; false after limit.
func (tl *tally) await(limit time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		var ok bool
		ch := tl.view(func() { ok = cond() })
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// awaitAcked waits until n texts were acknowledged: the point where a
// scenario injects its fault.
func (tl *tally) awaitAcked(t *testing.T, n int) {
	t.Helper()
	if !tl.await(2*time.Minute, func() bool { return len(tl.acked) >= n }) {
		t.Fatalf("%d messages acknowledged; gave up waiting for %d", len(tl.acked), n)
	}
}

// settle waits until every acknowledged text has been delivered (or
// reported failed to its sender, after which the IWF no longer tries) and
// then nothing more arrives for quiet, which is when late copies
// (duplicates) would have shown; it gives up after limit, leaving the
// rest as lost.
func (tl *tally) settle(quiet, limit time.Duration) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		complete := false
		ch := tl.view(func() {
			complete = true
			for text := range tl.acked {
				if len(tl.delivered[text]) == 0 && !tl.failedBack[text] {
					complete = false
					return
				}
			}
		})
		var calm <-chan time.Time
		if complete {
			calm = time.After(quiet)
		}
		select {
		case <-ch:
		case <-calm:
			return
		case <-deadline.C:
			return
		}
	}
}

// figures are a scenario's counts.
type figures struct {
	// Sent texts, Acked of them at least once, Delivered at least once.
	Sent, Acked, Delivered int
	// Lost were acknowledged and never delivered.
	Lost int
	// Dups are copies beyond the first; Resent of them carried the
	// Message-ID of an earlier copy (the IWF sent one queue entry again),
	// the others were stored twice.
	Dups, Resent int
	// Refused, Ambiguous and Resubmits count the sender's attempts
	// answered "try later", left without an answer, and made beyond the
	// first.
	Refused, Ambiguous, Resubmits int
	// MultiAcked texts were acknowledged more than once.
	MultiAcked int
	// Unanswered and Declined: see tally.
	Unanswered, Declined int
	// FailedBack were acknowledged and then reported failed to their
	// sender; LostSilently were lost without that.
	FailedBack, LostSilently int
	// LostTexts names a few lost texts for the report.
	LostTexts []string
}

func (tl *tally) figures() figures {
	var f figures
	tl.view(func() {
		f.Sent = len(tl.texts)
		f.Acked = len(tl.acked)
		f.Refused, f.Ambiguous = tl.refused, tl.ambiguous
		f.Unanswered, f.Declined = tl.unanswered, tl.declined
		for _, n := range tl.attempts {
			f.Resubmits += n - 1
		}
		for _, n := range tl.acked {
			if n > 1 {
				f.MultiAcked++
			}
		}
		for _, text := range tl.texts {
			ids := tl.delivered[text]
			if len(ids) > 0 {
				f.Delivered++
				f.Dups += len(ids) - 1
				seen := map[string]bool{}
				for _, id := range ids {
					if id != "" && seen[id] {
						f.Resent++
					}
					seen[id] = true
				}
			}
			if tl.acked[text] > 0 && tl.failedBack[text] {
				f.FailedBack++
			}
			if tl.acked[text] > 0 && len(ids) == 0 {
				f.Lost++
				if !tl.failedBack[text] {
					f.LostSilently++
				}
				if len(f.LostTexts) < 5 {
					f.LostTexts = append(f.LostTexts, text)
				}
			}
		}
	})
	return f
}

func (f figures) String() string {
	return fmt.Sprintf("sent %d, acknowledged %d, delivered %d, lost %d (%d without a failure report), "+
		"duplicates %d (%d resent under the same Message-ID), refused %d, unanswered attempts %d, resubmits %d, "+
		"acknowledged twice %d, peer left unanswered %d, peer declined %d, reported failed to the sender %d",
		f.Sent, f.Acked, f.Delivered, f.Lost, f.LostSilently, f.Dups, f.Resent, f.Refused, f.Ambiguous, f.Resubmits,
		f.MultiAcked, f.Unanswered, f.Declined, f.FailedBack)
}

// chaosRow is one line of the suite's table.
type chaosRow struct {
	name, fault string
	f           figures
	took        time.Duration
	notes       string
}

var chaosTable struct {
	sync.Mutex
	rows []chaosRow
}

func init() { afterTests = append(afterTests, printChaosTable) }

// report logs a scenario's figures and adds its row to the table printed
// at the end.
func (e *chaosEnv) report(name, fault string, f figures, notes ...string) {
	t := e.t
	t.Helper()
	started := e.started
	notes = append(notes, e.crashNote())
	var kept []string
	for _, n := range notes {
		if n != "" {
			kept = append(kept, n)
		}
	}
	row := chaosRow{name: name, fault: fault, f: f, took: time.Since(started).Round(time.Second), notes: strings.Join(kept, "; ")}
	t.Logf("CHAOS %s [%s]: %s (%v)", name, fault, f, row.took)
	if len(f.LostTexts) > 0 {
		t.Logf("CHAOS %s: lost for example %q", name, f.LostTexts)
	}
	chaosTable.Lock()
	chaosTable.rows = append(chaosTable.rows, row)
	chaosTable.Unlock()
}

// printChaosTable writes the table in the README's form.
func printChaosTable() {
	chaosTable.Lock()
	defer chaosTable.Unlock()
	if len(chaosTable.rows) == 0 {
		return
	}
	// In the order the scenarios ran: source order, most important first.
	rows := chaosTable.rows
	var b strings.Builder
	b.WriteString("\nchaos suite figures\n\n")
	b.WriteString("| scenario | fault | sent | acknowledged | delivered | lost (of which reported failed) | duplicates | sender: refused / no answer | took | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d (%d) | %d | %d / %d | %v | %s |\n",
			r.name, r.fault, r.f.Sent, r.f.Acked, r.f.Delivered, r.f.Lost, r.f.Lost-r.f.LostSilently, r.f.Dups,
			r.f.Refused, r.f.Ambiguous, r.took, r.notes)
	}
	fmt.Fprint(os.Stdout, b.String())
}
