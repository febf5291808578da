package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"log/slog"

	"iwf/internal/status"
	"iwf/interwork"
	"iwf/pager"
	"iwf/smpp"
)

// The results of a reload, the label of iwf_config_reload_total.
const (
	// reloadApplied: every change in the file took effect.
	reloadApplied = "applied"
	// reloadPartial: the partner changes took effect; changes to other
	// sections need a restart and were not applied.
	reloadPartial = "partial"
	// reloadRefused: nothing was applied: the file changes sections that
	// need a restart and its partners are not valid without them.
	reloadRefused = "refused"
	// reloadInvalid: the file could not be read or is not valid; nothing
	// changed.
	reloadInvalid = "invalid"
)

// reloadState is the part of the daemon a reload replaces.
type reloadState struct {
	path string
	// mu serialises reloads; the fields below it are also read by
	// /status and the admin actions.
	mu sync.Mutex
	// partners is the partner configuration applied now (the rest of
	// d.cfg never changes while running).
	partners atomic.Pointer[[]PartnerConfig]
	info     atomic.Pointer[status.ConfigInfo]
	reloads  *prometheus.CounterVec

	// clientsMu guards daemon.clients and clientCfgs.
	clientsMu  sync.Mutex
	clientCfgs map[string]smpp.ClientConfig
	// spawn runs a function with the daemon's parts (an errgroup
	// member); set by run before the first reload.
	spawn func(name string, f func(context.Context) error)
}

// loadConfigFile is LoadConfig that also names the file's content.
func loadConfigFile(path string) (Config, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, "", fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, "", err
	}
	sum := sha256.Sum256(data)
	return cfg, hex.EncodeToString(sum[:6]), nil
}

// initReload records the configuration the daemon starts on and
// registers the reload metric.
func (d *daemon) initReload(path, version string) {
	d.path = path
	ps := d.cfg.Partners
	d.partners.Store(&ps)
	d.info.Store(&status.ConfigInfo{Path: path, Version: version, Loaded: time.Now()})
	d.clientCfgs = map[string]smpp.ClientConfig{}
	for _, cc := range d.cfg.SMPPClients() {
		d.clientCfgs[cc.Partner] = cc
	}
	d.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iwf_config_reload_total",
		Help: "Configuration reloads (SIGHUP), by result: applied, partial (restart-only changes refused), refused, invalid.",
	}, []string{"result"})
	for _, r := range []string{reloadApplied, reloadPartial, reloadRefused, reloadInvalid} {
		d.reloads.WithLabelValues(r)
	}
	if d.reg != nil {
		d.reg.MustRegister(d.reloads)
	}
}

// partnerConfigs is the partner configuration applied now.
func (d *daemon) partnerConfigs() []PartnerConfig {
	if p := d.partners.Load(); p != nil {
		return *p
	}
	return d.cfg.Partners
}

// configInfo is /status's config section.
func (d *daemon) configInfo() *status.ConfigInfo {
	if i := d.info.Load(); i != nil {
		c := *i
		return &c
	}
	return nil
}

// clientList is the SMPP client binds now.
func (d *daemon) clientList() []*smpp.Client {
	d.clientsMu.Lock()
	defer d.clientsMu.Unlock()
	out := make([]*smpp.Client, 0, len(d.clients))
	for _, c := range d.clients {
		out = append(out, c)
	}
	return out
}

// client is the partner's SMPP client bind, nil when it has none.
func (d *daemon) client(partner string) *smpp.Client {
	d.clientsMu.Lock()
	defer d.clientsMu.Unlock()
	return d.clients[partner]
}

// restartOnly names the sections outside partners that differ between a
// and b: the sockets, the store, the node's name, the RCS side and the
// rest are built once at start, so changing them needs a restart.
func restartOnly(a, b Config) []string {
	var out []string
	ta, va, vb := reflect.TypeFor[Config](), reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range ta.NumField() {
		f := ta.Field(i)
		if f.Name == "Partners" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			out = append(out, name)
		}
	}
	return out
}

