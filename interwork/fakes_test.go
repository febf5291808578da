package interwork

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session"
	"iwf/session/msrpsdp"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// The fakes below stand in for the store and the sides in unit tests of
// the conversation worker; the flow tests run the same engine on real
// Redis, SIP, MSRP and SMPP.

// memStore is Queue, Leases and Records in memory.
type memStore struct {
	mu      sync.Mutex
	seq     int
	queues  map[string][]store.Entry
	seen    map[string]bool
	pending map[string]bool
	leases  map[string]string
	records map[string]map[string]string
	// renewFails makes Renew answer that the lease went elsewhere.
	renewFails bool
	released   []string
	// ackFails makes that many acks fail, as a store at maxmemory does;
	// acks counts the attempts.
	ackFails, acks int
	// ackReads counts the acknowledgements made with the next read;
	// ackReadGate, when set, keeps them from reaching the store until it
	// is closed (ackReadsHeld count those waiting).
	ackReads, ackReadsHeld int
	ackReadGate            chan struct{}
	// hang makes Enqueue wait for its context, as a stopped Redis does.
	hang bool
	// sched are the schedules, kv the Put values.
	sched map[string]map[string]memJob
	kv    map[string][]byte
	// downConv makes Enqueue to that conversation fail, as a Redis
	// Cluster shard that is down does.
	downConv string
	// readGate, when set, keeps Read from answering until it is closed.
	readGate chan struct{}
	// schedHold, when set, makes each Schedule take a token from it
	// first, as a slow store; schedWaiting counts those waiting.
	schedHold    chan struct{}
	schedWaiting int
	// schedHoldIf, when set, holds only the Schedules of the values it
	// picks.
	schedHoldIf func(value []byte) bool
	// onAck, when set, sees each acknowledgement the store takes, with
	// mu held.
	onAck func(conv string, ids []string)
}

func newMemStore() *memStore {
	return &memStore{queues: map[string][]store.Entry{}, seen: map[string]bool{}, pending: map[string]bool{},
		leases: map[string]string{}, records: map[string]map[string]string{}}
}

func (m *memStore) Enqueue(ctx context.Context, conv, msgID string, payload []byte, _ time.Duration, maxLen int) (bool, error) {
	m.mu.Lock()
	if m.hang {
		m.mu.Unlock()
		// A Redis that stopped answering: the call waits for its context.
		<-ctx.Done()
		return false, ctx.Err()
	}
	defer m.mu.Unlock()
	if conv == m.downConv {
		return false, errors.New("memStore: CLUSTERDOWN")
	}
	// As the store: no id, no duplicate marker (ids we make up).
	if msgID != "" && m.seen[conv+"\x00"+msgID] {
		return true, nil
	}
	if len(m.queues[conv]) >= maxLen {
		return false, store.ErrQueueFull
	}
	if msgID != "" {
		m.seen[conv+"\x00"+msgID] = true
	}
	m.seq++
	m.queues[conv] = append(m.queues[conv], store.Entry{ID: strconv.Itoa(m.seq), MsgID: msgID, Payload: payload})
	m.pending[conv] = true
	return false, nil
}

func (m *memStore) Read(ctx context.Context, conv string, count int, _ time.Duration) ([]store.Entry, error) {
	m.mu.Lock()
	gate := m.readGate
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[conv]
	return slices.Clone(q[:min(count, len(q))]), nil
}

func (m *memStore) AckOwned(_ context.Context, conv, owner string, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acks++
	if m.ackFails > 0 {
		m.ackFails--
		return errors.New("memStore: OOM command not allowed")
	}
	if m.leases[conv] != owner {
		return store.ErrNotHolder
	}
	if m.onAck != nil {
		m.onAck(conv, ids)
	}
	m.queues[conv] = slices.DeleteFunc(m.queues[conv], func(e store.Entry) bool { return slices.Contains(ids, e.ID) })
	return nil
}

func (m *memStore) AckOwnedRead(ctx context.Context, conv, owner string, ids []string, count int) ([]store.Entry, error) {
	m.mu.Lock()
	m.ackReads++
	gate := m.ackReadGate
	if gate != nil {
		m.ackReadsHeld++
	}
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := m.AckOwned(ctx, conv, owner, ids...); err != nil {
		return nil, err
	}
	return m.Read(ctx, conv, count, 0)
}

func (m *memStore) QueueLen(_ context.Context, conv string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.queues[conv])), nil
}

