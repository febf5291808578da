package interwork

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"iwf/pager"
	"iwf/pager/sipstack"
	"iwf/pager/sipstack/sipstacktest"
	"iwf/session"
	"iwf/session/cpim"
	"iwf/session/msrptest"
	"iwf/session/sipsession"
	"iwf/smpp"
	"iwf/store"
	"iwf/store/redistest"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startStack runs a SIP stack on loopback UDP and TCP, port 0.
func startStack(t testing.TB, register func(*sipstack.Stack, *sipgo.Server)) *sipstack.Stack {
	t.Helper()
	return sipstacktest.Start(t, register)
}

// received is a message the RCS peer got.
type received struct {
	call *sipsession.Call
	id   string
	text string
	cpim *cpim.Message
}

// rcsPeer plays the RCS network: it answers INVITEs (or refuses them
// with refuse) and collects the messages of every session.
type rcsPeer struct {
	st     *sipstack.Stack
	m      *sipsession.Manager
	calls  chan *sipsession.Call
	msgs   chan received
	refuse int
	// hold, when set, keeps INVITEs unanswered until it is closed;
	// held receives each INVITE held.
	hold chan struct{}
	held chan struct{}
}

func startRCS(t testing.TB, refuse int) *rcsPeer {
	t.Helper()
	r := &rcsPeer{calls: make(chan *sipsession.Call, 64), msgs: make(chan received, 4096), refuse: refuse, held: make(chan struct{}, 64)}
	ep := msrptest.NewEndpoint(t, session.Config{})
	r.st = startStack(t, func(st *sipstack.Stack, srv *sipgo.Server) {
		m, err := sipsession.New(sipsession.Config{
			Stack: st, Endpoint: ep, Logger: quietLog(), AckTimeout: 2 * time.Second,
			OnIncoming: func(c *sipsession.Call) error {
				if r.refuse != 0 {
					return sipsession.Reject(r.refuse, "refused by test")
				}
				if r.hold != nil {
					r.held <- struct{}{}
					select {
					case <-r.hold:
					case <-c.Context().Done():
						return sipsession.Reject(487, "cancelled")
					}
				}
				r.watch(c)
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		m.Register(srv)
		r.m = m
	})
	t.Cleanup(func() { _ = r.m.Close(context.Background()) })
	return r
}

func (r *rcsPeer) watch(c *sipsession.Call) {
	r.calls <- c
	go func() {
		for ev := range c.Events() {
			if ev.Kind != sipsession.EventMessage {
				continue
			}
			rc := received{call: c, id: ev.Message.ID, text: string(ev.Message.Body)}
			if strings.HasPrefix(ev.Message.ContentType, "message/cpim") {
				if cm, err := cpim.Parse(ev.Message.Body); err == nil {
					rc.cpim, rc.text = cm, string(cm.Body)
				}
			}
			r.msgs <- rc
		}
	}()
}

func (r *rcsPeer) next(t testing.TB) received {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("the RCS side received nothing")
		return received{}
	}
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

// startIWF starts an engine for partners toward rcs, on the Redis at
// redisAddr.
func startIWF(t testing.TB, redisAddr string, rcs *rcsPeer, node string, partners ...Partner) *iwf {
	t.Helper()
	return startIWFWith(t, redisAddr, rcs, node, partners, nil)
}

// engineStore is the pager.Store of a harness: the engine, created after
// the SIP handlers that need it.
type engineStore struct{ e **Engine }

func (s engineStore) Accept(ctx context.Context, m *pager.Message) error {
	return (*s.e).Accept(ctx, m)
}

// startIWFWith also runs the SIP pager side when trunks are given: MESSAGE
// in from them, MESSAGE out to them; the trunk named "rcs" is the pager
// trunk toward the RCS side.
func startIWFWith(t testing.TB, redisAddr string, rcs *rcsPeer, node string, partners []Partner, trunks []pager.Trunk) *iwf {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &iwf{cancel: cancel, done: make(chan struct{})}
	st, err := store.Open(ctx, store.Config{Addr: redisAddr}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	w.store = st
	ep := msrptest.NewEndpoint(t, session.Config{})
	var eng *Engine
	var mgr *sipsession.Manager
	var sender *pager.Sender
	w.st = startStack(t, func(stk *sipstack.Stack, srv *sipgo.Server) {
		mgr, err = sipsession.New(sipsession.Config{
			Stack: stk, Endpoint: ep, Logger: quietLog(), ManualReports: true,
			OnIncoming: func(c *sipsession.Call) error { return eng.Incoming(c) },
			OnMessage: func(ctx context.Context, c *sipsession.Call, m *session.Message) error {
				return eng.Message(ctx, c, m)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		mgr.Register(srv)
		if len(trunks) == 0 {
			return
		}
		tt, err := pager.NewTrunks(trunks)
		if err != nil {
			t.Fatal(err)
		}
		if sender, err = pager.NewSender(pager.SenderConfig{Trunks: tt, Clients: stk, Domain: stk.Domain(), Logger: quietLog()}); err != nil {
			t.Fatal(err)
		}
		in, err := pager.NewInbound(pager.InboundConfig{Trunks: tt, Store: engineStore{&eng}, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		in.Register(ctx, srv)
	})
	var sps []smpp.ServerPartner
	for _, p := range partners {
		sps = append(sps, smpp.ServerPartner{Name: p.Name, SystemID: p.Name, Password: "pw", MaxBinds: 4, Window: 100})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var handler smpp.SubmitHandlerFunc = func(ctx context.Context, partner string, m *smpp.Message) (string, error) {
		return eng.HandleSubmit(ctx, partner, m)
	}
	w.smpp, err = smpp.NewServer(ln, smpp.ServerConfig{Partners: sps}, handler, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	trunk := sipsession.DefaultTrunk()
	trunk.NextHop = "sip:" + rcs.st.Addr("tcp").String() + ";transport=tcp"
	trunk.InviteTimeout = 5 * time.Second
	eng, err = New(Config{
		Node: node, Store: st, Partners: partners,
		RCS:          RCS{Sessions: mgr, Trunk: trunk, Domain: "iwf.test", PagerPartner: "rcs"},
		SMPPServer:   w.smpp,
		Pager:        sender,
		LeaseTTL:     3 * time.Second,
		RecoverEvery: 200 * time.Millisecond,
		Logger:       quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.eng = eng
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = w.smpp.Run(ctx) }()
	go func() { defer wg.Done(); _ = eng.Run(ctx) }()
	go func() { wg.Wait(); close(w.done) }()
	w.mgr = mgr
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

// esme is a partner ESME played by gosmpp.
type esme struct {
	sess *gosmpp.Session
	pdus chan pdu.PDU
	// held are PDUs nextResp passed over, for next.
	held []pdu.PDU
}

func bindESME(t testing.TB, addr, systemID string) *esme {
	t.Helper()
	e := &esme{pdus: make(chan pdu.PDU, 4096)}
	settings := gosmpp.Settings{
		ReadTimeout: 10 * time.Second,
		OnAllPDU: func(q pdu.PDU) (pdu.PDU, bool) {
			switch q.(type) {
			case *pdu.DeliverSM:
				e.pdus <- q
				return q.GetResponse(), false
			case *pdu.SubmitSMResp:
				e.pdus <- q
			case *pdu.EnquireLink:
				return q.GetResponse(), false
			case *pdu.Unbind:
				return q.GetResponse(), true
			}
			return nil, false
		},
	}
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(gosmpp.NonTLSDialer, gosmpp.Auth{SMSC: addr, SystemID: systemID, Password: "pw"}), settings, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	e.sess = sess
	return e
}

// submit sends a GSM-7 submit_sm asking for a delivery receipt.
func (e *esme) submit(t testing.TB, from, to, text string) {
	t.Helper()
	e.submitPart(t, from, to, text, nil)
}

// submitPart sends a submit_sm, a segment when udh is set.
func (e *esme) submitPart(t testing.TB, from, to, text string, udh pdu.UDH) {
	t.Helper()
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src := pdu.NewAddress()
	src.SetTon(1)
	src.SetNpi(1)
	_ = src.SetAddress(from)
	dst := pdu.NewAddress()
	dst.SetTon(1)
	dst.SetNpi(1)
	_ = dst.SetAddress(to)
	sm.SourceAddr, sm.DestAddr = src, dst
	if err := sm.Message.SetMessageWithEncoding(text, data.GSM7BIT); err != nil {
		t.Fatal(err)
	}
	sm.RegisteredDelivery = 1
	if udh != nil {
		sm.Message.SetUDH(udh)
		sm.EsmClass |= 0x40
	}
	if err := e.sess.Transceiver().Submit(sm); err != nil {
		t.Fatal(err)
	}
}

func (e *esme) next(t testing.TB) pdu.PDU {
	t.Helper()
	if len(e.held) > 0 {
		q := e.held[0]
		e.held = e.held[1:]
		return q
	}
	select {
	case q := <-e.pdus:
		return q
	case <-time.After(20 * time.Second):
		t.Fatal("the ESME received nothing")
		return nil
	}
}

func startRedis(t testing.TB) string { return redistest.Start(t) }

// nextResp returns the next submit_sm_resp, keeping what came before it
// for next.
func (e *esme) nextResp(t testing.TB) *pdu.SubmitSMResp {
	t.Helper()
	for {
		select {
		case q := <-e.pdus:
			if r, ok := q.(*pdu.SubmitSMResp); ok {
				return r
			}
			e.held = append(e.held, q)
		case <-time.After(20 * time.Second):
			t.Fatal("no submit_sm_resp")
		}
	}
}
