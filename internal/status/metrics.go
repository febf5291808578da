package status

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of iwf_messages_total. Message folds any other value of
// direction, ingress or outcome into LabelOther, so a caller's typo or a
// value read off a wire can never grow the series count.
const (
	DirToSession = "to_session" // pager side -> MSRP session (DESIGN flow 1)
	DirToPager   = "to_pager"   // MSRP session -> pager side (DESIGN flow 2)

	IngressSMPP = "smpp"
	IngressSIP  = "sip"
	IngressMSRP = "msrp"
	// IngressSMSIP is SMS over IP (TS 24.341) from IMS handsets;
	// IngressSMSIPReport the SMS-STATUS-REPORTs queued toward them, which
	// are no incoming messages.
	IngressSMSIP       = "smsip"
	IngressSMSIPReport = "smsip_report"

	OutcomeAccepted  = "accepted"  // durably queued, then acknowledged
	OutcomeDuplicate = "duplicate" // acknowledged, not queued again
	OutcomeDelivered = "delivered" // the far side confirmed it
	OutcomeFailed    = "failed"    // given up on, sender told
	OutcomeRefused   = "refused"   // rejected at ingress (size, type, policy)
	OutcomeRelayed   = "relayed"   // forwarded in pager mode, no session

	// LabelOther stands in for a label value outside its known set.
	LabelOther = "other"
)

// Metrics are the event counters and histograms interwork and the protocol
// sides update. All methods are safe for concurrent use and are no-ops on a
// nil *Metrics, so tests and tools can pass nil.
type Metrics struct {
	messages *prometheus.CounterVec
	opens    *prometheus.CounterVec
	delivery *prometheus.HistogramVec
	errs     *prometheus.CounterVec
	regErr   error
	// rates, when set by CountRates, gets every message event too.
	rates *Rates
}

// CountRates makes m feed r with each partner's message rates (see
// Rates.PartnerRates). Call it before m is shared.
func (m *Metrics) CountRates(r *Rates) {
	if m != nil {
		m.rates = r
	}
}

// InitPartner creates the series of partner the alert rules and the
// dashboard under configs/ read, at zero, so that a rate over them is
// defined from the start rather than from the first event, and an
// absent series means a broken exporter, not a quiet partner.
func (m *Metrics) InitPartner(partner string) {
	if m == nil {
		return
	}
	partner = labelValue(partner)
	for _, dir := range []string{DirToSession, DirToPager} {
		for _, in := range []string{IngressSMPP, IngressSIP, IngressMSRP, IngressSMSIP} {
			for _, out := range []string{OutcomeAccepted, OutcomeDelivered, OutcomeFailed, OutcomeRefused} {
				m.messages.WithLabelValues(partner, dir, in, out)
			}
		}
	}
	m.opens.WithLabelValues(partner, "ok")
	m.opens.WithLabelValues(partner, "failed")
	for _, where := range []string{WhereLease, WhereLeaseAck} {
		m.errs.WithLabelValues(partner, where)
	}
}

// Values of iwf_errors_total's where label that the alert rules read:
// interwork reports a conversation's lease lost at renewal as "lease" and
// at a message's acknowledgement as "ack".
const (
	WhereLease    = "lease"
	WhereLeaseAck = "ack"
)

// NewMetrics creates the metrics and registers them with reg (none when reg
// is nil). Metrics already registered by an earlier NewMetrics on the same
// registry are shared rather than refused, so two components may each call
// it. Any other registration failure is kept for Err: the metrics still
// count, they are only missing from /metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	var errs []error
	m := &Metrics{
		messages: counterVec(reg, &errs, "iwf_messages_total",
			"Messages by partner, direction, ingress side and outcome.",
			"partner", "direction", "ingress", "outcome"),
		opens: counterVec(reg, &errs, "iwf_session_opens_total",
			"MSRP session open attempts (INVITE and MSRP bind) by partner and result (ok, failed).",
			"partner", "result"),
		delivery: register(reg, &errs, "iwf_delivery_seconds", prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iwf_delivery_seconds",
			Help: "Time from accepting a message to its delivery on the far side.",
			// From 1 ms (a session already open on loopback) to 60 s (a
			// session opened through a slow partner, or a throttling SMSC).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"partner", "direction"})),
		errs: counterVec(reg, &errs, "iwf_errors_total",
			"Errors by partner and the part that failed.",
			"partner", "where"),
	}
	m.regErr = errors.Join(errs...)
	return m
}

// counterVec creates and registers a counter family.
func counterVec(reg prometheus.Registerer, errs *[]error, name, help string, labels ...string) *prometheus.CounterVec {
	return register(reg, errs, name, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// register registers c (named name) with reg and returns the collector to
// use: c, or the equal collector an earlier call registered.
func register[T prometheus.Collector](reg prometheus.Registerer, errs *[]error, name string, c T) T {
	if reg == nil {
		return c
	}
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	*errs = append(*errs, registerError(name, err))
	return c
}

// Err reports metrics that could not be registered (nil when all were, and
// on a nil *Metrics).
func (m *Metrics) Err() error {
	if m == nil {
		return nil
	}
	return m.regErr
}

// Message counts one message event: iwf_messages_total{partner, direction,
// ingress, outcome}. See the Dir*, Ingress* and Outcome* constants.
func (m *Metrics) Message(partner, direction, ingress, outcome string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(labelValue(partner),
		oneOf(direction, DirToSession, DirToPager),
		oneOf(ingress, IngressSMPP, IngressSIP, IngressMSRP, IngressSMSIP, IngressSMSIPReport),
		oneOf(outcome, OutcomeAccepted, OutcomeDuplicate, OutcomeDelivered,
			OutcomeFailed, OutcomeRefused, OutcomeRelayed),
	).Inc()
	m.rates.countMessage(partner, direction, outcome)
}

// SessionOpen counts one MSRP session open attempt:
// iwf_session_opens_total{partner, result="ok"|"failed"}.
func (m *Metrics) SessionOpen(partner string, ok bool) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.opens.WithLabelValues(labelValue(partner), result).Inc()
}

// Delivery observes the time from accepting a message to its delivery on the
// far side: iwf_delivery_seconds{partner, direction}.
func (m *Metrics) Delivery(partner, direction string, d time.Duration) {
	if m == nil {
		return
	}
	m.delivery.WithLabelValues(labelValue(partner), oneOf(direction, DirToSession, DirToPager)).
		Observe(d.Seconds())
}

// Error counts one error: iwf_errors_total{partner, where}. where must be a
// fixed name chosen in code ("smpp", "msrp", "store"), never error text.
func (m *Metrics) Error(partner, where string) {
	if m == nil {
		return
	}
	m.errs.WithLabelValues(labelValue(partner), labelValue(where)).Inc()
}

// oneOf returns v when it is one of known, else LabelOther.
func oneOf(v string, known ...string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return LabelOther
}

// labelValue makes s a legal label value: client_golang panics on label
// values that are not valid UTF-8, and nothing that reaches a metric may
// panic.
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
