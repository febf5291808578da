// Package interwork is the core of the IWF: it groups pager messages
// (SMPP and SIP MESSAGE) into conversations kept in the store, promotes
// them into MSRP sessions toward the RCS side, delivers messages of
// RCS-opened sessions to the SMS and SIP pager side, and maps the
// outcomes back as delivery receipts and MSRP reports.
//
// Every message crosses the store before it is acknowledged: ingress
// appends it to its conversation's queue (a stream consumed with
// explicit acknowledgement) and only then answers 202 / submit_sm_resp /
// MSRP 200. One node at a time owns a conversation under a lease and
// runs its worker, which reads the queue (unacknowledged entries first,
// so a crash between read and send resends), sends, and acknowledges.
package interwork

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"iwf/pager"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// Store is what interwork keeps in Redis; *store.Store implements it.
type Store interface {
	Enqueue(ctx context.Context, conv, msgID string, payload []byte, dedupTTL time.Duration, maxLen int) (bool, error)
	Read(ctx context.Context, conv string, count int, block time.Duration) ([]store.Entry, error)
	Ack(ctx context.Context, conv string, ids ...string) error
	QueueLen(ctx context.Context, conv string) (int64, error)
	PendingConversations(ctx context.Context, limit int) ([]string, error)
	Settle(ctx context.Context, conv string) (bool, error)
	SaveConversation(ctx context.Context, conv string, fields map[string]string, ttl time.Duration) error
	LoadConversation(ctx context.Context, conv string) (map[string]string, error)
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	Renew(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, name, owner string) error
	Owner(ctx context.Context, name string) (string, error)
	Hit(ctx context.Context, key string, window time.Duration) (int64, error)
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Push(ctx context.Context, list string, value []byte, maxLen int) error
	Pop(ctx context.Context, list string, block time.Duration) ([]byte, bool, error)
	Notify(ctx context.Context, node, conv string) error
	Subscribe(ctx context.Context, node string) (<-chan string, error)
	Count(ctx context.Context, name string, by int64) error
	concat.Backend
}

// Metrics receives events for /metrics; *status.Metrics implements it.
type Metrics interface {
	Message(partner, direction, ingress, outcome string)
	SessionOpen(partner string, ok bool)
	Delivery(partner, direction string, d time.Duration)
	Error(partner, where string)
}

// RCS is the RCS network side.
type RCS struct {
	// Sessions opens and answers the INVITEs of MSRP sessions. Its
	// OnIncoming and OnMessage must call Engine.Incoming and
	// Engine.Message, and ManualReports must be set.
	Sessions *sipsession.Manager
	// Trunk is where INVITEs go; the Request-URI is the recipient at the
	// next hop.
	Trunk sipsession.Trunk
	// Domain is the host of our identities (sip:+number@domain).
	Domain string
	// PagerPartner names the pager.Sender trunk for pager-mode relay
	// toward RCS users (promotion threshold/never, pager fallback); empty
	// means there is none and such messages fail.
	PagerPartner string
}

// Config wires an Engine.
type Config struct {
	// Node names this process in leases; two processes sharing a store
	// need different names, and a restarted process that keeps its name
	// takes its conversations back at once.
	Node     string
	Store    Store
	Partners []Partner
	RCS      RCS
	// SMPPServer delivers to partner ESMEs; nil when none bind to us.
	SMPPServer *smpp.Server
	// SMPPClients submit to partners' SMSCs, by partner name.
	SMPPClients map[string]*smpp.Client
	// Pager sends SIP MESSAGEs (to pager partners and the RCS pager
	// trunk); nil when there is no SIP pager side.
	Pager *pager.Sender
	// LeaseTTL is how long a dead node's conversations wait before
	// another takes them; default 10 s.
	LeaseTTL time.Duration
	// RecoverEvery is how often queued conversations nobody works on are
	// looked for; default 2 s.
	RecoverEvery time.Duration
	Metrics      Metrics
	// OnError records an error for the status page; nil ignores.
	OnError func(partner, where string, err error)
	Logger  *slog.Logger
}

// Engine is the interworking core. Create it with New, start it with
// Run, stop it by cancelling Run's context; Drain first for a graceful stop.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	partners map[string]*partner
	order    []*partner
	reasm    *concat.Reassembler
	refs     concat.RefAllocator

	// ctx is the workers' context: it ends when Run's does (or at once
	// when Run never started and stop is called).
	ctx      context.Context
	stop     context.CancelFunc
	draining atomic.Bool

	mu    sync.Mutex
	convs map[string]*conv
	// receipts feeds the receipt senders.
	receipts chan receiptJob
	// calls maps the calls the RCS side opened to their conversations.
	calls map[*sipsession.Call]convKey
	wg    sync.WaitGroup
}

// ErrDraining refuses new traffic while the engine drains.
var ErrDraining = errors.New("interwork: draining")

