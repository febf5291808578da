package interwork

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"iwf/internal/iwftest"
	"iwf/internal/sipstack"
	"iwf/internal/sipstack/sipstacktest"
	"iwf/internal/testutil"
	"iwf/pager"
	"iwf/session"
	"iwf/session/msrptest"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/smpp/concat"
	"iwf/store"
)

// testKey is the key of a conversation between two parties given as
// strings, read as ingress reads them.
func testKey(partner, sms, rcs string) convKey {
	return convKey{partner, readParty(sms), readParty(rcs)}
}

// iwf is the system under test with its SIP stack, MSRP endpoint, SMPP
// server and store.
type iwf struct {
	eng    *Engine
	st     *sipstack.Stack
	smpp   *smpp.Server
	store  *store.Store
	mgr    *sipsession.Manager
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// rcsSide is where the RCS trunk leads: an iwftest.RCS, or a RawRCS.
type rcsSide interface{ TCP() string }

// startIWF starts an engine for partners toward rcs, on the Redis at
// redisAddr.
func startIWF(t testing.TB, redisAddr string, rcs rcsSide, node string, partners ...Partner) *iwf {
	t.Helper()
	return startIWFWith(t, redisAddr, rcs, node, partners, nil)
}

// startIWFWith also runs the SIP pager side when trunks are given: MESSAGE
// in from them, MESSAGE out to them; the trunk named "rcs" is the pager
// trunk toward the RCS side. As in cmd/iwf, the sides are built first and
// take the engine as their handler once it exists, before they serve.
func startIWFWith(t testing.TB, redisAddr string, rcs rcsSide, node string, partners []Partner, trunks []pager.Trunk) *iwf {
	t.Helper()
	return startIWFOpts(t, redisAddr, rcs, node, partners, iwfOptions{trunks: trunks})
}

// iwfOptions are the less common settings of a node under test.
type iwfOptions struct {
	trunks []pager.Trunk
	// smscs binds the node as an ESME to an SMSC, by partner name.
	smscs map[string]string
	// now is the engine's clock.
	now func() time.Time
	// msrp configures the node's MSRP endpoint (its transaction
	// timeout, say); zero values take the defaults.
	msrp session.Config
}

// startIWFOpts is startIWFWith with options.
func startIWFOpts(t testing.TB, redisAddr string, rcs rcsSide, node string, partners []Partner, o iwfOptions) *iwf {
	t.Helper()
	trunks := o.trunks
	ctx, cancel := context.WithCancel(context.Background())
	w := &iwf{cancel: cancel, done: make(chan struct{})}
	st, err := store.Open(ctx, storeConfig(redisAddr), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	w.store = st
	var sps []smpp.ServerPartner
	for _, p := range partners {
		sps = append(sps, smpp.ServerPartner{Name: p.Name, SystemID: p.Name, Password: "pw", MaxBinds: 4, Window: 100})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if w.smpp, err = smpp.NewServer(ln, smpp.ServerConfig{Partners: sps}, nil, testutil.Logger(t)); err != nil {
		t.Fatal(err)
	}
	clients := map[string]*smpp.Client{}
	for name, addr := range o.smscs {
		c, err := smpp.NewClient(smpp.ClientConfig{Partner: name, Address: addr, SystemID: "iwf", Password: "pw"}, nil, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		clients[name] = c
	}
	ep := msrptest.NewEndpoint(t, o.msrp)
	trunk := sipsession.DefaultTrunk()
	trunk.NextHop = "sip:" + rcs.TCP() + ";transport=tcp"
	trunk.InviteTimeout = 5 * time.Second
	// The stack calls this after its listeners exist and before it serves.
	w.st = sipstacktest.Start(t, func(stk *sipstack.Stack, srv *sipgo.Server) {
		w.mgr, err = sipsession.New(sipsession.Config{Stack: stk, Endpoint: ep, Logger: testutil.Logger(t), ManualReports: true})
		if err != nil {
			t.Fatal(err)
		}
		var (
			tt     *pager.Trunks
			sender *pager.Sender
			pg     Pager
		)
		if len(trunks) > 0 {
			if tt, err = pager.NewTrunks(trunks); err != nil {
				t.Fatal(err)
			}
			if sender, err = pager.NewSender(pager.SenderConfig{Trunks: tt, Clients: stk, Domain: stk.Domain(), Logger: testutil.Logger(t)}); err != nil {
				t.Fatal(err)
			}
			pg = sender
		}
		w.eng, err = New(Config{
			Node: node, Queue: st, Leases: st, Records: st,
			Parts: concat.NewSharedStore(st, testutil.Logger(t)), Refs: concat.NewSharedRefs(st),
			Partners:     partners,
			RCS:          RCS{Sessions: ManagerSessions{w.mgr}, Trunk: trunk, Domain: "iwf.test", PagerPartner: "rcs"},
			SMS:          &smpp.Gateway{Server: w.smpp, Clients: clients},
			Now:          o.now,
			Pager:        pg,
			LeaseTTL:     3 * time.Second,
			RecoverEvery: 200 * time.Millisecond,
			Logger:       testutil.Logger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		w.smpp.SetHandler(w.eng)
		for _, c := range clients {
			c.SetHandler(w.eng)
		}
		w.mgr.SetHandler(w.eng)
		w.mgr.Register(srv)
		if tt != nil {
			in, err := pager.NewInbound(pager.InboundConfig{Trunks: tt, Store: w.eng, Logger: testutil.Logger(t)})
			if err != nil {
				t.Fatal(err)
			}
			in.Register(ctx, srv)
		}
	})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { _ = c.Run(ctx) })
	}
	wg.Add(2)
	go func() { defer wg.Done(); _ = w.smpp.Run(ctx) }()
	go func() { defer wg.Done(); _ = w.eng.Run(ctx) }()
	go func() { wg.Wait(); close(w.done) }()
	t.Cleanup(func() { w.stop(nil) })
	return w
}

// stop ends the node: engine, SMPP server, sessions and store.
func (w *iwf) stop(testing.TB) {
	w.once.Do(func() {
		w.cancel()
		<-w.done
		_ = w.mgr.Close(context.Background())
		_ = w.store.Close()
	})
}

func demoPartner() Partner {
	p := Partner{Name: "demo", Numbers: []string{"+"}, DeliverVia: "smpp"}
	p.Policy = Defaults()
	p.Policy.OpenTimeout = 5 * time.Second
	return p
}

type rcsPeer = iwftest.RCS

func startRCS(t testing.TB, refuse int) *rcsPeer { return iwftest.StartRCS(t, refuse) }

func bindESME(t testing.TB, addr, systemID string) *iwftest.ESME {
	return iwftest.BindESME(t, addr, systemID, "pw")
}
