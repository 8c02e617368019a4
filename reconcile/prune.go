package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

// pruneAll takes down, on every host the daemon has known, the instances of
// this root that left the file.
func (r *Reconciler) pruneAll(ctx context.Context, d *Desired, snaps *snapshots) error {
	r.mu.Lock()
	hostNames := slices.Sorted(maps.Keys(r.knownHosts))
	r.mu.Unlock()
	var errs []error
	for _, host := range hostNames {
		if ctx.Err() != nil {
			break
		}
		clean, err := r.pruneHost(ctx, d, host, snaps)
		if err != nil {
			errs = append(errs, err)
		}
		r.mu.Lock()
		r.pruned[host] = clean
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// pruneHost takes down the projects on host's engine that belong to this
// root and are not in the file for that engine. It reports whether the
// engine was seen to hold nothing of this root that the file does not
// want there, or may want there once the host of an instance that moved
// is told apart from this one.
func (r *Reconciler) pruneHost(ctx context.Context, d *Desired, host string, snaps *snapshots) (clean bool, err error) {
	eng, err := r.hosts.get(ctx, host)
	if err != nil {
		return false, nil // its instances say so; hostChanged prunes when it answers
	}
	snap, err := r.snapshot(ctx, snaps, host, eng)
	if err != nil {
		r.mu.Lock()
		r.prune = true
		r.mu.Unlock()
		return false, fmt.Errorf("inventory of %s: %w", hostName(host), err)
	}
	var errs []error
	clean = true
	for _, p := range snap.Projects {
		if ctx.Err() != nil {
			return false, errors.Join(errs...)
		}
		if !owns(d.Config.Root, p) {
			continue
		}
		if r.wanted(d, host, eng.Host(), p.Name) {
			if in := d.Config.Instance(p.Name); HostKey(in.Host) != host {
				_, told := r.hosts.addr(HostKey(in.Host))
				clean = clean && told
			}
			continue
		}
		if !r.due(p.Name) {
			clean = false
			continue
		}
		gone, err := r.down(ctx, eng, d.Config.Root, host, p.Name)
		if err != nil {
			errs = append(errs, err)
		}
		clean = clean && gone
	}
	return clean, errors.Join(errs...)
}

// retire closes the engines of hosts that left the file, once a prune has
// found nothing of this root left on them: an ssh:// engine keeps an ssh
// process otherwise. The loop calls it between passes, after stopping the
// event streams of those hosts, so that no operation uses them.
func (r *Reconciler) retire() {
	d := r.current()
	if d == nil {
		return
	}
	inFile := map[string]bool{}
	for _, in := range d.Config.Instances {
		inFile[HostKey(in.Host)] = true
	}
	var gone []string
	r.mu.Lock()
	for _, host := range slices.Sorted(maps.Keys(r.knownHosts)) {
		if !inFile[host] && r.pruned[host] {
			gone = append(gone, host)
			delete(r.knownHosts, host)
			delete(r.pruned, host)
		}
	}
	r.mu.Unlock()
	for _, host := range gone {
		if r.hosts.forget(host) {
			r.log.Info("host left the file; its engine is closed", keyHost, hostName(host))
		}
	}
}

// wanted reports whether the file wants instance name on the engine at addr
// (reached as host). An instance that moved to another host is not
// wanted here, unless that host cannot be told apart from this one yet.
func (r *Reconciler) wanted(d *Desired, host, addr, name string) bool {
	return Wanted(d.Config, host, addr, name, r.hosts.addr)
}

// owns reports whether project p was created for root: its containers'
// compose working directory is {root}/NAME (render uses the instance
// directory). Projects of another instances file on the same engine are
// never touched. A project left with only its network is this root's when
// {root}/NAME holds a compose file.
func owns(root string, p lifecycle.Project) bool {
	dir := filepath.Join(root, p.Name)
	if len(p.WorkingDirs) == 0 {
		// Through the root, following no link: a linked directory could
		// claim another root's project.
		ok, err := instdir.LocalAt(root).Exists(context.Background(), filepath.Join(dir, instdir.ComposeFile))
		return err == nil && ok
	}
	for _, wd := range p.WorkingDirs {
		if filepath.Clean(wd) != dir {
			return false
		}
	}
	return true
}

// down takes down an instance that left the file, under its lock: app,
// admin, redis, postgres, then the network. Its directory stays. It
// reports whether the instance is gone; a locked one is left for later.
func (r *Reconciler) down(ctx context.Context, eng Engine, root, host, name string) (bool, error) {
	in := &spec.Instance{Name: name, Dir: filepath.Join(root, name), Host: host}
	log := r.log.With(keyInstance, name)
	unlock, err := instdir.Lock(in, r.cfg.Holder)
	if err != nil {
		var locked *instdir.LockedError
		if errors.As(err, &locked) {
			r.locked(name, locked)
			r.mu.Lock()
			r.prune = true
			r.mu.Unlock()
			return false, nil
		}
		return false, r.failed(ctx, eng, in, "", err)
	}
	defer unlock()
	op, cancel := withGrace(ctx, r.cfg.ShutdownTimeout, func() {
		log.Warn("shutdown deadline passed; interrupting the operation", "deadline", r.cfg.ShutdownTimeout)
	})
	defer cancel()
	log.Info("instance left the file; taking it down", keyHost, hostName(host))
	start := time.Now()
	r.begin(name, StepTakingDown)
	defer r.finish(name)
	r.publish()
	ev := events.Event{Instance: name, Action: events.Down, Result: events.OK}
	if h, _ := revision.Open(in.Dir).Load(); h.Current() != nil {
		ev.From, ev.To = h.Current().Number, h.Current().Number
	}
	if err := eng.Down(op, name); err != nil {
		r.mu.Lock()
		r.prune = true
		r.mu.Unlock()
		ev.Result, ev.Detail, ev.Duration = events.Failed, err.Error(), time.Since(start).Seconds()
		r.eventsLog().Record(ev)
		return false, r.failed(op, eng, in, "", fmt.Errorf("down: %w", err))
	}
	ev.Detail = "left the file: taken down; its directory and data stay in " + in.Dir
	ev.Duration = time.Since(start).Seconds()
	r.eventsLog().Record(ev)
	r.update(name, func(s *instState, now time.Time) {
		s.st.Host, s.st.InFile, s.st.InSync = host, false, false
		s.st.Result = ResultRemoved
		s.st.LastChange = timePtr(now)
		s.st.Detail = "taken down; its directory and data stay in " + in.Dir
		s.retry.reset()
	})
	log.Info("instance taken down; its directory and data stay on disk", keyDir, in.Dir)
	return true, nil
}
