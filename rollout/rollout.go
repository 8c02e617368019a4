// Package rollout is the one operation that changes an instance, for the
// CLI and the daemon alike: under the instance's lock it converges the
// engine to a project, records the change as a revision, and when the
// change fails after touching a container, restores the last healthy
// revision. It also holds a spec that was rolled back, and keeps an
// instance pinned where `wbd rollback` put it.
package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

// Engine is what an operation needs of the instance's Docker endpoint;
// *lifecycle.Engine is one.
type Engine interface {
	Plan(ctx context.Context, project *types.Project) (lifecycle.Plan, error)
	Apply(ctx context.Context, project *types.Project, opts lifecycle.ApplyOptions) (lifecycle.Report, error)
	// Files is where the bind mounts of instances under root resolve.
	Files(ctx context.Context, root string) (instdir.Files, error)
}

// Options tunes an operation.
type Options struct {
	// By says who acts, for the lock's holder and the history:
	// "wbd apply (root)", "wbd run".
	By    string
	Apply lifecycle.ApplyOptions
	// RetryFailed applies a spec even though it was rolled back before.
	RetryFailed bool
	// OnlyUnchanged makes Apply stop short of any change: an instance
	// whose plan is not empty is left as it is, Outcome Deferred, for a
	// later Apply without it. Many instances can be checked at once
	// this way, and the changes then made in order.
	OnlyUnchanged bool
	// Planned is a plan of the file's project just made by the caller
	// (the daemon plans every instance of a pass from one read of the
	// engine), taken instead of planning it again. Apply converges
	// whatever the plan says, so a plan a moment old costs at most a
	// change Apply finds already made.
	Planned *lifecycle.Plan
	Logger  *slog.Logger
	// Events, when set, records every operation that acted on the
	// engine or failed, with who did it and the revisions it went from
	// and to.
	Events *events.Log
	// OnStep, when set, hears what the operation does now (Step...),
	// for whoever shows what is in progress.
	OnStep func(step string)
}

// Deferred: Options.OnlyUnchanged was set and the instance has changes
// to make; nothing was done.
const Deferred Result = "deferred"

// op is one operation on one instance, its lock held.
type op struct {
	eng   Engine
	in    *spec.Instance
	opts  Options
	log   *slog.Logger
	store *revision.Store
	hist  revision.History
	// acted: a plan was not empty and the engine was asked to change.
	acted bool
}

// begin takes in's lock and reads its history.
func begin(eng Engine, in *spec.Instance, opts Options) (*op, func(), error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.By == "" {
		opts.By = "wbd"
	}
	unlock, err := instdir.Lock(in, opts.By)
	if err != nil {
		return nil, nil, err
	}
	o := &op{eng: eng, in: in, opts: opts, log: opts.Logger.With("instance", in.Name), store: revision.Open(in.Dir)}
	o.reload()
	return o, unlock, nil
}

func (o *op) reload() {
	h, errs := o.store.Load()
	for _, err := range errs {
		o.log.Warn("skipping a revision", "error", err)
	}
	o.hist = h
}

// Apply makes in what res says, unless res's spec is held after a
// rollback (then in stays at the revision it was restored to, and the
// error is a *HeldError) or in is pinned by `wbd rollback` (Outcome
// Pinned). A change that fails after touching a container is rolled back
// to the last healthy revision: the error is then a *RolledBackError.
func Apply(ctx context.Context, eng Engine, in *spec.Instance, res *render.Result, opts Options) (Outcome, error) {
	o, unlock, err := begin(eng, in, opts)
	if err != nil {
		return Outcome{Result: Failed}, err
	}
	defer unlock()
	start, from := time.Now(), number(o.hist.Current())
	out, err := o.apply(ctx, res)
	o.note(events.Apply, start, from, out, err)
	return out, err
}

func (o *op) apply(ctx context.Context, res *render.Result) (Outcome, error) {
	want := revision.Hash(o.in.Host, res.YAML)
	if pin := o.hist.Pin(want); pin != nil {
		out, err := o.repair(ctx, pin)
		if err == nil && out.Result != Deferred {
			out.Result = Pinned
			out.Summary = fmt.Sprintf("pinned to revision %d by wbd rollback; `wbd rollback %s --release` returns to the file", pin.Number, o.in.Name)
		}
		return out, err
	}
	if held := o.hist.Held(want); held != nil && !o.opts.RetryFailed {
		cur := o.hist.Get(held.Restored)
		if cur == nil {
			cur = o.hist.Current()
		}
		if cur != nil {
			out, err := o.repair(ctx, cur)
			if err != nil || out.Result == Deferred {
				return out, err
			}
			out.Result, out.Failed = Held, held
			return out, &HeldError{Instance: o.in.Name, Revision: held.Number, Restored: cur.Number, Reason: held.Reason}
		}
	}
	return o.converge(ctx, res.Project, res.YAML, revision.Revision{Cause: revision.CauseApply, SpecHash: want}, o.opts.Planned)
}