// New checks cfg and builds an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("interwork: no store")
	}
	if cfg.RCS.Sessions == nil {
		return nil, errors.New("interwork: no session manager")
	}
	if cfg.Node == "" {
		h, _ := os.Hostname()
		cfg.Node = h
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.RecoverEvery <= 0 {
		cfg.RecoverEvery = 2 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "interwork"),
		partners: make(map[string]*partner),
		convs:    make(map[string]*conv),
		refs:     concat.NewSharedRefs(cfg.Store),
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.receipts = make(chan receiptJob, 4096)
	e.wg.Add(receiptSenders)
	for range receiptSenders {
		go e.sendReceipts()
	}
	reasmTimeout := time.Duration(0)
	policy := concat.DeliverPartial
	for i, pc := range cfg.Partners {
		p, err := newPartner(pc)
		if err != nil {
			return nil, fmt.Errorf("interwork: partners[%d]: %w", i, err)
		}
		if _, dup := e.partners[p.Name]; dup {
			return nil, fmt.Errorf("interwork: partner %q twice", p.Name)
		}
		e.partners[p.Name] = p
		e.order = append(e.order, p)
		// One reassembler serves every partner: its timeout is the
		// longest asked for, its policy the first partner's.
		reasmTimeout = max(reasmTimeout, p.SMS.ReassemblyTimeout)
		if i == 0 {
			policy = p.SMS.Incomplete
		}
	}
	r, err := concat.NewReassembler(concat.NewSharedStore(cfg.Store, 100000, e.log), concat.Config{Timeout: reasmTimeout, Policy: policy})
	if err != nil {
		return nil, fmt.Errorf("interwork: %w", err)
	}
	e.reasm = r
	return e, nil
}

// Run works until ctx ends: it resumes conversations left queued (after a
// restart, or by a dead node), listens for wake-ups from other nodes,
// and expires SMS reassemblies. Workers stop with ctx; Run returns after
// they did.
func (e *Engine) Run(ctx context.Context) error {
	defer e.wg.Wait()
	defer e.stop()
	stopWorkers := context.AfterFunc(ctx, e.stop)
	defer stopWorkers()
	wake, err := e.cfg.Store.Subscribe(ctx, e.cfg.Node)
	if err != nil {
		return fmt.Errorf("interwork: %w", err)
	}
	if e.cfg.SMPPServer != nil {
		for _, p := range e.order {
			e.wg.Add(1)
			go e.relayReceipts(e.ctx, p)
		}
	}
	e.recover(ctx)
	tick := time.NewTicker(e.cfg.RecoverEvery)
	defer tick.Stop()
	renew := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renew.C:
			e.renewLeases(ctx)
		case conv, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
			e.wakeLocal(conv)
		case <-tick.C:
			e.recover(ctx)
			e.expireParts(ctx)
		}
	}
}

// renewLeases extends the lease of every local conversation, apart from
// the workers, which may be busy for longer than a lease (opening a
// session). A worker whose lease went to another node stops at once.
func (e *Engine) renewLeases(ctx context.Context) {
	e.mu.Lock()
	convs := make([]*conv, 0, len(e.convs))
	for _, c := range e.convs {
		convs = append(convs, c)
	}
	e.mu.Unlock()
	for _, c := range convs {
		ok, err := e.cfg.Store.Renew(ctx, c.key, e.cfg.Node, e.cfg.LeaseTTL)
		if err != nil {
			// Keep working: the store may be back before the lease ends.
			e.log.Warn("lease renewal", "conversation", c.key, "error", err)
			continue
		}
		if !ok {
			c.lost.Store(true)
			e.fail(c.partner.Name, "lease", errors.New("lease of "+c.key+" lost to another node"))
			c.cancel(errLeaseLost)
		}
	}
}

var errLeaseLost = errors.New("interwork: lease lost")

// Drain stops taking new messages; queued ones still flow.
func (e *Engine) Drain() { e.draining.Store(true) }

// Idle reports whether no local conversation has queued work.
func (e *Engine) Idle(ctx context.Context) bool {
	e.mu.Lock()
	keys := make([]string, 0, len(e.convs))
	for k := range e.convs {
		keys = append(keys, k)
	}
	e.mu.Unlock()
	for _, k := range keys {
		if n, err := e.cfg.Store.QueueLen(ctx, k); err != nil || n > 0 {
			return false
		}
	}
	return true
}

