package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/rollout"
	"github.com/wbd-dev/wbd/spec"
)

// outcome is what became of one instance in a rollout.
type outcome struct {
	Instance string        `json:"instance"`
	Result   string        `json:"result"` // done, failed, rolled back, held, untouched
	Summary  string        `json:"summary,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// stepFunc acts on one instance and describes what it did.
type stepFunc func(ctx context.Context, in *spec.Instance) (summary string, warnings []string, err error)

// eachInstance runs step over ins in file order, at most parallel at a time.
// After a failure no further instance starts unless keepGoing; those that
// never started are reported untouched.
func eachInstance(ctx context.Context, ins []*spec.Instance, parallel int, keepGoing bool, done string, step stepFunc) []outcome {
	return eachKnown(ctx, ins, nil, parallel, keepGoing, done, step)
}

// checkFunc tells, changing nothing, what became of an instance that needs
// no change, or that it needs one (changed; the rest is then unset).
type checkFunc func(ctx context.Context, in *spec.Instance) (summary string, warnings []string, changed bool, err error)

// eachChanged is eachInstance for a rollout where most instances need no
// change: check first tells those apart, checks at a time in any order, and
// step then runs in file order on the others only. The outcomes read as
// eachInstance's would: an instance after a failure that stops the rollout
// is untouched, checked or not.
func eachChanged(ctx context.Context, ins []*spec.Instance, checks, parallel int, keepGoing bool, done string, check checkFunc, step stepFunc) []outcome {
	known := make([]*outcome, len(ins))
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(checks, 1))
	for i, in := range ins {
		slots <- struct{}{}
		if ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			start := time.Now()
			summary, warnings, changed, err := check(ctx, in)
			if !changed {
				o := outcomeOf(in, done, summary, warnings, err, time.Since(start))
				known[i] = &o
			}
		}()
	}
	wg.Wait()
	return eachKnown(ctx, ins, known, parallel, keepGoing, done, step)
}

// eachKnown is eachInstance where known[i], when not nil, is already what
// became of ins[i]: it counts in the rollout's order, step is not run.
func eachKnown(ctx context.Context, ins []*spec.Instance, known []*outcome, parallel int, keepGoing bool, done string, step stepFunc) []outcome {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]outcome, len(ins))
	for i, in := range ins {
		out[i] = outcome{Instance: in.Name, Result: "untouched"}
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
		slots  = make(chan struct{}, parallel)
	)
	finish := func(i int, o outcome) {
		mu.Lock()
		defer mu.Unlock()
		failed = failed || o.Error != ""
		out[i] = o
	}
	for i, in := range ins {
		slots <- struct{}{}
		mu.Lock()
		stop := failed && !keepGoing
		mu.Unlock()
		if stop || ctx.Err() != nil {
			<-slots
			break
		}
		if i < len(known) && known[i] != nil {
			finish(i, *known[i])
			<-slots
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			start := time.Now()
			summary, warnings, err := step(ctx, in)
			finish(i, outcomeOf(in, done, summary, warnings, err, time.Since(start)))
		}()
	}
	wg.Wait()
	return out
}

// outcomeOf is what became of in, whose step ended with err.
func outcomeOf(in *spec.Instance, done, summary string, warnings []string, err error, took time.Duration) outcome {
	o := outcome{Instance: in.Name, Result: done, Summary: summary, Warnings: warnings, Duration: took}
	if err != nil {
		o.Result, o.Error = failedResult(err), reconcile.RedactHost(err.Error())
	}
	return o
}

// printOutcomes writes one summary line per instance and a closing count,
// and returns an error naming the failed instances.
func printOutcomes(w io.Writer, verb string, outs []outcome) error {
	tw := newTable(w)
	var failed, undone, untouched []string
	n := 0
	for _, o := range outs {
		detail := o.Summary
		switch o.Result {
		case "failed":
			failed = append(failed, o.Instance)
			detail = o.Error
		case resultRolledBack, resultHeld:
			undone = append(undone, o.Instance)
			detail = o.Error
		case "untouched":
			untouched = append(untouched, o.Instance)
			detail = "not started: the rollout stopped at the first failure (--keep-going goes on)"
		default:
			n++
		}
		dur := ""
		if o.Duration > 0 {
			dur = o.Duration.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Instance, o.Result, dur, firstLine(detail))
	}
	tw.Flush()
	if len(failed) == 0 && len(undone) == 0 && len(untouched) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: %d done", verb, n)
	if len(failed) > 0 || len(undone) == 0 {
		msg += fmt.Sprintf(", %d failed (%s)", len(failed), strings.Join(failed, ", "))
	}
	if len(undone) > 0 {
		msg += fmt.Sprintf(", %d rolled back or held (%s)", len(undone), strings.Join(undone, ", "))
	}
	if len(untouched) > 0 {
		msg += fmt.Sprintf(", %d untouched (%s)", len(untouched), strings.Join(untouched, ", "))
	}
	if len(failed) == 0 && len(untouched) == 0 {
		return rolledBackError{msg}
	}
	return fmt.Errorf("%s", msg)
}

// Results of an instance whose change was undone.
const (
	resultRolledBack = "rolled back"
	resultHeld       = "held"
)

// errRolledBack marks a command whose only failures were undone: it exits
// with exitRolledBack.
var errRolledBack = errors.New("rolled back")

type rolledBackError struct{ msg string }

func (e rolledBackError) Error() string { return e.msg }
func (e rolledBackError) Unwrap() error { return errRolledBack }

// failedResult names what became of an instance whose step failed with err.
func failedResult(err error) string {
	switch {
	case errors.Is(err, rollout.ErrRolledBack):
		return resultRolledBack
	case errors.Is(err, rollout.ErrHeld):
		return resultHeld
	}
	return "failed"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
