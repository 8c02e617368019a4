package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

func TestEachChangedChecksAllAtOnceAndChangesInFileOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		changed   string // instances that need a change
		fail      string // instances whose check or step fails
		keepGoing bool
		steps     string // instances step ran on, in order
		results   string
	}{
		{"all unchanged", "", "", false, "", "a:unchanged b:unchanged c:unchanged d:unchanged"},
		{"changes in file order", "bd", "", false, "b d", "a:unchanged b:applied c:unchanged d:applied"},
		{"a failed change stops the rollout", "bd", "b", false, "b", "a:unchanged b:failed c:untouched d:untouched"},
		{"a failed check stops it too", "bd", "a", false, "", "a:failed b:untouched c:untouched d:untouched"},
		{"keep going", "bd", "ab", true, "b d", "a:failed b:failed c:unchanged d:applied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ins []*spec.Instance
			for _, n := range "abcd" {
				ins = append(ins, &spec.Instance{Name: string(n)})
			}
			// Every check waits for the others to have begun: checks
			// one at a time would never end.
			var begun sync.WaitGroup
			begun.Add(len(ins))
			check := func(ctx context.Context, in *spec.Instance) (string, []string, bool, error) {
				begun.Done()
				begun.Wait()
				switch {
				case strings.Contains(tc.changed, in.Name):
					return "", nil, true, nil
				case strings.Contains(tc.fail, in.Name):
					return "", nil, false, errors.New("check failed")
				}
				return "unchanged", nil, false, nil
			}
			var steps []string
			step := func(ctx context.Context, in *spec.Instance) (string, []string, error) {
				steps = append(steps, in.Name)
				if strings.Contains(tc.fail, in.Name) {
					return "", nil, errors.New("step failed")
				}
				return "recreated", nil, nil
			}
			done := make(chan []outcome)
			go func() { done <- eachChanged(t.Context(), ins, len(ins), 1, tc.keepGoing, "applied", check, step) }()
			var outs []outcome
			select {
			case outs = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("eachChanged did not end: the checks did not run at once")
			}
			var results []string
			for _, o := range outs {
				r := o.Result
				if o.Summary == "unchanged" {
					r = o.Summary
				}
				results = append(results, o.Instance+":"+r)
			}
			if got := strings.Join(results, " "); got != tc.results {
				t.Errorf("results %q, want %q", got, tc.results)
			}
			if got := strings.Join(steps, " "); got != tc.steps {
				t.Errorf("steps ran on %q, want %q", got, tc.steps)
			}
			if err := printOutcomes(&strings.Builder{}, "apply", outs); fmt.Sprint(err != nil) != fmt.Sprint(tc.fail != "") {
				t.Errorf("printOutcomes: %v, want an error only when an instance failed", err)
			}
		})
	}
}
