package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// hosts keeps one connection per host of the file and whether its engine
// answers. An engine that does not is retried with backoff, and only its
// own instances wait for it. Hosts are keyed by HostKey.
type hosts struct {
	connect ConnectFunc
	policy  RetryPolicy
	now     func() time.Time
	log     *slog.Logger
	// changed is called, outside any lock, when a host starts or stops
	// answering.
	changed func(host string, up bool)

	mu sync.Mutex
	m  map[string]*hostState
}

type hostState struct {
	mu sync.Mutex
	// attempt serialises connection attempts: the instances of a host
	// that does not answer wait for one attempt, not one each.
	attempt chan struct{}
	// watched: an event stream goroutine retries this host in the
	// background, so that a pass never waits for a host known not to
	// answer (a remote one may take the whole ping timeout).
	watched  bool
	eng      Engine
	known    bool // up is a finding, not the zero value
	up       bool
	err      error
	since    time.Time
	failures int
	next     time.Time
}

func (h *hosts) state(host string) *hostState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.m[host]
	if !ok {
		st = &hostState{attempt: make(chan struct{}, 1)}
		h.m[host] = st
	}
	return st
}

// UnreachableError says an instance waits for its engine.
type UnreachableError struct {
	Host string
	Next time.Time // next connection attempt
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%v (next try at %s)", e.Err, e.Next.Format(time.TimeOnly))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// get returns host's engine, connecting (or pinging, after a failure) when
// it is not known to answer and its next try is due; for a watched host
// only the first connection is made here.
func (h *hosts) get(ctx context.Context, host string) (Engine, error) {
	return h.reach(ctx, host, false)
}

// reach is get; background is the event stream's retry of a watched host.
// The attempt is made outside st.mu, so that the status of a host that
// takes long to fail can still be read; attempts wait for one another.
func (h *hosts) reach(ctx context.Context, host string, background bool) (Engine, error) {
	st := h.state(host)
	if eng, err, done := h.known(st, host, background); done {
		return eng, err
	}
	select {
	case st.attempt <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-st.attempt }()
	// Another attempt may have ended while this one waited.
	if eng, err, done := h.known(st, host, background); done {
		return eng, err
	}
	st.mu.Lock()
	eng := st.eng
	st.mu.Unlock()
	var err error
	if eng == nil {
		eng, err = h.connect(ctx, host)
	} else {
		err = eng.Ping(ctx)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	st.mu.Lock()
	if err == nil {
		st.eng = eng
	}
	changed := h.record(st, host, err)
	next := st.next
	st.mu.Unlock()
	if changed {
		h.changed(host, err == nil)
	}
	if err != nil {
		return nil, &UnreachableError{Host: host, Next: next, Err: err}
	}
	return eng, nil
}

// known answers from what is known of host, when no attempt is to be made.
func (h *hosts) known(st *hostState, host string, background bool) (Engine, error, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.up:
		return st.eng, nil, true
	case st.known && (h.now().Before(st.next) || (st.watched && !background)):
		return nil, &UnreachableError{Host: host, Next: st.next, Err: st.err}, true
	}
	return nil, nil, false
}

// watch marks host as retried by its event stream, or no longer.
func (h *hosts) watch(host string, on bool) {
	st := h.state(host)
	st.mu.Lock()
	st.watched = on
	st.mu.Unlock()
}

// down records that host's engine stopped answering, as an operation or
// its event stream found.
func (h *hosts) down(host string, err error) {
	st := h.state(host)
	st.mu.Lock()
	changed := st.up && h.record(st, host, err)
	st.mu.Unlock()
	if changed {
		h.changed(host, false)
	}
}

// record notes the outcome of a connection attempt and logs a change of
// state once. It reports whether the state changed. st.mu is held.
func (h *hosts) record(st *hostState, host string, err error) bool {
	now := h.now()
	was, wasKnown := st.up, st.known
	st.known = true
	if err == nil {
		st.up, st.err, st.failures, st.next = true, nil, 0, time.Time{}
		if !was {
			st.since = now
			msg := "docker engine answers"
			if wasKnown {
				msg = "docker engine answers again"
			}
			h.log.Info(msg, keyHost, hostName(host), keyAddr, RedactHost(st.eng.Host()))
		}
		return !was
	}
	st.up, st.err = false, err
	st.failures++
	st.next = now.Add(backoff(h.policy.HostBase, h.policy.HostMax, st.failures))
	if was || !wasKnown {
		st.since = now
		h.log.Warn("docker engine does not answer; its instances wait for it", keyHost, hostName(host), "retry_in", st.next.Sub(now), keyError, err)
	}
	return was || !wasKnown
}

// addr is the address host's client dials, once it has connected.
func (h *hosts) addr(host string) (string, bool) {
	st := h.state(host)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.eng == nil {
		return "", false
	}
	return st.eng.Host(), true
}

// nextTry is when a pass should try the earliest of the hosts that do not
// answer again, or zero. Watched hosts are left out: their event stream
// retries them and wakes the loop when they answer.
func (h *hosts) nextTry(names []string) time.Time {
	var next time.Time
	for _, host := range names {
		st := h.state(host)
		st.mu.Lock()
		if st.known && !st.up && !st.watched && (next.IsZero() || st.next.Before(next)) {
			next = st.next
		}
		st.mu.Unlock()
	}
	return next
}

// retryAt is when host, not answering, is to be tried again; zero when it
// answers.
func (h *hosts) retryAt(host string) time.Time {
	st := h.state(host)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.known && !st.up {
		return st.next
	}
	return time.Time{}
}

// status reports the hosts in names.
func (h *hosts) status(names []string) []HostStatus {
	var out []HostStatus
	for _, host := range names {
		st := h.state(host)
		st.mu.Lock()
		hs := HostStatus{Host: host, Up: st.up, Known: st.known}
		if st.eng != nil {
			hs.Addr = st.eng.Host()
		}
		if st.known {
			hs.Since = timePtr(st.since)
		}
		if st.err != nil {
			hs.Error = st.err.Error()
			hs.NextTry = timePtr(st.next)
		}
		st.mu.Unlock()
		out = append(out, hs)
	}
	return out
}

func (h *hosts) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.m {
		if st.eng != nil {
			st.eng.Close()
		}
	}
}

// forget closes host's engine, once a connection attempt in flight is
// over, and forgets the host. It reports whether there was an engine to
// close. The caller makes sure nothing else uses host's engine any more.
func (h *hosts) forget(host string) bool {
	h.mu.Lock()
	st, ok := h.m[host]
	delete(h.m, host)
	h.mu.Unlock()
	if !ok {
		return false
	}
	st.attempt <- struct{}{}
	defer func() { <-st.attempt }()
	st.mu.Lock()
	eng := st.eng
	st.eng = nil
	st.mu.Unlock()
	if eng == nil {
		return false
	}
	if err := eng.Close(); err != nil {
		h.log.Debug("closing the engine of a host that left the file", keyHost, hostName(host), keyError, err)
	}
	return true
}

// HostKey is the one spelling of a host of the file that engines are kept
// by, in the daemon and the commands alike, so that one engine written two
// ways (tcp://Box and tcp://box:2375) is one connection, one event stream
// and one set of instances to prune.
// "" stays apart from the local socket it usually is: it follows
// DOCKER_HOST, which may name another engine.
func HostKey(host string) string {
	if host == "" {
		return ""
	}
	return spec.CanonicalHost(host)
}

// hostName is host as logs and messages show it: never with userinfo.
func hostName(host string) string {
	if host == "" {
		return "local"
	}
	return RedactHost(host)
}