// recover starts workers for queued conversations no live node owns.
func (e *Engine) recover(ctx context.Context) {
	if e.draining.Load() {
		return
	}
	keys, err := e.cfg.Store.PendingConversations(ctx, 1000)
	if err != nil {
		e.log.Warn("pending conversations", "error", err)
		return
	}
	for _, k := range keys {
		e.mu.Lock()
		_, local := e.convs[k]
		e.mu.Unlock()
		if local {
			continue
		}
		key, err := parseConvKey(k)
		if err != nil {
			e.log.Warn("unreadable conversation key", "key", k, "error", err)
			continue
		}
		if _, ok := e.partners[key.Partner]; !ok {
			e.log.Warn("queued conversation of an unknown partner", "key", k)
			continue
		}
		e.ensureWorker(ctx, key)
	}
}

func (e *Engine) expireParts(ctx context.Context) {
	results, err := e.reasm.Expire(ctx, time.Now(), 100)
	if err != nil {
		e.log.Warn("reassembly expiry", "error", err)
		return
	}
	for _, r := range results {
		e.reassembled(ctx, r)
	}
}

// ensureWorker wakes the conversation's worker here, starts one when
// this node can take the lease, or tells the owner.
func (e *Engine) ensureWorker(ctx context.Context, key convKey) *conv {
	k := key.String()
	e.mu.Lock()
	c, ok := e.convs[k]
	if ok {
		c.wake() // under mu: conv.leave sees it
	}
	e.mu.Unlock()
	if ok {
		return c
	}
	got, err := e.cfg.Store.Acquire(ctx, k, e.cfg.Node, e.cfg.LeaseTTL)
	if err != nil {
		e.log.Warn("lease", "conversation", k, "error", err)
		return nil
	}
	if !got {
		owner, err := e.cfg.Store.Owner(ctx, k)
		if err == nil && owner != "" {
			err = e.cfg.Store.Notify(ctx, owner, k)
		}
		if err != nil {
			e.log.Warn("wake owner", "conversation", k, "error", err)
		}
		return nil
	}
	e.mu.Lock()
	if c, ok = e.convs[k]; ok {
		e.mu.Unlock()
		c.wake()
		return c
	}
	c = newConv(e, key)
	e.convs[k] = c
	e.wg.Add(1)
	e.mu.Unlock()
	wctx, cancel := context.WithCancelCause(e.ctx)
	c.cancel = cancel
	go func() {
		defer cancel(nil)
		c.run(wctx)
	}()
	return c
}

func (e *Engine) wakeLocal(k string) {
	e.mu.Lock()
	c, ok := e.convs[k]
	if ok {
		c.wake()
	}
	e.mu.Unlock()
	if ok {
		return
	}
	if key, err := parseConvKey(k); err == nil {
		e.ensureWorker(e.ctx, key)
	}
}

// attach hands a call the RCS side opened to its conversation's worker,
// starting one if needed; false when another node owns the conversation.
func (e *Engine) attach(ctx context.Context, key convKey, call *sipsession.Call) bool {
	for range 3 {
		c := e.ensureWorker(ctx, key)
		if c == nil {
			return false
		}
		e.mu.Lock()
		if !c.gone {
			select {
			case c.attachCh <- call:
			default:
				// A burst of calls for one conversation: the newest waits
				// its turn with the worker.
				e.mu.Unlock()
				select {
				case c.attachCh <- call:
				case <-ctx.Done():
				}
				return true
			}
			e.mu.Unlock()
			return true
		}
		e.mu.Unlock()
	}
	return false
}

func (e *Engine) fail(partner, where string, err error) {
	e.cfg.Metrics.Error(partner, where)
	if e.cfg.OnError != nil {
		e.cfg.OnError(partner, where, err)
	}
	e.log.Warn(where, "partner", partner, "error", err)
}

// PartnerStatus is one partner's live figures on this node.
type PartnerStatus struct {
	Name          string
	Sessions      int
	Conversations int
	QueueDepth    int64
	Counters      map[string]int64
}

// Status returns each partner's figures, in configuration order.
func (e *Engine) Status(ctx context.Context) []PartnerStatus {
	e.mu.Lock()
	byPartner := make(map[string][]string)
	for k, c := range e.convs {
		byPartner[c.partner.Name] = append(byPartner[c.partner.Name], k)
	}
	e.mu.Unlock()
	out := make([]PartnerStatus, 0, len(e.order))
	for _, p := range e.order {
		st := PartnerStatus{Name: p.Name, Sessions: int(p.sessions.Load()), Conversations: len(byPartner[p.Name]), Counters: p.counters.snapshot()}
		for _, k := range byPartner[p.Name] {
			if n, err := e.cfg.Store.QueueLen(ctx, k); err == nil {
				st.QueueDepth += n
			}
		}
		out = append(out, st)
	}
	return out
}

type nopMetrics struct{}

func (nopMetrics) Message(string, string, string, string) {}
func (nopMetrics) SessionOpen(string, bool)               {}
func (nopMetrics) Delivery(string, string, time.Duration) {}
func (nopMetrics) Error(string, string)                   {}

// Draining reports whether Drain was called.
func (e *Engine) Draining() bool { return e.draining.Load() }
