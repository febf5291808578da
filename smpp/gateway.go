package smpp

import (
	"context"
	"fmt"
	"sync"
)

// Gateway is the SMS side as the interworking core sees it: the partners'
// ESMEs bound to our Server and our Clients bound to partners' SMSCs,
// behind one way of sending. Which bind a message takes is an SMPP
// matter, so it is decided here and not by the caller.
type Gateway struct {
	// Server takes binds from partner ESMEs; nil when none bind to us.
	Server *Server
	// Clients are our binds to partners' SMSCs, by partner name. Set it
	// before the Gateway is used; SetClients replaces it afterwards.
	Clients map[string]*Client

	mu sync.RWMutex
}

// SetClients replaces the client binds while the gateway is in use (a
// configuration reload).
func (g *Gateway) SetClients(clients map[string]*Client) {
	g.mu.Lock()
	g.Clients = clients
	g.mu.Unlock()
}

func (g *Gateway) client(partner string) (*Client, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	c, ok := g.Clients[partner]
	return c, ok
}

// Send sends one message toward partner: submit_sm to its SMSC when we
// bind to one (registered_delivery set when receipt is true), else
// deliver_sm to one of its receiving ESME binds. It returns the SMSC's
// message_id of an accepted submit_sm, which its receipts carry ("" for a
// deliver_sm). A refusal by the peer is a *StatusError; a temporary one
// (StatusError.Temporary), ErrResponseTimeout, ErrConnectionLost and
// ErrNoBind are for the caller to try again.
func (g *Gateway) Send(ctx context.Context, partner string, m *Message, receipt bool) (string, error) {
	if c, ok := g.client(partner); ok {
		if receipt {
			m.RegisteredDelivery = 1
		}
		res, err := c.Submit(ctx, m)
		return res.MessageID, err
	}
	if g.Server == nil {
		return "", fmt.Errorf("%w: partner %s has no smpp binds", ErrNoBind, partner)
	}
	_, err := g.Server.Deliver(ctx, partner, m)
	return "", err
}

// AcceptsBinds reports whether partner ESMEs can bind to us at all: only
// then do their submits get delivery receipts back.
func (g *Gateway) AcceptsBinds() bool { return g.Server != nil }

// Deliver sends a deliver_sm (a delivery receipt) to one of partner's
// receiving ESME binds on this node; ErrNoBind when it has none here.
func (g *Gateway) Deliver(ctx context.Context, partner string, m *Message) error {
	if g.Server == nil {
		return fmt.Errorf("%w: %s", ErrNoBind, partner)
	}
	_, err := g.Server.Deliver(ctx, partner, m)
	return err
}

// HasReceiver reports whether partner has a receiving ESME bind here.
func (g *Gateway) HasReceiver(partner string) bool {
	return g.Server != nil && g.Server.HasReceiver(partner)
}