// reload re-reads the configuration file (SIGHUP). A file that cannot be
// read or is not valid changes nothing and logs every fault by its path,
// as -check-config prints them. Changes outside partners need a restart:
// they are refused, logged and counted, and the partner changes still
// apply when they are valid against the running configuration (they do
// not depend on the refused changes); otherwise nothing applies. It
// returns the result, the label of iwf_config_reload_total.
func (d *daemon) reload() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	log := d.log.With("component", "reload", "file", d.path)
	result, detail := d.reloadLocked(log)
	d.reloads.WithLabelValues(result).Inc()
	info := d.configInfo()
	info.LastReload, info.LastReloadAt, info.LastReloadError = result, time.Now(), detail
	d.info.Store(info)
	return result
}

func (d *daemon) reloadLocked(log *slog.Logger) (result, detail string) {
	cfg, version, err := loadConfigFile(d.path)
	if err != nil {
		for _, e := range leaves(err) {
			log.Error("config reload: invalid file, running configuration kept", "error", e)
		}
		return reloadInvalid, err.Error()
	}
	running := d.cfg
	running.Partners = d.partnerConfigs()
	refused := restartOnly(running, cfg)
	result = reloadApplied
	if len(refused) > 0 {
		for _, s := range refused {
			log.Warn("config reload: section changed, needs a restart; not applied", "section", s)
		}
		detail = fmt.Sprintf("sections %v need a restart", refused)
		// The partners go ahead only if they stand with the running
		// sections (a trunk's transport needs its listener...).
		mixed := running
		mixed.Partners = cfg.Partners
		if err := mixed.Validate(); err != nil {
			for _, e := range leaves(err) {
				log.Error("config reload: partners not valid without the refused sections; nothing applied", "error", e)
			}
			return reloadRefused, detail + "; partners not valid without them: " + err.Error()
		}
		result = reloadPartial
	}
	if reflect.DeepEqual(running.Partners, cfg.Partners) {
		if result == reloadApplied {
			d.markLoaded(version)
			log.Info("config reload: no partner changed", "version", version)
		}
		return result, detail
	}
	if err := d.applyPartners(running.Partners, cfg.Partners); err != nil {
		log.Error("config reload: partners not applied", "error", err)
		return reloadRefused, err.Error()
	}
	d.markLoaded(version)
	return result, detail
}

func (d *daemon) markLoaded(version string) {
	info := d.configInfo()
	info.Version, info.Loaded = version, time.Now()
	d.info.Store(info)
}

