package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/rollout"
	"github.com/wbd-dev/wbd/spec"
)

// instance reconciles one instance: plan against the engine, and when the
// plan is not empty, apply it through the operation `wbd apply` uses, and
// record what came of it.
func (r *Reconciler) instance(ctx context.Context, d *Desired, in *spec.Instance, snaps *snapshots) error {
	if ctx.Err() != nil {
		return nil
	}
	r.heartbeat()
	defer r.heartbeat()
	r.begin(in.Name, rollout.StepPlanning)
	defer r.finish(in.Name)
	res := d.Result(in.Name)
	sum := d.Sum(in.Name)
	retry := r.takeRetry(in.Name)
	eng, err := r.hosts.get(ctx, HostKey(in.Host))
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

	snap, err := r.snapshot(op, snaps, HostKey(in.Host), eng)
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		r.waitHost(in.Name, err)
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	if err != nil {
		return r.failed(op, eng, in, sum, err)
	}
	plan, err := eng.PlanIn(op, snap, res.Project)
	if err != nil {
		return r.failed(op, eng, in, sum, err)
	}
	if plan.Empty() {
		r.inSync(in, sum, res, false, 0)
		return nil
	}
	if len(plan.Legacy) > 0 {
		// Adopting stops the old CLI's containers: the operator decides.
		return r.failed(op, eng, in, sum, &lifecycle.LegacyError{Instance: in.Name, Containers: plan.Legacy})
	}
	out, err := rollout.Apply(op, eng, in, res, rollout.Options{
		By: r.cfg.Holder,
		Apply: lifecycle.ApplyOptions{WaitTimeout: r.cfg.WaitTimeout, Steady: r.cfg.Steady,
			OnProgress: func(p lifecycle.Progress) { r.activity(in.Name, p) }},
		RetryFailed: retry,
		Planned:     &plan,
		Logger:      r.log,
		Events:      r.eventsLog(),
		OnStep:      func(step string) { r.step(in.Name, step) },
	})
	return r.record(op, eng, in, sum, out, err)
}

// record keeps what one operation on in came to: the one place where
// outcomes become status, logs and the retry schedule.
func (r *Reconciler) record(op context.Context, eng Engine, in *spec.Instance, sum string, out rollout.Outcome, err error) error {
	var locked *instdir.LockedError
	switch {
	case errors.As(err, &locked):
		r.locked(in.Name, locked)
		return nil
	case out.Result == rollout.RolledBack || out.Result == rollout.Held:
		r.rolledBack(in.Name, sum, out, err)
		return nil
	case err != nil:
		return r.failed(op, eng, in, sum, err)
	case out.Result == rollout.Pinned:
		r.pinned(in.Name, sum, out)
		return nil
	case out.Result == rollout.Unchanged:
		r.inSync(in, sum, nil, true, out.Revision)
		return nil
	}
	r.applied(in.Name, sum, out.Summary, out.Warnings, out.Revision)
	return nil
}

// takeRetry reports, once, whether a SIGHUP asked to try again the spec
// of instance name that was rolled back.
func (r *Reconciler) takeRetry(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.inst[name]
	if !ok || !s.retryFailed {
		return false
	}
	s.retryFailed = false
	return true
}

// rolledBack records that the file's spec failed and the instance runs an
// earlier revision: not a failure to retry, since trying it again would
// only fail again, until the file changes or an operator asks.
func (r *Reconciler) rolledBack(name, sum string, out rollout.Outcome, err error) {
	log := r.log.With(keyInstance, name)
	detail := fmt.Sprintf("rolled back from revision %d to revision %d: %s; held until the file changes (SIGHUP or wbd apply %s --retry-failed tries again)",
		out.Failed.Number, out.Revision, out.Failed.Reason, name)
	r.update(name, func(s *instState, now time.Time) {
		if s.sum != sum {
			return
		}
		if out.Result == rollout.RolledBack {
			s.st.LastChange = timePtr(now)
			s.st.LastError, s.st.LastErrorAt = oneLine(err), timePtr(now)
		}
		s.st.Result, s.st.InSync, s.st.Detail, s.st.Revision = ResultRolledBack, false, detail, out.Revision
		s.retry.reset()
		s.holder = ""
	})
	if out.Result == rollout.RolledBack {
		log.Error("change failed and was rolled back", "revision", out.Failed.Number, "runs", out.Revision, keyError, err)
	}
}

// pinned records that `wbd rollback` holds the instance at a revision.
func (r *Reconciler) pinned(name, sum string, out rollout.Outcome) {
	r.update(name, func(s *instState, now time.Time) {
		if s.sum != sum {
			return
		}
		s.st.Result, s.st.InSync, s.st.Detail, s.st.Revision = ResultPinned, false, out.Summary, out.Revision
		s.retry.reset()
		s.holder = ""
	})
}

// inSync records that the engine matched the file and runs revision rev
// (0: as the history says). The compose file on disk is brought up to date
// when it differs and the lock is free (or held).
func (r *Reconciler) inSync(in *spec.Instance, sum string, res *render.Result, locked bool, rev int) {
	if rev == 0 && r.revision(in.Name) == 0 {
		if h, _ := revision.Open(in.Dir).Load(); h.Current() != nil {
			rev = h.Current().Number
		}
	}
	r.update(in.Name, func(s *instState, now time.Time) {
		if s.sum != sum {
			return // a newer configuration came meanwhile
		}
		if rev > 0 {
			s.st.Revision = rev
		}
		if s.st.Result != ResultInSync {
			s.st.Detail = "matches the file"
		}
		s.st.Result, s.st.InSync = ResultInSync, true
		s.retry.reset()
		s.holder = ""
	})
	if res == nil {
		return // the operation that found it so wrote the compose file
	}
	path := in.Path(instdir.ComposeFile)
	root := filepath.Dir(in.Dir)
	if cur, err := instdir.ReadFileIn(root, path); err == nil && bytes.Equal(cur, res.YAML) {
		return
	}
	if !locked {
		unlock, err := instdir.Lock(in, r.cfg.Holder)
		if err != nil {
			return // another wbd is at it; the next pass will see
		}
		defer unlock()
	}
	if err := instdir.WriteFileIn(root, path, res.YAML, 0o644); err != nil {
		r.log.Warn("cannot update the compose file", keyInstance, in.Name, keyFile, path, keyError, err)
	}
}

// applied records a successful apply. Warnings (an optional service that
// did not start) count as a failure for the retry schedule, so that a
// broken redis is not started again on every pass.
func (r *Reconciler) applied(name, sum, what string, warnings []string, rev int) {
	log := r.log.With(keyInstance, name)
	for _, w := range warnings {
		log.Warn("applied with a warning", "warning", w)
	}
	r.update(name, func(s *instState, now time.Time) {
		s.st.LastChange = timePtr(now)
		s.st.Detail = what
		s.holder = ""
		if rev > 0 {
			s.st.Revision = rev
		}
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
		r.hosts.down(HostKey(in.Host), perr)
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

// revision is the revision instance name is known to run, 0 if unknown.
func (r *Reconciler) revision(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.inst[name]; ok {
		return s.st.Revision
	}
	return 0
}
