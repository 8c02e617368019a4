package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/spec"
)

// instance reconciles one instance: plan against the engine, and when the
// plan is not empty (or a container does not bear its name), take the
// instance's lock and converge it, as `wbd apply` does.
func (r *Reconciler) instance(ctx context.Context, d *Desired, in *spec.Instance) error {
	if ctx.Err() != nil {
		return nil
	}
	r.heartbeat()
	defer r.heartbeat()
	res := d.Result(in.Name)
	sum := d.Sum(in.Name)
	eng, err := r.hosts.get(ctx, in.Host)
	if err != nil {
		if ctx.Err() == nil {
			r.waitHost(in.Name, err)
		}
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	op, cancel := withGrace(ctx, r.cfg.ShutdownTimeout, func() {
		r.log.Warn("shutdown deadline passed; interrupting the operation", keyInstance, in.Name, "deadline", r.cfg.ShutdownTimeout)
	})
	defer cancel()

	plan, err := eng.Plan(op, res.Project)
	if err != nil {
		return r.failed(op, eng, in, sum, err)
	}
	if plan.Empty() {
		ms, err := eng.Misnamed(op, res.Project)
		if err != nil {
			return r.failed(op, eng, in, sum, err)
		}
		if len(ms) == 0 {
			r.inSync(in, sum, res, false)
			return nil
		}
	}
	unlock, err := instdir.Lock(in, r.cfg.Holder)
	if err != nil {
		var locked *instdir.LockedError
		if errors.As(err, &locked) {
			r.locked(in.Name, locked)
			return nil
		}
		return r.failed(op, eng, in, sum, err)
	}
	defer unlock()
	return r.converge(op, eng, in, sum, res)
}

// converge applies the instance when its plan, read again now that the
// lock is held, is not empty, then renames the containers an interrupted
// recreate left under a temporary name.
func (r *Reconciler) converge(op context.Context, eng Engine, in *spec.Instance, sum string, res *render.Result) error {
	log := r.log.With(keyInstance, in.Name)
	plan, err := eng.Plan(op, res.Project)
	if err != nil {
		return r.failed(op, eng, in, sum, err)
	}
	var (
		did      []string
		warnings []string
	)
	if !plan.Empty() {
		if len(plan.Legacy) > 0 {
			// Adopting stops the old CLI's containers: the operator decides.
			return r.failed(op, eng, in, sum, &lifecycle.LegacyError{Instance: in.Name, Containers: plan.Legacy})
		}
		log.Info("applying", "changes", describePlan(plan))
		files, err := eng.Files(op, filepath.Dir(in.Dir))
		if err != nil {
			return r.failed(op, eng, in, sum, err)
		}
		if err := instdir.Prepare(op, files, in); err != nil {
			return r.failed(op, eng, in, sum, err)
		}
		if err := instdir.WriteFile(in.Path(instdir.ComposeFile), res.YAML, 0o644); err != nil {
			return r.failed(op, eng, in, sum, err)
		}
		rep, err := eng.Apply(op, res.Project, lifecycle.ApplyOptions{WaitTimeout: r.cfg.WaitTimeout})
		if err != nil {
			return r.failed(op, eng, in, sum, err)
		}
		did, warnings = append(did, rep.Summary()), rep.Warnings
	}
	ms, err := eng.Misnamed(op, res.Project)
	if err == nil && len(ms) > 0 {
		var renamed []string
		renamed, err = eng.FixNames(op, ms)
		if len(renamed) > 0 {
			log.Warn("renamed containers an interrupted recreate left", "renamed", renamed)
			did = append(did, "renamed "+strings.Join(renamed, ", "))
		}
	}
	if err != nil {
		return r.failed(op, eng, in, sum, err)
	}
	if len(did) == 0 {
		r.inSync(in, sum, res, true)
		return nil
	}
	r.applied(in.Name, sum, strings.Join(did, "; "), warnings)
	return nil
}

// inSync records that the engine matched the file. The compose file on disk
// is brought up to date when it differs and the lock is free (or held).
func (r *Reconciler) inSync(in *spec.Instance, sum string, res *render.Result, locked bool) {
	r.update(in.Name, func(s *instState, now time.Time) {
		if s.sum != sum {
			return // a newer configuration came meanwhile
		}
		if s.st.Result != ResultInSync {
			s.st.Detail = "matches the file"
		}
		s.st.Result, s.st.InSync = ResultInSync, true
		s.retry.reset()
		s.holder = ""
	})
	path := in.Path(instdir.ComposeFile)
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, res.YAML) {
		return
	}
	if !locked {
		unlock, err := instdir.Lock(in, r.cfg.Holder)
		if err != nil {
			return // another wbd is at it; the next pass will see
		}
		defer unlock()
	}
	if err := instdir.WriteFile(path, res.YAML, 0o644); err != nil {
		r.log.Warn("cannot update the compose file", keyInstance, in.Name, keyFile, path, keyError, err)
	}
}