// repair converges in to rev, a revision it already ran healthy: a
// container that stopped is started again, no new revision is recorded.
func (o *op) repair(ctx context.Context, rev *revision.Revision) (Outcome, error) {
	p, err := render.Load(ctx, o.in.Name, o.in.Dir, []byte(rev.Project))
	if err != nil {
		return Outcome{Result: Failed}, fmt.Errorf("instance %s: revision %d: %w", o.in.Name, rev.Number, err)
	}
	return o.converge(ctx, p, []byte(rev.Project), *rev, nil)
}

// converge brings the engine to project. When that changes the spec the
// instance runs, next (its cause and spec hash filled in) is recorded as
// a new revision, and its verdict once known. planned, when not nil, is
// project's plan, just made.
func (o *op) converge(ctx context.Context, project *types.Project, yaml []byte, next revision.Revision, planned *lifecycle.Plan) (Outcome, error) {
	var plan lifecycle.Plan
	var err error
	if planned != nil {
		plan = *planned
	} else {
		o.step(StepPlanning)
		plan, err = o.eng.Plan(ctx, project)
	}
	if err != nil {
		return Outcome{Result: Failed}, err
	}
	if plan.Empty() {
		return o.unchanged(ctx, project, yaml, next)
	}
	if o.opts.OnlyUnchanged {
		return Outcome{Result: Deferred}, nil
	}
	o.settlePending(false, next.SpecHash)
	cur := o.hist.Current()
	if len(plan.Legacy) > 0 && !o.opts.Apply.Adopt {
		return Outcome{Result: Failed}, &lifecycle.LegacyError{Instance: o.in.Name, Containers: plan.Legacy}
	}
	if cur == nil {
		cur = o.baseline(ctx)
	}
	if err := o.prepare(ctx, yaml); err != nil {
		return Outcome{Result: Failed, Revision: number(cur)}, err
	}
	o.log.Info("applying", "changes", plan.String())
	o.acted = true
	o.step(StepApplying)
	repair := cur != nil && cur.SpecHash == next.SpecHash
	var rev *revision.Revision
	if !repair {
		next.Changes = plan.String()
		next.Verdict = revision.Pending
		rev = o.record(next, yaml)
	}
	rep, err := o.eng.Apply(ctx, project, o.opts.Apply)
	out := Outcome{Result: Applied, Summary: rep.Summary(), Warnings: rep.Warnings, Revision: number(cur)}
	if err == nil {
		if rev != nil {
			rev.Verdict = revision.Healthy
			o.write(rev)
			out.Revision = rev.Number
		}
		return out, nil
	}
	out.Result = Failed
	switch {
	case rev == nil || !rep.Touched || ctx.Err() != nil || cur == nil:
		// Nothing was changed, nothing healthy to go back to, or the
		// operation was cut short: the next one starts from here.
		if rev != nil {
			rev.Verdict, rev.Reason = revision.Failed, oneLine(err)
			o.write(rev)
		}
		return out, err
	}
	return o.rollBack(ctx, rev, cur, err)
}

// confirmer is an Engine that can tell, in a few reads, that an instance
// whose plan is empty runs and is healthy, waiting for the containers that
// started less than the steady window ago (*lifecycle.Engine). Without it
// an empty plan is taken for a healthy instance.
type confirmer interface {
	Confirm(ctx context.Context, project *types.Project, opts lifecycle.ApplyOptions) (lifecycle.Report, error)
}

// unchanged ends an operation whose plan is empty: nothing is applied and
// no revision is added, unless the history does not know yet that the
// engine runs next.
func (o *op) unchanged(ctx context.Context, project *types.Project, yaml []byte, next revision.Revision) (Outcome, error) {
	var warnings []string
	if c, ok := o.eng.(confirmer); ok {
		rep, err := c.Confirm(ctx, project, o.opts.Apply)
		if err != nil {
			o.settlePending(false, next.SpecHash)
			return Outcome{Result: Failed, Warnings: rep.Warnings, Revision: number(o.hist.Current())}, err
		}
		warnings = rep.Warnings
	}
	o.settlePending(true, next.SpecHash)
	cur := o.hist.Current()
	// The engine runs it already: the history says so too, so that a
	// later failure has it to go back to.
	if cur == nil || cur.SpecHash != next.SpecHash {
		if cur == nil && next.Cause == revision.CauseApply {
			next.Cause = revision.CauseBaseline
		}
		next.Verdict, next.Changes = revision.Healthy, "none: the engine ran it already"
		cur = o.record(next, yaml)
	}
	return Outcome{Result: Unchanged, Summary: "unchanged", Warnings: warnings, Revision: number(cur)}, nil
}