// applyPartners makes new the partner set of every part. Everything that
// can fail is built and checked first, so that a failure leaves the
// parts as they were. Unchanged partners keep their binds and sessions;
// a changed partner's SMPP binds (server or client) bind again under the
// new settings; a removed partner takes no new traffic and its binds stay
// for drain.grace, so that what is queued for it can still go, then are
// unbound.
func (d *daemon) applyPartners(old, new []PartnerConfig) error {
	var trunksList []pager.Trunk
	for _, p := range new {
		if p.SIP != nil {
			t := p.SIP.WithDefaults()
			t.Partner = p.Name
			trunksList = append(trunksList, t)
		}
	}
	trunksList = append(trunksList, d.cfg.RCSPagerTrunk())
	if _, err := pager.NewTrunks(trunksList); err != nil {
		return err
	}
	nc := d.cfg
	nc.Partners = new
	serverPartners := nc.SMPPServerConfig().Partners
	if d.smppSrv == nil && len(serverPartners) > 0 {
		return errors.New("partners with smpp.server need smpp.server.listen, which needs a restart")
	}
	wantClients := map[string]smpp.ClientConfig{}
	for _, cc := range nc.SMPPClients() {
		wantClients[cc.Partner] = cc
	}
	d.clientsMu.Lock()
	haveCfgs := maps.Clone(d.clientCfgs)
	d.clientsMu.Unlock()
	fresh := map[string]*smpp.Client{}
	for name, cc := range wantClients {
		if have, ok := haveCfgs[name]; ok && reflect.DeepEqual(have, cc) {
			continue
		}
		c, err := smpp.NewClient(cc, d.eng, d.log)
		if err != nil {
			return fmt.Errorf("partner %s: smpp client: %w", name, err)
		}
		fresh[name] = c
	}
	var ips []interwork.Partner
	for _, p := range new {
		ips = append(ips, interworkPartner(p))
	}
	if err := d.eng.SetPartners(ips); err != nil {
		return err
	}
	if d.smppSrv != nil {
		changes, err := d.smppSrv.SetPartners(serverPartners)
		if err != nil {
			// Checked by Validate: not expected.
			d.log.Error("config reload: smpp server partners", "error", err)
		}
		for _, c := range changes {
			d.log.Info("config reload: smpp server partner", "partner", c.Name, "changed", c.Changed, "removed", c.Removed)
		}
	}
	if err := d.trunks.Replace(trunksList); err != nil {
		d.log.Error("config reload: sip trunks", "error", err) // checked above
	}

	var removed []string
	kept := map[string]bool{}
	for _, p := range new {
		kept[p.Name] = true
	}
	for _, p := range old {
		if !kept[p.Name] {
			removed = append(removed, p.Name)
		}
	}
	d.clientsMu.Lock()
	clients := maps.Clone(d.clients)
	var closing []*smpp.Client
	for name, c := range fresh {
		if prev, ok := clients[name]; ok {
			closing = append(closing, prev)
		}
		clients[name] = c
		d.clientCfgs[name] = wantClients[name]
	}
	for name, prev := range clients {
		if _, want := wantClients[name]; !want && kept[name] {
			// The partner stays but its client binds went away.
			closing = append(closing, prev)
			delete(clients, name)
			delete(d.clientCfgs, name)
		}
	}
	d.clients = clients
	d.clientsMu.Unlock()
	d.gw.SetClients(clients)
	for _, c := range closing {
		d.spawn("smpp client close", func(context.Context) error { return c.Close() })
	}
	for name, c := range fresh {
		d.spawn("smpp client "+name, c.Run)
	}
	if len(removed) > 0 {
		grace := d.cfg.Drain.Grace
		d.spawn("drain removed partners", func(ctx context.Context) error {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			d.retire(removed)
			return nil
		})
	}
	d.partners.Store(&new)
	d.log.Info("config reload: partners applied", "component", "reload", "partners", len(new), "removed", removed,
		"clients_restarted", slices.Sorted(maps.Keys(fresh)))
	return nil
}

// retire unbinds the binds of partners removed drain.grace ago, unless a
// later reload brought them back.
func (d *daemon) retire(names []string) {
	current := map[string]bool{}
	for _, p := range d.partnerConfigs() {
		current[p.Name] = true
	}
	for _, name := range names {
		if current[name] {
			continue
		}
		n := 0
		if d.smppSrv != nil {
			n = d.smppSrv.UnbindPartner(name)
		}
		d.clientsMu.Lock()
		c := d.clients[name]
		if c != nil {
			clients := maps.Clone(d.clients)
			delete(clients, name)
			delete(d.clientCfgs, name)
			d.clients = clients
		}
		d.clientsMu.Unlock()
		if c != nil {
			d.gw.SetClients(d.clientsSnapshot())
			_ = c.Close()
		}
		d.log.Info("config reload: removed partner's drain over, binds unbound", "component", "reload", "partner", name, "server_binds", n, "client", c != nil)
	}
}

func (d *daemon) clientsSnapshot() map[string]*smpp.Client {
	d.clientsMu.Lock()
	defer d.clientsMu.Unlock()
	return maps.Clone(d.clients)
}

// reloadSignals turns SIGHUP into reload requests. Two signals while a
// reload runs make one more reload, not two.
func reloadSignals() <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}
