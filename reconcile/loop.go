package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wbd-dev/wbd/subnets"
	"github.com/wbd-dev/wbd/watch"
)

// Run is the daemon's loop: it takes configurations from updates, engine
// events, resync ticks and retry timers, and reconciles, one pass at a time,
// until ctx ends. An invalid configuration (a parse or template error) is
// logged and changes nothing: the last valid one stays in force. Run
// returns nil once ctx has ended and the operation in flight is done (or
// Config.ShutdownTimeout has passed); it never stops an instance.
func (r *Reconciler) Run(ctx context.Context, updates <-chan watch.Update) error {
	tick := r.cfg.Tick
	if tick == nil {
		t := time.NewTicker(r.cfg.Resync)
		defer t.Stop()
		tick = t.C
	}
	var events pumps
	defer events.stop()
	retry := newTimer()
	defer retry.Stop()
	gather := newTimer()
	defer gather.Stop()
	gathering := false
	for {
		r.retire()
		r.heartbeat()
		r.armRetry(retry)
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if r.configure(ctx, u) {
				events.sync(ctx, r, r.current())
			}
		case <-tick:
			if d := r.current(); d != nil {
				r.log.Debug("resync")
				r.pass(ctx, d.Config.Names(), true)
			}
		case <-r.dirty.c:
			if !gathering {
				gathering = true
				gather.Reset(r.cfg.EventDelay)
			}
		case <-gather.C:
			gathering = false
			names := r.expand(r.dirty.take())
			if len(names) > 0 || r.needsPrune() {
				r.pass(ctx, names, false)
			}
		case <-retry.C:
			r.pass(ctx, r.pending(), false)
		}
	}
}

// configure handles one update of the file and reports whether a new
// configuration is in force.
func (r *Reconciler) configure(ctx context.Context, u watch.Update) bool {
	if u.Reload && r.cfg.OnReloaded != nil {
		defer r.cfg.OnReloaded()
	}
	log := r.log.With(keyFile, r.cfg.File)
	keep := "the last valid configuration stays in force"
	if r.current() == nil {
		keep = "waiting for a valid one"
	}
	if u.Err != nil {
		log.Error("instances file is invalid; "+keep, keyError, oneLine(u.Err))
		r.invalid(u.Err)
		return false
	}
	if len(u.Config.Instances) == 0 && !r.cfg.AllowEmpty {
		err := fmt.Errorf("%w: taking down every instance under %s needs wbd run --allow-empty", ErrEmpty, u.Config.Root)
		log.Error("instances file lists no instances; "+keep, keyError, err)
		r.invalid(err)
		return false
	}
	d, err := RenderWith(ctx, u.Config, r.networks(), subnets.Options{Record: true, Who: r.cfg.Holder})
	if err != nil {
		log.Error("instances file does not render; "+keep, keyError, oneLine(err))
		r.invalid(err)
		return false
	}
	if err := r.setDesired(d, u.Reload); err != nil {
		log.Error("configuration not taken", keyError, oneLine(err))
		r.invalid(err)
		return false
	}
	msg := "configuration loaded"
	if u.Reload {
		msg = "configuration reloaded"
	}
	log.Info(msg, "instances", len(d.Config.Instances), "root", d.Config.Root)
	r.pass(ctx, d.Config.Names(), true)
	return true
}

func (r *Reconciler) needsPrune() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prune
}

// expand is names, with every instance of the hosts, in file order.
func (r *Reconciler) expand(names, hostNames []string) []string {
	d := r.current()
	if d == nil {
		return nil
	}
	var out []string
	for _, in := range d.Config.Instances {
		if slices.Contains(names, in.Name) || slices.Contains(hostNames, HostKey(in.Host)) {
			out = append(out, in.Name)
		}
	}
	return out
}

// pending lists, in file order, the instances of the file not in sync.
func (r *Reconciler) pending() []string {
	d := r.current()
	if d == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, in := range d.Config.Instances {
		if s, ok := r.inst[in.Name]; !ok || !s.st.InSync {
			out = append(out, in.Name)
		}
	}
	return out
}

// armRetry sets t to fire when the earliest instance not in sync may be
// tried again: its backoff, or its engine's next connection attempt.
func (r *Reconciler) armRetry(t *time.Timer) {
	d := r.current()
	if d == nil {
		return
	}
	var next time.Time
	earlier := func(at time.Time) {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	r.mu.Lock()
	waitsForHost := map[string]bool{}
	for _, in := range d.Config.Instances {
		s, ok := r.inst[in.Name]
		switch {
		case !ok || s.st.InSync || s.st.Result == ResultInterrupted:
		case s.st.Result == ResultUnreachable:
			waitsForHost[HostKey(in.Host)] = true
		case s.st.Result == ResultPending:
			earlier(r.cfg.Now())
		default:
			earlier(s.retry.next)
		}
	}
	prune := r.prune
	r.mu.Unlock()
	hostNames := make([]string, 0, len(waitsForHost))
	for h := range waitsForHost {
		hostNames = append(hostNames, h)
	}
	earlier(r.hosts.nextTry(hostNames))
	if prune {
		earlier(r.cfg.Now().Add(r.cfg.Retry.Base))
	}
	t.Stop()
	if !next.IsZero() {
		t.Reset(max(next.Sub(r.cfg.Now()), 10*time.Millisecond))
	}
}

func newTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