// applied records a successful apply. Warnings (an optional service that
// did not start) count as a failure for the retry schedule, so that a
// broken redis is not started again on every pass.
func (r *Reconciler) applied(name, sum, what string, warnings []string) {
	log := r.log.With(keyInstance, name)
	for _, w := range warnings {
		log.Warn("applied with a warning", "warning", w)
	}
	r.update(name, func(s *instState, now time.Time) {
		s.st.LastChange = timePtr(now)
		s.st.Detail = what
		s.holder = ""
		if s.sum != sum {
			return
		}
		s.st.InSync = true
		if len(warnings) == 0 {
			s.st.Result = ResultApplied
			s.retry.reset()
			return
		}
		s.st.Result = ResultDegraded
		s.st.LastError, s.st.LastErrorAt = warnings[0], timePtr(now)
		r.cfg.Retry.fail(&s.retry, now)
	})
	log.Info("applied", "result", what)
}

// failed records a failed step. When the engine no longer answers, the
// instance waits for it instead of counting a failure; when the daemon is
// stopping, the step was interrupted.
func (r *Reconciler) failed(op context.Context, eng Engine, in *spec.Instance, sum string, err error) error {
	err = fmt.Errorf("%s: %w", in.Name, err)
	log := r.log.With(keyInstance, in.Name)
	if op.Err() != nil {
		r.update(in.Name, func(s *instState, now time.Time) {
			s.st.Result, s.st.InSync = ResultInterrupted, false
			s.st.LastError, s.st.LastErrorAt = oneLine(err), timePtr(now)
		})
		log.Warn("interrupted", keyError, err)
		return err
	}
	if perr := eng.Ping(op); perr != nil {
		r.hosts.down(in.Host, perr)
		r.waitHost(in.Name, perr)
		return err
	}
	var held bool
	var n int
	var next time.Time
	r.update(in.Name, func(s *instState, now time.Time) {
		s.st.InSync = false
		s.st.LastError, s.st.LastErrorAt = oneLine(err), timePtr(now)
		if sum != "" && s.sum != sum {
			return // a newer configuration came meanwhile: it is tried at once
		}
		held = r.cfg.Retry.fail(&s.retry, now)
		n, next = s.retry.failures, s.retry.next
		s.st.Result = ResultFailed
		s.st.Detail = ""
		if held {
			s.st.Result = ResultHeld
			s.st.Detail = fmt.Sprintf("%d failed attempts within %s: not tried again before %s",
				len(s.retry.attempts), r.cfg.Retry.Window, next.Format(timeLayout))
		}
	})
	if held {
		log.Error("instance keeps failing; holding off", "failures", n, "until", next.Format(timeLayout), keyError, err)
	} else {
		log.Error("reconcile failed", "failures", n, "retry_at", next.Format(timeLayout), keyError, err)
	}
	return err
}

// locked records that a wbd command in a shell holds the instance. It is
// no failure: the instance is looked at again shortly.
func (r *Reconciler) locked(name string, le *instdir.LockedError) {
	var news bool
	r.update(name, func(s *instState, now time.Time) {
		s.st.Result, s.st.InSync = ResultLocked, false
		s.st.Detail = "locked by " + le.Holder
		s.retry.wait(now, r.cfg.Retry.Locked)
		news = s.holder != le.Holder
		s.holder = le.Holder
	})
	if news {
		r.log.Warn("instance is locked by another wbd; retrying later", keyInstance, name, "holder", le.Holder)
	}
}

// waitHost records that the instance waits for its engine.
func (r *Reconciler) waitHost(name string, err error) {
	r.update(name, func(s *instState, now time.Time) {
		s.st.Result, s.st.InSync = ResultUnreachable, false
		s.st.Detail = "waiting for its docker engine"
		s.st.LastError, s.st.LastErrorAt = oneLine(err), timePtr(now)
	})
}
