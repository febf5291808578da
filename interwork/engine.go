package interwork

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"iwf/session/sipsession"
	"iwf/smpp/concat"
)

// RCS is the RCS network side.
type RCS struct {
	// Sessions opens the INVITEs of MSRP sessions toward RCS users.
	Sessions Sessions
	// Trunk is where INVITEs go; the Request-URI is the recipient at the
	// next hop.
	Trunk sipsession.Trunk
	// Domain is the host of our identities (sip:+number@domain).
	Domain string
	// PagerPartner names the pager trunk for pager-mode relay toward RCS
	// users (promotion threshold/never, pager fallback); empty means there
	// is none and such messages fail.
	PagerPartner string
}

// Config wires an Engine.
type Config struct {
	// Node names this process in leases; two processes sharing a store
	// need different names, and a restarted process that keeps its name
	// takes its conversations back at once. Required.
	Node string
	// Queue, Leases and Records are the store, by role. Required.
	Queue   Queue
	Leases  Leases
	Records Records
	// Cluster shares partner limits between the nodes and lists the
	// nodes alive (cluster.go); nil keeps the limits per node.
	Cluster Cluster
	// Parts keeps the segments of concatenated SMS under reassembly, and
	// Refs hands out the references of the ones we send. Required.
	Parts    concat.PartStore
	Refs     concat.RefAllocator
	Partners []Partner
	RCS      RCS
	// SMS reaches partners over SMPP; nil when no partner uses SMPP.
	SMS SMS
	// Pager sends SIP MESSAGEs (to pager partners and the RCS pager
	// trunk); nil when there is no SIP pager side.
	Pager Pager
	// LeaseTTL is how long a dead node's conversations wait before
	// another takes them; default 10 s.
	LeaseTTL time.Duration
	// RecoverEvery is how often queued conversations nobody works on are
	// looked for; default 2 s.
	RecoverEvery time.Duration
	Metrics      Metrics
	// StoreWait bounds the store work of one ingress (reassembly, the
	// append to the queue): when Redis hangs the peer gets its "try
	// later" in time rather than its own timeout; default 3 s.
	StoreWait time.Duration
	// Now is the clock of message ages and expiry; default time.Now.
	Now func() time.Time
	// OnError records an error for the status page; nil ignores.
	OnError func(partner, where string, err error)
	Logger  *slog.Logger
}

func (c Config) check() error {
	var missing []error
	for _, r := range []struct {
		name string
		nil  bool
	}{
		{"Node", c.Node == ""}, {"Queue", c.Queue == nil}, {"Leases", c.Leases == nil},
		{"Records", c.Records == nil}, {"Parts", c.Parts == nil}, {"Refs", c.Refs == nil},
		{"RCS.Sessions", c.RCS.Sessions == nil},
	} {
		if r.nil {
			missing = append(missing, fmt.Errorf("interwork: Config.%s is required", r.name))
		}
	}
	return errors.Join(missing...)
}

// Engine is the interworking core. Create it with New, start it with
// Run, stop it by cancelling Run's context; Drain first for a graceful stop.
type Engine struct {
	cfg Config
	log *slog.Logger
	// partners is the partner set, replaced whole by SetPartners
	// (admin.go); readers take one snapshot and never see a half-made
	// one.
	partners atomic.Pointer[partnerSet]
	// suspended names the partners an operator suspended (admin.go).
	suspended sync.Map

	draining atomic.Bool

	mu sync.Mutex
	// ctx is the workers' context, derived from Run's; nil outside Run.
	ctx context.Context
	// stopped is set when Run returns: no worker starts after it.
	stopped bool
	// running is closed once Run set ctx.
	running chan struct{}
	convs   map[string]*conv
	// leaving holds, per conversation, the signal that its worker, gone
	// from convs, has settled its queue and freed the lease: a new
	// worker waits for it before taking the lease (ensureWorker).
	leaving map[string]chan struct{}
	// calls maps the calls the RCS side opened to their conversations.
	calls map[Call]convKey
	// receipts feeds the receipt senders; receiptWakes wake each
	// partner's taker of due receipts (receipts.go).
	receipts     chan receiptJob
	receiptWakes map[string]chan struct{}
	// relaying names the partners whose receipt relay runs (admin.go).
	relaying map[string]bool
	wg       sync.WaitGroup

	// rpWaiters wake the workers waiting for an RP-ACK (smsip.go).
	rpWaiters map[string]chan struct{}
	// deadlines bound the store calls and deliveries of receipts
	// (deadline.go).
	deadlines sharedDeadlines
}

// New checks cfg and builds an engine. It starts nothing: call Run.
func New(cfg Config) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, 10*time.Second)
	cfg.RecoverEvery = cmp.Or(cfg.RecoverEvery, 2*time.Second)
	cfg.StoreWait = cmp.Or(cfg.StoreWait, 3*time.Second)
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "interwork"),
		convs:    make(map[string]*conv),
		calls:    make(map[Call]convKey),
		receipts: make(chan receiptJob, 4096),
		running:  make(chan struct{}),
	}
	set, err := buildPartners(cfg.Partners, cfg.Parts, nil)
	if err != nil {
		return nil, err
	}
	e.partners.Store(set)
	return e, nil
}

