package session

import "time"

// SetClock makes e read the time from now for the deadlines its reapers
// keep (bind, idle, transactions, incomplete messages), so that tests
// move time rather than wait for it. The reapers still tick in real
// time, at most a second apart.
func SetClock(e *Endpoint, now func() time.Time) { e.clock.Store(&now) }
