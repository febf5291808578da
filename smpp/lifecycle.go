package smpp

import "sync"

// lifecycle is the Run / Close contract Client and Server share: Run runs
// once, Close is idempotent, stops Run and waits for it to return.
type lifecycle struct {
	mu      sync.Mutex
	started bool
	closed  bool
	stop    chan struct{} // closed by shut
	done    chan struct{} // closed when Run returns
}

func (l *lifecycle) init() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
}

// begin marks Run started; Run after Close, or a second Run, is refused.
func (l *lifecycle) begin() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return ErrClosed
	}
	l.started = true
	return nil
}

// end is deferred by Run.
func (l *lifecycle) end() { close(l.done) }

// shut marks the lifecycle closed and wakes Run; first is true once.
func (l *lifecycle) shut() (first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closed = true
	close(l.stop)
	return true
}

func (l *lifecycle) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// closeAndWait shuts and waits for Run if it started.
func (l *lifecycle) closeAndWait() (first, started bool) {
	first = l.shut()
	l.mu.Lock()
	started = l.started
	l.mu.Unlock()
	if started {
		<-l.done
	}
	return first, started
}
