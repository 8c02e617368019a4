package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
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
	for i, in := range ins {
		slots <- struct{}{}
		mu.Lock()
		stop := failed && !keepGoing
		mu.Unlock()
		if stop || ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			start := time.Now()
			summary, warnings, err := step(ctx, in)
			o := outcome{Instance: in.Name, Result: done, Summary: summary, Warnings: warnings, Duration: time.Since(start)}
			if err != nil {
				o.Result, o.Error = failedResult(err), reconcile.RedactHost(err.Error())
				mu.Lock()
				failed = true
				mu.Unlock()
			}
			out[i] = o
		}()
	}
	wg.Wait()
	return out
}

// printOutcomes writes one summary line per instance and a closing count,
// and returns an error naming the failed instances.
func printOutcomes(w io.Writer, verb string, outs []outcome) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