func (m *memStore) PendingConversations(_ context.Context, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.pending {
		if len(out) < limit {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memStore) Settle(_ context.Context, conv string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queues[conv]) > 0 {
		return false, nil
	}
	delete(m.pending, conv)
	return true, nil
}

func (m *memStore) Acquire(_ context.Context, name, owner string, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.leases[name]; ok && o != owner {
		return false, nil
	}
	m.leases[name] = owner
	return true, nil
}

func (m *memStore) RenewAll(_ context.Context, names []string, owner string, _ time.Duration) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]bool, len(names))
	for i, name := range names {
		if m.renewFails {
			m.leases[name] = "other-node"
		}
		out[i] = m.leases[name] == owner
	}
	return out, nil
}

func (m *memStore) Release(_ context.Context, name, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.released = append(m.released, name)
	if m.leases[name] == owner {
		delete(m.leases, name)
	}
	return nil
}

func (m *memStore) Owner(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leases[name], nil
}

func (m *memStore) Notify(context.Context, string, string) error { return nil }

func (m *memStore) Subscribe(context.Context, string) (<-chan string, error) {
	return make(chan string), nil
}

func (m *memStore) SaveConversation(_ context.Context, conv string, fields map[string]string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[conv] = fields
	return nil
}

func (m *memStore) LoadConversation(_ context.Context, conv string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.records[conv], nil
}

func (m *memStore) Hit(context.Context, string, time.Duration) (int64, error) { return 1, nil }

func (m *memStore) Push(context.Context, string, []byte, int, time.Duration) error { return nil }

func (m *memStore) Pop(ctx context.Context, _ string, block time.Duration) ([]byte, bool, error) {
	if block > 0 {
		<-ctx.Done()
	}
	return nil, false, nil
}

// memJob is one job of a schedule in memory.
type memJob struct {
	value []byte
	due   time.Time
}

func (m *memStore) Schedule(ctx context.Context, name, id string, value []byte, due time.Time, maxLen int, _ time.Duration) error {
	m.mu.Lock()
	if hold := m.schedHold; hold != nil && (m.schedHoldIf == nil || m.schedHoldIf(value)) {
		m.schedWaiting++
		m.mu.Unlock()
		// A held write outlasts its deadline (the test decides when the
		// store answers), not its caller's cancellation.
		var err error
		select {
		case <-hold:
		case <-ctx.Done():
			if err = ctx.Err(); !errors.Is(err, context.Canceled) {
				err = nil
				<-hold
			}
		}
		m.mu.Lock()
		m.schedWaiting--
		if err != nil {
			m.mu.Unlock()
			return err
		}
	}
	defer m.mu.Unlock()
	if m.sched == nil {
		m.sched = map[string]map[string]memJob{}
	}
	if m.sched[name] == nil {
		m.sched[name] = map[string]memJob{}
	}
	if _, ok := m.sched[name][id]; !ok && len(m.sched[name]) >= maxLen {
		return store.ErrQueueFull
	}
	m.sched[name][id] = memJob{value: slices.Clone(value), due: due}
	return nil
}

func (m *memStore) TakeDue(_ context.Context, name string, now time.Time, hold time.Duration, count int) ([]store.Scheduled, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Scheduled
	for id, j := range m.sched[name] {
		if len(out) < count && !j.due.After(now) {
			out = append(out, store.Scheduled{ID: id, Value: slices.Clone(j.value)})
			j.due = now.Add(hold)
			m.sched[name][id] = j
		}
	}
	return out, nil
}

func (m *memStore) settleJob(name, id string, value []byte, due *time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.sched[name][id]
	if !ok || string(j.value) != string(value) {
		return false
	}
	if due == nil {
		delete(m.sched[name], id)
	} else {
		j.due = *due
		m.sched[name][id] = j
	}
	return true
}

func (m *memStore) Reschedule(_ context.Context, name, id string, value []byte, due time.Time) (bool, error) {
	return m.settleJob(name, id, value, &due), nil
}

func (m *memStore) Unschedule(_ context.Context, name, id string, value []byte) (bool, error) {
	return m.settleJob(name, id, value, nil), nil
}

// owed returns the ids of the jobs in a schedule.
// holdSchedules makes Schedules wait for a token of the returned
// channel (close it to let all through; the test's end does).
func (m *memStore) holdSchedules(t *testing.T) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	hold := make(chan struct{})
	m.schedHold = hold
	t.Cleanup(func() {
		select {
		case <-hold: // closed by the test
		default:
			close(hold)
		}
	})
	return hold
}

// schedulesWaiting is how many Schedules wait for a token.
func (m *memStore) schedulesWaiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.schedWaiting
}

func (m *memStore) owed(name string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.sched[name] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *memStore) Put(_ context.Context, key string, value []byte, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kv == nil {
		m.kv = map[string][]byte{}
	}
	m.kv[key] = slices.Clone(value)
	return nil
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[key]
	return v, ok, nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.kv, key)
	return nil
}