// Run works until ctx ends: it resumes conversations left queued (after a
// restart, or by a dead node), listens for wake-ups from other nodes,
// renews leases, sends receipts and expires SMS reassemblies. Workers
// stop with ctx; Run returns after they did.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	started := e.ctx != nil || e.stopped
	e.mu.Unlock()
	if started {
		return errRunTwice
	}
	wake, err := e.cfg.Leases.Subscribe(ctx, e.cfg.Node)
	if err != nil {
		return fmt.Errorf("interwork: %w", err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer func() {
		// stopped under mu orders every worker start (ensureWorker)
		// before the Wait.
		e.mu.Lock()
		e.stopped = true
		e.mu.Unlock()
		stop()
		e.wg.Wait()
	}()
	e.mu.Lock()
	e.ctx = wctx
	close(e.running)
	e.mu.Unlock()
	for range receiptSenders {
		e.wg.Go(func() { e.sendReceipts(wctx) })
	}
	if e.cfg.SMS != nil && e.cfg.SMS.AcceptsBinds() {
		e.mu.Lock()
		for _, p := range e.activePartners() {
			e.startRelay(wctx, p)
		}
		e.mu.Unlock()
	}
	e.heartbeat(wctx)
	e.recover(wctx)
	tick := time.NewTicker(e.cfg.RecoverEvery)
	defer tick.Stop()
	renew := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renew.C:
			e.renewLeases(wctx)
			e.heartbeat(wctx)
		case conv, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
			e.wakeLocal(wctx, conv)
		case <-tick.C:
			e.recover(wctx)
			e.expireParts(wctx)
		}
	}
}

func (e *Engine) now() time.Time { return e.cfg.Now() }

// workCtx is the workers' context, nil when the engine is not running.
func (e *Engine) workCtx() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || e.stopped || e.ctx.Err() != nil {
		return nil
	}
	return e.ctx
}

// localConvs lists the conversations this node works on.
func (e *Engine) localConvs() []*conv {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*conv, 0, len(e.convs))
	for _, c := range e.convs {
		out = append(out, c)
	}
	return out
}

// renewLeases extends the lease of every local conversation in one round
// trip, apart from the workers, which may be busy for longer than a lease
// (opening a session). A lease not renewed is looked at again before the
// worker is stopped: a worker that just left and released it is no
// takeover, and a lease that lapsed (a store stall) is taken back when no
// other node took it.
func (e *Engine) renewLeases(ctx context.Context) {
	convs := e.localConvs()
	if len(convs) == 0 {
		return
	}
	names := make([]string, len(convs))
	for i, c := range convs {
		names[i] = c.key
	}
	held, err := e.cfg.Leases.RenewAll(ctx, names, e.cfg.Node, e.cfg.LeaseTTL)
	if err != nil {
		// Keep working: the store may be back before the leases end.
		e.log.Warn("lease renewal", "conversations", len(names), "error", err)
		return
	}
	for i, c := range convs {
		if !held[i] && e.lostLease(ctx, c) {
			c.lost.Store(true)
			e.fail(c.partner.Name, "lease", fmt.Errorf("%w: %s went to another node", errLeaseLost, c.key))
			c.cancel(errLeaseLost)
		}
	}
}

// lostLease reports whether c's lease, which was not renewed, now belongs
// to another node.
func (e *Engine) lostLease(ctx context.Context, c *conv) bool {
	e.mu.Lock()
	live := e.convs[c.key] == c && !c.gone
	e.mu.Unlock()
	if !live {
		return false // the worker left and released it
	}
	got, err := e.cfg.Leases.Acquire(ctx, c.key, e.cfg.Node, e.cfg.LeaseTTL)
	if err != nil {
		e.log.Warn("lease", "conversation", c.key, "error", err)
		return false // unknown: the next renewal looks again
	}
	return !got
}

// Drain stops taking new messages; queued ones still flow.
func (e *Engine) Drain() { e.draining.Store(true) }

// Draining reports whether Drain was called.
func (e *Engine) Draining() bool { return e.draining.Load() }

