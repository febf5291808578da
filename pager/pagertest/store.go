// Package pagertest has test doubles for the pager side in the httptest
// style: a fake Store, and a scripted partner SIP endpoint started on
// loopback ports.
package pagertest

import (
	"context"
	"sync"

	"iwf/pager"
)

// Store is a fake pager.Store: it keeps accepted messages in memory,
// answers pager.ErrDuplicate for an ID it holds, and can be made to fail or
// to hold Accept until released. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	msgs    []pager.Message
	ids     map[string]bool
	calls   int
	err     error
	gate    chan struct{}
	entered chan string
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{ids: map[string]bool{}, entered: make(chan string, 1024)}
}

// Accept records m unless its ID is known (pager.ErrDuplicate) or an
// error is set. While held (Hold), it waits for the release or ctx.
func (s *Store) Accept(ctx context.Context, m *pager.Message) error {
	s.mu.Lock()
	s.calls++
	gate := s.gate
	s.mu.Unlock()
	select {
	case s.entered <- m.ID:
	default:
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.ids[m.ID] {
		return pager.ErrDuplicate
	}
	s.ids[m.ID] = true
	s.msgs = append(s.msgs, *m)
	return nil
}

// Entered delivers the ID of each Accept call as it starts, so a test
// knows a request reached the store without sleeping.
func (s *Store) Entered() <-chan string { return s.entered }

// Hold makes Accept wait until release is called.
func (s *Store) Hold() (release func()) {
	g := make(chan struct{})
	s.mu.Lock()
	s.gate = g
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(g)
		})
	}
}

// SetError makes Accept fail with err (nil restores success).
func (s *Store) SetError(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Messages returns the accepted messages in order.
func (s *Store) Messages() []pager.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pager.Message(nil), s.msgs...)
}

// Calls is how many times Accept was called.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
