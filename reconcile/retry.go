package reconcile

import "time"

// RetryPolicy says when to try again after a failure.
type RetryPolicy struct {
	// Base is the wait after a first failure; it doubles with each
	// consecutive failure up to Max.
	Base, Max time.Duration
	// Attempts failed attempts at most within any Window: past that the
	// instance is held until the oldest of them leaves the window.
	Attempts int
	Window   time.Duration
	// Locked is the wait when a wbd command in a shell holds the instance.
	Locked time.Duration
	// HostBase and HostMax bound the backoff of reconnecting to an engine
	// that does not answer.
	HostBase, HostMax time.Duration
}

// DefaultRetry is the policy when Config.Retry is zero.
var DefaultRetry = RetryPolicy{
	Base:     5 * time.Second,
	Max:      5 * time.Minute,
	Attempts: 5,
	Window:   30 * time.Minute,
	Locked:   5 * time.Second,
	HostBase: time.Second,
	HostMax:  30 * time.Second,
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetry
	if p.Base > 0 {
		d.Base = p.Base
	}
	if p.Max > 0 {
		d.Max = p.Max
	}
	if p.Attempts > 0 {
		d.Attempts = p.Attempts
	}
	if p.Window > 0 {
		d.Window = p.Window
	}
	if p.Locked > 0 {
		d.Locked = p.Locked
	}
	if p.HostBase > 0 {
		d.HostBase = p.HostBase
	}
	if p.HostMax > 0 {
		d.HostMax = p.HostMax
	}
	return d
}

// backoff doubles base n-1 times, capped at max.
func backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// retryState is one instance's record of failures.
type retryState struct {
	failures int         // consecutive
	attempts []time.Time // failed attempts within the window, oldest first
	next     time.Time   // no attempt before
	held     bool        // next is set by the attempts bound, not the backoff
}

// due reports whether an attempt may be made at now.
func (s *retryState) due(now time.Time) bool { return !now.Before(s.next) }

// fail records a failed attempt at now and sets the next one. It reports
// whether the instance is now held by the bound on attempts.
func (p RetryPolicy) fail(s *retryState, now time.Time) (held bool) {
	s.failures++
	kept := s.attempts[:0]
	for _, t := range s.attempts {
		if now.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	s.attempts = append(kept, now)
	s.next = now.Add(backoff(p.Base, p.Max, s.failures))
	s.held = false
	if n := len(s.attempts); n >= p.Attempts {
		if until := s.attempts[n-p.Attempts].Add(p.Window); until.After(s.next) {
			s.next, s.held = until, true
		}
	}
	return s.held
}

// wait puts the next attempt d after now without counting a failure.
func (s *retryState) wait(now time.Time, d time.Duration) { s.next = now.Add(d) }

// reset forgets every failure: the next attempt may be made at once.
func (s *retryState) reset() { *s = retryState{} }

const timeLayout = time.RFC3339