// rollBack restores cur after rev failed with cause.
func (o *op) rollBack(ctx context.Context, rev, cur *revision.Revision, cause error) (Outcome, error) {
	o.log.Warn("change failed; rolling back", "revision", rev.Number, "to", cur.Number, "error", cause)
	o.step(StepRollingBack)
	out := Outcome{Result: Failed, Failed: rev}
	p, err := render.Load(ctx, o.in.Name, o.in.Dir, []byte(cur.Project))
	if err == nil {
		err = o.prepare(ctx, []byte(cur.Project))
	}
	var rep lifecycle.Report
	if err == nil {
		rep, err = o.eng.Apply(ctx, p, o.opts.Apply)
	}
	if err != nil {
		rev.Verdict = revision.Failed
		rev.Reason = fmt.Sprintf("%s; rolling back to revision %d failed too: %s", oneLine(cause), cur.Number, oneLine(err))
		o.write(rev)
		return out, fmt.Errorf("instance %s: revision %d failed: %w; rolling back to revision %d failed too: %w", o.in.Name, rev.Number, cause, cur.Number, err)
	}
	rev.Verdict, rev.Reason, rev.Restored = revision.RolledBack, oneLine(cause), cur.Number
	o.write(rev)
	out.Result, out.Revision = RolledBack, cur.Number
	out.Summary = fmt.Sprintf("revision %d failed, runs revision %d again: %s", rev.Number, cur.Number, rep.Summary())
	out.Warnings = rep.Warnings
	return out, &RolledBackError{Instance: o.in.Name, Revision: rev.Number, Restored: cur.Number, Err: cause}
}

// prepare creates what the instance's containers mount and leaves yaml as
// its compose.yaml, for docker compose by hand.
func (o *op) prepare(ctx context.Context, yaml []byte) error {
	files, err := o.eng.Files(ctx, filepath.Dir(o.in.Dir))
	if err != nil {
		return err
	}
	if err := instdir.Prepare(ctx, files, o.in); err != nil {
		return err
	}
	if err := subnets.Keep(ctx, filepath.Dir(o.in.Dir), o.in, o.opts.By); err != nil {
		return err
	}
	return instdir.WriteFileIn(filepath.Dir(o.in.Dir), o.in.Path(instdir.ComposeFile), yaml, 0o644)
}

// settlePending gives a revision an interrupted apply left pending its
// verdict: healthy when the engine runs spec, healthy (running is set),
// and that is the revision's spec; failed otherwise.
func (o *op) settlePending(running bool, spec string) {
	n := o.hist.Newest()
	if n == nil || n.Verdict != revision.Pending {
		return
	}
	if running && n.SpecHash == spec {
		n.Verdict, n.Reason = revision.Healthy, "found running after an interrupted apply"
	} else {
		n.Verdict, n.Reason = revision.Failed, "interrupted before it was known to be healthy"
	}
	o.write(n)
}

// baseline starts the history of an instance applied before wbd kept one:
// the compose.yaml the last apply left is what runs, if the engine
// matches it.
func (o *op) baseline(ctx context.Context) *revision.Revision {
	yaml, err := instdir.ReadFileIn(filepath.Dir(o.in.Dir), o.in.Path(instdir.ComposeFile))
	if err != nil {
		return nil
	}
	p, err := render.Load(ctx, o.in.Name, o.in.Dir, yaml)
	if err != nil {
		return nil
	}
	if plan, err := o.eng.Plan(ctx, p); err != nil || !plan.Empty() {
		return nil
	}
	return o.record(revision.Revision{Cause: revision.CauseBaseline, SpecHash: revision.Hash(o.in.Host, yaml), Verdict: revision.Healthy}, yaml)
}

// record adds r to the history. A history that cannot be written costs the
// instance its rollback, not its apply: it is logged.
func (o *op) record(r revision.Revision, yaml []byte) *revision.Revision {
	r.Time, r.By, r.Project = time.Now().UTC(), o.opts.By, string(yaml)
	added, err := o.store.Add(r)
	if err != nil {
		o.log.Error("cannot record the revision", "error", err)
	}
	o.reload()
	if got := o.hist.Get(added.Number); got != nil {
		return got
	}
	return &added
}

func (o *op) write(r *revision.Revision) {
	if err := o.store.Write(*r); err != nil {
		o.log.Error("cannot record the verdict", "revision", r.Number, "error", err)
	}
}

func number(r *revision.Revision) int {
	if r == nil {
		return 0
	}
	return r.Number
}

// oneLine is err in one line, for a revision's reason.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
