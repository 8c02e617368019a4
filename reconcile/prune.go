package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
)

// pruneAll takes down, on every host the daemon has known, the instances of
// this root that left the file.
func (r *Reconciler) pruneAll(ctx context.Context, d *Desired) error {
	r.mu.Lock()
	hostNames := slices.Sorted(maps.Keys(r.knownHosts))
	r.mu.Unlock()
	var errs []error
	for _, host := range hostNames {
		if ctx.Err() != nil {
			break
		}
		if err := r.pruneHost(ctx, d, host); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pruneHost takes down the projects on host's engine that belong to this
// root and are not in the file for that engine.
func (r *Reconciler) pruneHost(ctx context.Context, d *Desired, host string) error {
	eng, err := r.hosts.get(ctx, host)
	if err != nil {
		return nil // its instances say so; hostChanged prunes when it answers
	}
	inv, err := eng.Inventory(ctx)
	if err != nil {
		r.mu.Lock()
		r.prune = true
		r.mu.Unlock()
		return fmt.Errorf("inventory of %s: %w", hostName(host), err)
	}
	var errs []error
	for _, p := range inv {
		if ctx.Err() != nil {
			break
		}
		if r.wanted(d, host, eng.Host(), p.Name) || !owns(d.Config.Root, p) || !r.due(p.Name) {
			continue
		}
		if err := r.down(ctx, eng, d.Config.Root, host, p.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// wanted reports whether the file wants instance name on the engine at addr
// (reached as host). An instance that moved to another host is not
// wanted here, unless that host cannot be told apart from this one yet.
func (r *Reconciler) wanted(d *Desired, host, addr, name string) bool {
	in := d.Config.Instance(name)
	if in == nil {
		return false
	}
	if in.Host == host {
		return true
	}
	other, ok := r.hosts.addr(in.Host)
	return !ok || other == addr
}

// owns reports whether project p was created for root: its containers'
// compose working directory is {root}/NAME (render uses the instance
// directory). Projects of another instances file on the same engine are
// never touched. A project left with only its network is this root's when
// {root}/NAME holds a compose file.
func owns(root string, p lifecycle.Project) bool {
	dir := filepath.Join(root, p.Name)
	if len(p.WorkingDirs) == 0 {
		_, err := os.Stat(filepath.Join(dir, instdir.ComposeFile))
		return err == nil
	}
	for _, wd := range p.WorkingDirs {
		if filepath.Clean(wd) != dir {
			return false
		}
	}
	return true
}

// down takes down an instance that left the file, under its lock: app,
// admin, redis, postgres, then the network. Its directory stays.
func (r *Reconciler) down(ctx context.Context, eng Engine, root, host, name string) error {
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
			return nil
		}
		return r.failed(ctx, eng, in, "", err)
	}
	defer unlock()
	op, cancel := withGrace(ctx, r.cfg.ShutdownTimeout, func() {
		log.Warn("shutdown deadline passed; interrupting the operation", "deadline", r.cfg.ShutdownTimeout)
	})
	defer cancel()
	log.Info("instance left the file; taking it down", keyHost, hostName(host))
	if err := eng.Down(op, name); err != nil {
		r.mu.Lock()
		r.prune = true
		r.mu.Unlock()
		return r.failed(op, eng, in, "", fmt.Errorf("down: %w", err))
	}
	r.update(name, func(s *instState, now time.Time) {
		s.st.Host, s.st.InFile, s.st.InSync = host, false, false
		s.st.Result = ResultRemoved
		s.st.LastChange = timePtr(now)
		s.st.Detail = "taken down; its directory and data stay in " + in.Dir
		s.retry.reset()
	})
	log.Info("instance taken down; its directory and data stay on disk", keyDir, in.Dir)
	return nil
}
