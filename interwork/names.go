package interwork

// direction is the way a queued message goes. Its value is stored in the
// queue: do not change it.
type direction string

const (
	toRCS direction = "rcs" // flow 1: pager side -> MSRP session
	toSMS direction = "sms" // flow 2: MSRP session -> pager side
)

// metric names the direction in /metrics.
func (d direction) metric() string {
	if d == toSMS {
		return "to_pager"
	}
	return "to_session"
}

// ingress is where a message came in; stored in the queue and used in
// counter and metric names.
type ingress string

const (
	ingressSIP  ingress = "sip"
	ingressSMPP ingress = "smpp"
	ingressMSRP ingress = "msrp"
)

// convState is the state of a conversation record (DESIGN flow 1 step 3).
type convState string

const (
	stateOpening convState = "opening"
	stateActive  convState = "active"
	stateClosing convState = "closing"
	stateIdle    convState = "idle"
)

// counter names a partner counter on the status page.
type counter string

const (
	counterOutMSRP        counter = "out_msrp"
	counterFailed         counter = "failed"
	counterThrottled      counter = "throttled"
	counterRefused        counter = "refused"
	counterDuplicates     counter = "duplicates"
	counterRelayed        counter = "relayed"
	counterSMSCReceipts   counter = "smsc_receipts"
	counterReceipts       counter = "receipts"
	counterReceiptsParked counter = "receipts_parked"
	// counterReassemblyStuck counts timed-out reassemblies an expiry
	// round could not settle (retried the next round).
	counterReassemblyStuck counter = "reassembly_stuck"
)

// counterIn counts messages accepted from an ingress: in_smpp, in_sip,
// in_msrp, in_smsip. The status reports SMS over IP senders are owed
// count as smsip_reports: they come from no one.
func counterIn(in ingress) counter {
	if in == ingressSMSIPReport {
		return counterSMSIPReports
	}
	return counter("in_" + in)
}

// counterOut counts messages delivered to a partner: out_smpp, out_sip.
func counterOut(v Via) counter { return counter("out_" + v) }

// The outcomes of the iwf_messages_total metric.
const (
	outcomeAccepted  = "accepted"
	outcomeRefused   = "refused"
	outcomeDuplicate = "duplicate"
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"
	outcomeRelayed   = "relayed"
)