// fakeSessions opens calls as scripted: each Open takes the next answer.
type fakeSessions struct {
	mu      sync.Mutex
	answers []error // nil opens a call
	opens   int
	// block makes Open wait for its context, as a slow INVITE does.
	block bool
	calls chan *fakeCall
	// hold, when set, keeps each Send of the calls opened from returning
	// until it is closed.
	hold chan struct{}
	// sendErrs answer the first Sends, whatever call they go on.
	sendErrs []error
}

// nextSendErr takes the answer of the next Send.
func (f *fakeSessions) nextSendErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sendErrs) == 0 {
		return nil
	}
	err := f.sendErrs[0]
	f.sendErrs = f.sendErrs[1:]
	return err
}

func (f *fakeSessions) Open(ctx context.Context, _ sipsession.OpenRequest) (Call, error) {
	f.mu.Lock()
	f.opens++
	var err error
	if len(f.answers) > 0 {
		err, f.answers = f.answers[0], f.answers[1:]
	}
	block := f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	c := newFakeCall()
	c.hold = f.hold
	c.sessions = f
	f.calls <- c
	return c, nil
}

func (f *fakeSessions) openCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens
}

// fakeCall records what is sent into it.
type fakeCall struct {
	sent     chan *session.OutgoingMessage
	events   chan sipsession.Event
	done     chan struct{}
	once     sync.Once
	hold     chan struct{}
	sessions *fakeSessions
	// inFlight counts the messages queued and not yet waited for;
	// maxInFlight is the most there were at once.
	inFlight, maxInFlight atomic.Int32
}

func newFakeCall() *fakeCall {
	return &fakeCall{sent: make(chan *session.OutgoingMessage, 16), events: make(chan sipsession.Event), done: make(chan struct{})}
}

func (c *fakeCall) Send(_ context.Context, m *session.OutgoingMessage) (string, error) {
	if c.sessions != nil {
		if err := c.sessions.nextSendErr(); err != nil {
			return "", err
		}
	}
	c.sent <- m
	if c.hold != nil {
		<-c.hold
	}
	return m.MessageID, nil
}

// Queue records m as sent at once, as the wire has it; the answer Send
// would give comes from Wait.
func (c *fakeCall) Queue(_ context.Context, m *session.OutgoingMessage) (sipsession.Pending, error) {
	if c.sessions != nil {
		if err := c.sessions.nextSendErr(); err != nil {
			return fakePending{id: m.MessageID, err: err}, nil
		}
	}
	c.sent <- m
	if n := c.inFlight.Add(1); n > c.maxInFlight.Load() {
		c.maxInFlight.Store(n) // Queue is called from one goroutine
	}
	return fakePending{id: m.MessageID, hold: c.hold, call: c}, nil
}

// fakePending is the answer to a message queued into a fakeCall.
type fakePending struct {
	id   string
	err  error
	hold chan struct{}
	call *fakeCall // set when it counts in the call's inFlight
}

func (p fakePending) Wait(context.Context) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if p.hold != nil {
		<-p.hold
	}
	p.call.inFlight.Add(-1)
	return p.id, nil
}

func (c *fakeCall) Events() <-chan sipsession.Event { return c.events }
func (c *fakeCall) Done() <-chan struct{}           { return c.done }
func (c *fakeCall) Close(context.Context) error {
	c.once.Do(func() { close(c.done); close(c.events) })
	return nil
}
func (c *fakeCall) CallID() string                  { return "call-1" }
func (c *fakeCall) ConversationID() string          { return "conv-1" }
func (c *fakeCall) ContributionID() string          { return "contrib-1" }
func (c *fakeCall) Direction() sipsession.Direction { return sipsession.Outgoing }
func (c *fakeCall) MSRPSessionID() string           { return "msrp-1" }
func (c *fakeCall) Negotiated() msrpsdp.Negotiated  { return msrpsdp.Negotiated{} }

// fakePager records the MESSAGEs relayed pager-mode and answers them 202.
type fakePager struct{ sent chan pager.Outgoing }

func (f *fakePager) SendText(_ context.Context, m pager.Outgoing) ([]pager.Result, error) {
	f.sent <- m
	return []pager.Result{{Status: 202}}, nil
}

// fakeSMS takes receipts toward partner ESMEs, and sends: each Send takes
// the next of answers (none left: accepted) and is recorded.
type fakeSMS struct {
	receipts chan *smpp.Message
	mu       sync.Mutex
	answers  []error
	sent     []*smpp.Message
	// deliverErrs answer the first receipts delivered; each is still
	// recorded on receipts.
	deliverErrs []error
	// noReceiver says no ESME has a receiving bind: receipts wait in
	// the store.
	noReceiver bool
}

func (f *fakeSMS) Send(_ context.Context, _ string, m *smpp.Message, _ bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.answers) > 0 {
		err := f.answers[0]
		f.answers = f.answers[1:]
		if err != nil {
			return "", err
		}
	}
	f.sent = append(f.sent, m)
	return "", nil
}

