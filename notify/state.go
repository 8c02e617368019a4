package notify

import (
	"time"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// pos is where an instance stands, as messages tell it: its state, the
// revision it runs when ready, and which rollback when rolled back (a
// second failed change is news though the state is the same).
type pos struct {
	state    State // Ready (Recovered too), Failed or RolledBack
	revision int   // when Ready
	rollback int64 // when RolledBack: when it was made, in Unix nanoseconds; 0 unknown
}

// instance is what the notifier remembers of one instance.
type instance struct {
	at      pos       // as last observed
	since   time.Time // when it got there; zero: before the notifier knew
	left    map[pos]time.Time
	sent    pos         // what the last message said (or the state found at start)
	flaps   []time.Time // when flaps were sent, within the window
	pending *Message    // the latest change not sent yet
	flap    bool        // pending is a flap
	changes int         // changes of state since the last message
}

// classify is the state an instance whose reconcile came to res is in, or
// "" for results that say nothing new (pending, locked, unreachable...).
func classify(res reconcile.Result) State {
	switch res {
	case reconcile.ResultInSync, reconcile.ResultApplied, reconcile.ResultDegraded, reconcile.ResultPinned:
		return Ready
	case reconcile.ResultFailed, reconcile.ResultHeld:
		return Failed
	case reconcile.ResultRolledBack:
		return RolledBack
	}
	return ""
}

// posOf is where st puts an instance that was at prev.
func posOf(st reconcile.InstanceStatus, state State, prev pos) pos {
	switch state {
	case Ready:
		return pos{state: Ready, revision: st.Revision}
	case RolledBack:
		p := pos{state: RolledBack}
		if st.LastChange != nil {
			p.rollback = st.LastChange.UnixNano()
		}
		// A rollback held on every pass (or one a restarted daemon found)
		// carries no time, or the same: it is the rollback known.
		if prev.state == RolledBack && (p.rollback == 0 || p.rollback <= prev.rollback) {
			p.rollback = prev.rollback
		}
		return p
	}
	return pos{state: state}
}

// Observe takes what a reconcile of an instance came to. It never blocks:
// a message to send is queued for Run.
func (n *Notifier) Observe(st reconcile.InstanceStatus) {
	state := classify(st.Result)
	if state == "" || !st.InFile {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	in := n.instance(st.Instance)
	prev := in.at
	cur := posOf(st, state, prev)
	in.at = cur
	switch {
	case cur == prev:
		return
	case prev.state == Ready && cur.state == Ready && st.Result != reconcile.ResultApplied:
		// At another revision without an apply of the daemon's (a wbd
		// apply in a shell, a repair): no change it made.
		return
	case prev.state == "" && cur.state == Ready && st.Result != reconcile.ResultApplied:
		// Found ready at start: what it was before is not known.
		in.sent = cur
		return
	}
	now := n.opts.Now()
	// A change back to where it was a moment ago is a flap.
	left, ok := in.left[cur]
	flap := ok && now.Sub(left) < n.opts.Steady
	if prev.state != "" {
		in.left[prev] = now
	}
	for p, t := range in.left {
		if now.Sub(t) >= n.opts.Steady {
			delete(in.left, p)
		}
	}
	in.since = now
	kind := state
	if state == Ready && (prev.state == Failed || prev.state == RolledBack) {
		kind = Recovered
	}
	m := Message{Instance: st.Instance, Host: spec.HostName(st.Host), State: kind, Previous: prev.state, Result: string(st.Result),
		Revision: st.Revision, Time: now.UTC(), Detail: detail(st)}
	in.pending, in.flap = &m, flap
	in.changes++
	n.flush(st.Instance, in, now)
}

func (n *Notifier) instance(name string) *instance {
	in, ok := n.inst[name]
	if !ok {
		in = &instance{left: map[pos]time.Time{}}
		n.inst[name] = in
	}
	return in
}

func detail(st reconcile.InstanceStatus) string {
	if (st.Result == reconcile.ResultFailed || st.Result == reconcile.ResultHeld || st.Result == reconcile.ResultRolledBack) && st.LastError != "" {
		return st.LastError
	}
	return st.Detail
}

// flush queues in's pending message if it says something the last message
// did not and, for a flap, if the window has room or the instance settled
// where it is. n.mu is held.
func (n *Notifier) flush(name string, in *instance, now time.Time) {
	m := in.pending
	if m == nil {
		return
	}
	kept := in.flaps[:0]
	for _, t := range in.flaps {
		if now.Sub(t) < n.opts.Window {
			kept = append(kept, t)
		}
	}
	in.flaps = kept
	if in.at == in.sent {
		// Back where the last message left it: nothing to say.
		in.pending = nil
		return
	}
	if in.flap {
		switch {
		case n.settled(in, now):
			// It stopped flapping: say where it is, whatever the budget.
		case len(in.flaps) >= n.opts.Burst:
			return // held; a later change replaces it
		default:
			in.flaps = append(in.flaps, now)
		}
	}
	switch {
	case m.State == Recovered && in.sent.state == Ready:
		m.State = Ready
	case m.State == Ready && (in.sent.state == Failed || in.sent.state == RolledBack):
		m.State = Recovered
	}
	m.Suppressed = max(in.changes-1, 0)
	m.Text = text(*m)
	in.sent, in.pending, in.changes = in.at, nil, 0
	select {
	case n.queue <- *m:
	default:
		n.log.Warn("notification dropped: too many waiting", keyInstance, name, keyState, m.State)
	}
}

// settled reports whether in has stayed where it is for Steady.
func (n *Notifier) settled(in *instance, now time.Time) bool {
	return now.Sub(in.since) >= n.opts.Steady
}

// next is when the earliest held message may be sent: once its instance
// settled, or its window has room.
func (n *Notifier) next() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	var at time.Time
	for _, in := range n.inst {
		if in.pending == nil {
			continue
		}
		t := in.since.Add(n.opts.Steady)
		if len(in.flaps) > 0 {
			t = minTime(t, in.flaps[0].Add(n.opts.Window))
		}
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Tick sends the held messages whose time has come (Run calls it; tests
// with their own clock too).
func (n *Notifier) Tick() {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.opts.Now()
	for name, in := range n.inst {
		n.flush(name, in, now)
	}
}

// Seed takes the view a daemon published last (its status file, read as
// this one starts): each instance is where that view put it, as if its
// messages had been sent, so that a restarted daemon sends only what
// changed since, not a second "failed" for an instance still failing.
// Instances observed already, and results that say nothing (pending, an
// operation interrupted), are left alone.
func (n *Notifier) Seed(s *reconcile.Status) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, st := range s.Instances {
		state := classify(st.Result)
		if state == "" || !st.InFile {
			continue
		}
		in := n.instance(st.Instance)
		if in.at.state != "" {
			continue
		}
		in.at = posOf(st, state, pos{})
		in.sent = in.at
	}
}
