package rollout

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/revision"
)

// confirmingEngine is fakeEngine that, as *lifecycle.Engine does, confirms
// that an instance whose plan is empty runs healthy.
type confirmingEngine struct {
	*fakeEngine
	confirms int
	warnings []string
	err      error // what Confirm returns
}

func (e *confirmingEngine) Confirm(_ context.Context, p *types.Project, _ lifecycle.ApplyOptions) (lifecycle.Report, error) {
	e.confirms++
	return lifecycle.Report{Instance: p.Name, Warnings: e.warnings}, e.err
}

func TestAnUnchangedInstanceIsConfirmedNotApplied(t *testing.T) {
	s := newStory(t)
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	eng := &confirmingEngine{fakeEngine: s.eng, warnings: []string{"optional service did not start"}}
	again := func() (Outcome, error) {
		in, res := s.file("app:1")
		return Apply(t.Context(), eng, in, res, Options{})
	}

	out, err := again()
	if err != nil || out.Result != Unchanged || out.Revision != 1 || fmt.Sprint(out.Warnings) != "[optional service did not start]" {
		t.Fatalf("unchanged: %+v, %v; want unchanged at revision 1 with Confirm's warning", out, err)
	}
	if eng.confirms != 1 || fmt.Sprint(s.eng.applies) != "[app:1]" {
		t.Fatalf("unchanged: %d confirms, applies %v; want 1 confirm, no apply", eng.confirms, s.eng.applies)
	}
	s.want("1 healthy")

	// A container that does not stay up: the apply fails, nothing is
	// applied or rolled back, and no revision is added.
	eng.err = &lifecycle.NotReadyError{Instance: "alpha", Services: []lifecycle.ServiceState{{Service: "app", State: "exited", ExitCode: 1}}}
	out, err = again()
	if !errors.Is(err, lifecycle.ErrNotReady) || errors.Is(err, ErrRolledBack) || out.Result != Failed || out.Revision != 1 {
		t.Fatalf("unchanged, not ready: %+v, %v; want failed at revision 1", out, err)
	}
	if fmt.Sprint(s.eng.applies) != "[app:1]" {
		t.Fatalf("unchanged, not ready: applies %v, want none", s.eng.applies)
	}
	s.want("1 healthy")
}

func TestAPendingRevisionIsHealthyOnlyOnceConfirmed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		verdict revision.Verdict
		reason  string
	}{
		{"confirmed", nil, revision.Healthy, "found running after an interrupted apply"},
		{"not ready", &lifecycle.NotReadyError{Instance: "alpha"}, revision.Failed, "interrupted before it was known to be healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStory(t)
			if _, err := s.apply("app:1", Options{}); err != nil {
				t.Fatal(err)
			}
			// An apply of app:2 killed once its containers ran: pending.
			in, res := s.file("app:2")
			store := revision.Open(filepath.Join(s.root, "alpha"))
			if _, err := store.Add(revision.Revision{Cause: revision.CauseApply, SpecHash: revision.Hash(in.Host, res.YAML), Verdict: revision.Pending, Project: string(res.YAML)}); err != nil {
				t.Fatal(err)
			}
			s.eng.running = "app:2"

			eng := &confirmingEngine{fakeEngine: s.eng, err: tc.err}
			if _, err := Apply(t.Context(), eng, in, res, Options{}); !errors.Is(err, tc.err) {
				t.Fatalf("Apply: %v, want %v", err, tc.err)
			}
			if r := s.history().Get(2); r == nil || r.Verdict != tc.verdict || r.Reason != tc.reason {
				t.Fatalf("revision 2: %+v, want %s: %s", r, tc.verdict, tc.reason)
			}
		})
	}
}

func TestOnlyUnchangedLeavesAChangeForLater(t *testing.T) {
	s := newStory(t)
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	eng := &confirmingEngine{fakeEngine: s.eng}
	in, res := s.file("app:1")
	if out, err := Apply(t.Context(), eng, in, res, Options{OnlyUnchanged: true}); err != nil || out.Result != Unchanged || eng.confirms != 1 {
		t.Fatalf("unchanged: %+v, %v, %d confirms; want unchanged, confirmed", out, err, eng.confirms)
	}
	in, res = s.file("app:2")
	if out, err := Apply(t.Context(), eng, in, res, Options{OnlyUnchanged: true}); err != nil || out.Result != Deferred {
		t.Fatalf("changed: %+v, %v; want deferred", out, err)
	}
	if fmt.Sprint(s.eng.applies) != "[app:1]" {
		t.Fatalf("changed: applies %v, want none", s.eng.applies)
	}
	s.want("1 healthy")
}