func (f *fakeSMS) sends() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}
func (f *fakeSMS) AcceptsBinds() bool { return true }
func (f *fakeSMS) Deliver(ctx context.Context, _ string, m *smpp.Message) error {
	select {
	case f.receipts <- m:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deliverErrs) > 0 {
		err := f.deliverErrs[0]
		f.deliverErrs = f.deliverErrs[1:]
		return err
	}
	return nil
}
func (f *fakeSMS) HasReceiver(string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.noReceiver
}

// unit is an engine on fakes, running until the test ends.
type unit struct {
	eng      *Engine
	st       *memStore
	parts    *concat.MemoryStore
	sessions *fakeSessions
	pager    *fakePager
	sms      *fakeSMS
	done     chan struct{}
	// stop stops the engine and waits for it.
	stop func()
}

func startUnit(t *testing.T, pol Policy, answers ...error) *unit {
	t.Helper()
	return startUnitClock(t, pol, nil, answers...)
}

// startUnitClock is startUnit with the engine's clock.
func startUnitClock(t *testing.T, pol Policy, now func() time.Time, answers ...error) *unit {
	t.Helper()
	p := Partner{Name: "p", Numbers: []string{"+"}, DeliverVia: ViaSMPP, Policy: pol}
	return startUnitPartners(t, now, []Partner{p}, answers...)
}

// startUnitPartners is startUnitClock with the partners given.
func startUnitPartners(t *testing.T, now func() time.Time, partners []Partner, answers ...error) *unit {
	t.Helper()
	u := &unit{
		st:       newMemStore(),
		parts:    concat.NewMemoryStore(),
		sessions: &fakeSessions{answers: answers, calls: make(chan *fakeCall, 8)},
		pager:    &fakePager{sent: make(chan pager.Outgoing, 8)},
		sms:      &fakeSMS{receipts: make(chan *smpp.Message, 8)},
		done:     make(chan struct{}),
	}
	var err error
	u.eng, err = New(Config{
		Node: "n1", Queue: u.st, Leases: u.st, Records: u.st,
		Parts: u.parts, Refs: concat.NewMemoryRefs(100, 1),
		Partners: partners,
		RCS:      RCS{Sessions: u.sessions, Trunk: sipsession.DefaultTrunk(), Domain: "iwf.test", PagerPartner: "rcs"},
		SMS:      u.sms, Pager: u.pager,
		LeaseTTL: 30 * time.Millisecond, RecoverEvery: 10 * time.Millisecond,
		Now:       now,
		StoreWait: 50 * time.Millisecond,
		Logger:    testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	u.run(t)
	return u
}

// run runs the unit's engine until the test's cleanup (or u.stop), and
// returns once it is running: receipts queued before Run are not sent,
// so a test's first submit waits for it.
func (u *unit) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { defer close(u.done); _ = u.eng.Run(ctx) }()
	u.stop = func() { cancel(); <-u.done }
	t.Cleanup(u.stop)
	<-u.eng.running
}

// submit hands the engine a submit_sm asking for a delivery receipt, as
// an ESME of partner p sends it.
func (u *unit) submit(t *testing.T, text string) {
	t.Helper()
	u.submitValid(t, text, "")
}

// submitValid is submit with an SMPP validity_period.
func (u *unit) submitValid(t *testing.T, text, validity string) {
	t.Helper()
	msgs, err := smpp.TextMessages(smsAddr("+46700000001"), smsAddr("+46700000002"), text, smpp.TextOptions{}, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	msgs[0].RegisteredDelivery = 1
	msgs[0].ValidityPeriod = validity
	if _, err := u.eng.HandleSubmit(testutil.Context(t), "p", msgs[0]); err != nil {
		t.Fatal(err)
	}
}

// nextCall awaits the next session the engine opens.
func (u *unit) nextCall(t *testing.T) *fakeCall {
	t.Helper()
	select {
	case c := <-u.sessions.calls:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no session opened")
		return nil
	}
}

// nextSent awaits the next message sent into c.
func (c *fakeCall) nextSent(t *testing.T) *session.OutgoingMessage {
	t.Helper()
	select {
	case m := <-c.sent:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("nothing sent into the session")
		return nil
	}
}

// receipt awaits the next delivery receipt toward the ESME.
func (u *unit) receipt(t *testing.T) string {
	t.Helper()
	select {
	case m := <-u.sms.receipts:
		return string(m.ShortMessage)
	case <-time.After(30 * time.Second):
		t.Fatal("no receipt")
		return ""
	}
}

func (u *unit) queueLen(t *testing.T) int64 {
	t.Helper()
	n, err := u.st.QueueLen(testutil.Context(t), testKey("p", "+46700000001", "+46700000002").String())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