// Idle reports whether no local conversation has queued work.
func (e *Engine) Idle(ctx context.Context) bool {
	for _, c := range e.localConvs() {
		if n, err := e.cfg.Queue.QueueLen(ctx, c.key); err != nil || n > 0 {
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
	keys, err := e.cfg.Queue.PendingConversations(ctx, 1000)
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
		if _, ok := e.lookupPartner(key.Partner); !ok {
			e.log.Warn("queued conversation of an unknown partner", "key", k)
			continue
		}
		e.ensureWorker(ctx, key)
	}
}

// expireBatch is how many timed-out reassemblies of a partner one round
// settles, besides those a previous round could not.
const expireBatch = 100

// expireParts settles each partner's timed-out reassemblies. Expiry goes
// oldest first, so a message that cannot be settled (its conversation's
// shard down, a release refused) would hold up every later one once a
// batch of them piled up: each round asks for as many more as are stuck,
// so the batch always reaches past them, and retries them.
func (e *Engine) expireParts(ctx context.Context) {
	now := e.now()
	for _, p := range e.activePartners() {
		results, err := p.reasm.Expire(ctx, now, expireBatch+len(p.stuck))
		stuck := make(map[concat.Key]int)
		if err != nil {
			e.log.Warn("reassembly expiry", "partner", p.Name, "error", err)
			if ee := (*concat.ExpireError)(nil); errors.As(err, &ee) {
				for _, k := range ee.Keys {
					stuck[k] = p.stuck[k] + 1
				}
			}
		}
		for _, r := range results {
			if !e.reassembled(ctx, p, r) {
				stuck[r.Key] = p.stuck[r.Key] + 1
			}
		}
		if len(stuck) > 0 {
			p.counters.add(counterReassemblyStuck, int64(len(stuck)))
			e.log.Warn("reassemblies not settled, retried next round", "partner", p.Name, "count", len(stuck))
		}
		p.stuck = stuck
	}
}

// ensureWorker wakes the conversation's worker here, starts one when
// this node can take the lease, or tells the owner. It returns the local
// worker, nil when there is none (another node owns the conversation, or
// the engine is not running: Run's recovery will find the queue). A
// worker of the conversation that is leaving (conv.leave) is waited for
// first: it frees the lease as it goes, which must not free a
// successor's.
func (e *Engine) ensureWorker(ctx context.Context, key convKey) *conv {
	k := key.String()
	for {
		c, left := e.localWorker(k)
		if c != nil {
			return c
		}
		if left != nil {
			select {
			case <-left:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		wctx := e.workCtx()
		if wctx == nil {
			return nil
		}
		got, err := e.cfg.Leases.Acquire(ctx, k, e.cfg.Node, e.cfg.LeaseTTL)
		if err != nil {
			e.log.Warn("lease", "conversation", k, "error", err)
			return nil
		}
		if !got {
			owner, err := e.cfg.Leases.Owner(ctx, k)
			if err == nil && owner != "" {
				err = e.cfg.Leases.Notify(ctx, owner, k)
			}
			if err != nil {
				e.log.Warn("wake owner", "conversation", k, "error", err)
			}
			return nil
		}
		if c, again := e.startWorker(wctx, key); !again {
			return c
		}
	}
}

// localWorker wakes and returns k's worker here, or returns the signal of
// one that is leaving; both nil when there is neither.
func (e *Engine) localWorker(k string) (*conv, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.convs[k]; ok {
		c.wake() // under mu: conv.leave sees it
		return c, nil
	}
	return nil, e.leaving[k]
}

// startWorker starts key's worker, whose lease this node just took, and
// returns it (nil when stopping). A worker started meanwhile is woken
// and returned instead; again is true when one left meanwhile, as its
// leaving may free the lease just taken: take it again once it left.
func (e *Engine) startWorker(wctx context.Context, key convKey) (c *conv, again bool) {
	k := key.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.convs[k]; ok {
		c.wake()
		return c, false
	}
	if _, ok := e.leaving[k]; ok {
		return nil, true
	}
	if e.stopped || wctx.Err() != nil {
		// Stopping: the lease lapses and the queue waits for the next owner.
		return nil, false
	}
	cctx, cancel := context.WithCancelCause(wctx)
	c = newConv(e, key, cctx, cancel)
	e.convs[k] = c
	e.wg.Go(func() {
		defer cancel(nil)
		c.run(cctx)
	})
	return c, false
}

func (e *Engine) wakeLocal(ctx context.Context, k string) {
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
		e.ensureWorker(ctx, key)
	}
}

// attach hands a call the RCS side opened to its conversation's worker,
// starting one if needed; false when another node owns the conversation.
func (e *Engine) attach(ctx context.Context, key convKey, call Call) bool {
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
	byPartner := make(map[string][]string)
	for _, c := range e.localConvs() {
		byPartner[c.partner.Name] = append(byPartner[c.partner.Name], c.key)
	}
	order := e.activePartners()
	out := make([]PartnerStatus, 0, len(order))
	for _, p := range order {
		st := PartnerStatus{Name: p.Name, Sessions: int(p.sessions.Load()), Conversations: len(byPartner[p.Name]), Counters: p.counters.snapshot()}
		for _, k := range byPartner[p.Name] {
			if n, err := e.cfg.Queue.QueueLen(ctx, k); err == nil {
				st.QueueDepth += n
			}
		}
		out = append(out, st)
	}
	return out
}
