package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

// ErrNoRevision: the asked revision is not in the instance's history.
var ErrNoRevision = errors.New("no such revision")

// NoRevisionError names what was asked and what the history holds.
type NoRevisionError struct {
	Instance string
	Asked    string // "revision 7", "a healthy revision before revision 3"
	Known    []int
}

func (e *NoRevisionError) Error() string {
	known := "it has none"
	if len(e.Known) > 0 {
		ns := make([]string, len(e.Known))
		for i, n := range e.Known {
			ns[i] = strconv.Itoa(n)
		}
		known = "it has " + strings.Join(ns, ", ")
	}
	return fmt.Sprintf("instance %s: no %s in its history (%s; see `wbd history %s`)", e.Instance, e.Asked, known, e.Instance)
}

func (e *NoRevisionError) Unwrap() error { return ErrNoRevision }

// Rollback applies an earlier revision of in on purpose: revision to, or
// when to is 0 the newest healthy one before the one it runs (never one
// that was rolled back or failed, unless named). Since the file res still
// says otherwise, the new revision pins in: Apply leaves it there until
// the instance's part of the file changes or Release. A rollback that
// fails is itself rolled back.
func Rollback(ctx context.Context, eng Engine, in *spec.Instance, res *render.Result, to int, opts Options) (Outcome, error) {
	o, unlock, err := begin(eng, in, opts)
	if err != nil {
		return Outcome{Result: Failed}, err
	}
	defer unlock()
	start, from := time.Now(), number(o.hist.Current())
	o.acted = true // asked for by name: recorded even when nothing changes
	out, err := o.rollback(ctx, res, to)
	o.note(events.Rollback, start, from, out, err)
	return out, err
}

func (o *op) rollback(ctx context.Context, res *render.Result, to int) (Outcome, error) {
	in := o.in
	target, err := o.target(to)
	if err != nil {
		return Outcome{Result: Failed}, err
	}
	p, err := render.Load(ctx, in.Name, in.Dir, []byte(target.Project))
	if err != nil {
		return Outcome{Result: Failed}, fmt.Errorf("instance %s: revision %d: %w", in.Name, target.Number, err)
	}
	next := revision.Revision{
		Cause:       revision.CauseRollback,
		SpecHash:    revision.Hash(in.Host, []byte(target.Project)),
		Restored:    target.Number,
		Pinned:      true,
		PinnedWhile: revision.Hash(in.Host, res.YAML),
	}
	// Going back to what runs is still a pin: record it as a revision.
	if cur := o.hist.Current(); cur != nil && cur.SpecHash == next.SpecHash {
		next.Changes = "none: revision " + strconv.Itoa(cur.Number) + " runs it already"
		next.Verdict = revision.Healthy
		rev := o.record(next, []byte(target.Project))
		return Outcome{Result: Pinned, Revision: rev.Number, Summary: fmt.Sprintf("pinned to revision %d (same as revision %d)", rev.Number, target.Number)}, nil
	}
	out, err := o.converge(ctx, p, []byte(target.Project), next, nil)
	if err == nil {
		out.Result = Pinned
		out.Summary = fmt.Sprintf("rolled back to revision %d as revision %d, pinned: %s", target.Number, out.Revision, out.Summary)
	}
	return out, err
}

func (o *op) target(to int) (*revision.Revision, error) {
	var known []int
	for _, r := range o.hist {
		known = append(known, r.Number)
	}
	slices.Sort(known)
	if to > 0 {
		if r := o.hist.Get(to); r != nil {
			return r, nil
		}
		return nil, &NoRevisionError{Instance: o.in.Name, Asked: "revision " + strconv.Itoa(to), Known: known}
	}
	if r := o.hist.Previous(); r != nil {
		return r, nil
	}
	asked := "healthy revision to roll back to"
	if cur := o.hist.Current(); cur != nil {
		asked = fmt.Sprintf("healthy revision before revision %d, which it runs,", cur.Number)
	}
	return nil, &NoRevisionError{Instance: o.in.Name, Asked: asked, Known: known}
}

// Release ends the pin `wbd rollback` put on in and applies the file, res.
func Release(ctx context.Context, eng Engine, in *spec.Instance, res *render.Result, opts Options) (Outcome, error) {
	o, unlock, err := begin(eng, in, opts)
	if err != nil {
		return Outcome{Result: Failed}, err
	}
	defer unlock()
	start, from := time.Now(), number(o.hist.Current())
	if n := o.hist.Newest(); n != nil && n.Pinned && !n.Released {
		n.Released = true
		o.write(n)
		o.log.Info("pin released", "revision", n.Number)
		o.acted = true
	}
	out, err := o.apply(ctx, res)
	o.note(events.Release, start, from, out, err)
	return out, err
}
