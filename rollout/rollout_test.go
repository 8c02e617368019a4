package rollout

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

// fakeEngine runs one instance's app image. Images in bad start and then
// fail; images in missing cannot be pulled.
type fakeEngine struct {
	running string // the app image; "" when nothing runs
	stopped bool
	bad     map[string]bool
	missing map[string]bool
	applies []string // images applied, in order
	plans   int      // calls of Plan
}

func appImage(p *types.Project) string { return p.Services["app"].Image }

func (e *fakeEngine) Plan(_ context.Context, p *types.Project) (lifecycle.Plan, error) {
	e.plans++
	sp := lifecycle.ServicePlan{Service: "app", Action: lifecycle.ActionUnchanged}
	switch {
	case e.running == "":
		sp.Action = lifecycle.ActionCreate
	case e.running != appImage(p):
		sp.Action = lifecycle.ActionRecreate
		sp.Changes = []lifecycle.Change{{Field: "image", Detail: e.running + " -> " + appImage(p)}}
	case e.stopped:
		sp.Action = lifecycle.ActionStart
	}
	return lifecycle.Plan{Instance: p.Name, Services: []lifecycle.ServicePlan{sp}}, nil
}

func (e *fakeEngine) Apply(_ context.Context, p *types.Project, _ lifecycle.ApplyOptions) (lifecycle.Report, error) {
	img := appImage(p)
	if e.missing[img] {
		return lifecycle.Report{}, fmt.Errorf("pull %s: not found", img)
	}
	e.applies = append(e.applies, img)
	e.running, e.stopped = img, e.bad[img]
	rep := lifecycle.Report{Instance: p.Name, Touched: true, Services: []lifecycle.ServiceReport{{Action: lifecycle.ActionRecreate, ServiceState: lifecycle.ServiceState{Service: "app"}}}}
	if e.bad[img] {
		return rep, &lifecycle.NotReadyError{Instance: p.Name, Services: []lifecycle.ServiceState{{Service: "app", State: "exited", ExitCode: 1}}}
	}
	return rep, nil
}

func (e *fakeEngine) Files(context.Context, string) (instdir.Files, error) { return instdir.Local, nil }

// story is one instance, its file edited by the test.
type story struct {
	t    *testing.T
	root string
	eng  *fakeEngine
}

func newStory(t *testing.T) *story {
	return &story{t: t, root: t.TempDir(), eng: &fakeEngine{bad: map[string]bool{}, missing: map[string]bool{}}}
}

// file renders the instance with app image img.
func (s *story) file(img string) (*spec.Instance, *render.Result) {
	s.t.Helper()
	yaml := fmt.Sprintf("version: 1\nroot: %s\ninstances:\n  alpha:\n    port: 40001\n    images: {app: %q}\n", s.root, img)
	cfg, err := spec.ParseFile(filepath.Join(s.root, "instances.yaml"), []byte(yaml))
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := render.New("")
	if err != nil {
		s.t.Fatal(err)
	}
	in := cfg.Instance("alpha")
	res, err := r.Render(s.t.Context(), in)
	if err != nil {
		s.t.Fatal(err)
	}
	return in, res
}

func (s *story) apply(img string, opts Options) (Outcome, error) {
	s.t.Helper()
	in, res := s.file(img)
	return Apply(s.t.Context(), s.eng, in, res, opts)
}

func (s *story) history() revision.History {
	s.t.Helper()
	h, errs := revision.Open(filepath.Join(s.root, "alpha")).Load()
	if len(errs) > 0 {
		s.t.Fatal(errs)
	}
	return h
}

// verdicts lists the history's verdicts, newest first.
func (s *story) verdicts() []string {
	var out []string
	for _, r := range s.history() {
		out = append(out, fmt.Sprintf("%d %s", r.Number, r.Verdict))
	}
	return out
}

func (s *story) want(verdicts ...string) {
	s.t.Helper()
	if got := s.verdicts(); fmt.Sprint(got) != fmt.Sprint(verdicts) {
		s.t.Fatalf("history=%q, want %q", got, verdicts)
	}
}

func TestABadImageIsRolledBackAndHeld(t *testing.T) {
	s := newStory(t)
	s.eng.bad["app:bad"] = true
	if out, err := s.apply("app:1", Options{}); err != nil || out.Result != Applied || out.Revision != 1 {
		t.Fatalf("first apply: %+v, %v", out, err)
	}
	out, err := s.apply("app:bad", Options{})
	var rb *RolledBackError
	if !errors.As(err, &rb) || !errors.Is(err, ErrRolledBack) || !errors.Is(err, lifecycle.ErrNotReady) {
		t.Fatalf("bad image: err=%v, want a RolledBackError wrapping why", err)
	}
	if out.Result != RolledBack || out.Revision != 1 || rb.Revision != 2 || rb.Restored != 1 {
		t.Fatalf("bad image: outcome %+v, error %+v", out, rb)
	}
	if s.eng.running != "app:1" || s.eng.stopped {
		t.Fatalf("engine runs %q (stopped %v), want app:1 again", s.eng.running, s.eng.stopped)
	}
	s.want("2 rolled back", "1 healthy")
	if r := s.history().Get(2); r.Restored != 1 || r.Reason == "" {
		t.Fatalf("rolled back revision: %+v", r)
	}

	// The same file again: held, nothing applied.
	n := len(s.eng.applies)
	out, err = s.apply("app:bad", Options{})
	if !errors.Is(err, ErrHeld) || out.Result != Held || out.Revision != 1 {
		t.Fatalf("same file again: %+v, %v; want held at revision 1", out, err)
	}
	if len(s.eng.applies) != n {
		t.Fatalf("a held spec was applied again: %v", s.eng.applies)
	}
	s.want("2 rolled back", "1 healthy")

	// A held instance whose app stopped is repaired at its revision, and
	// stays held.
	s.eng.stopped = true
	if _, err = s.apply("app:bad", Options{}); !errors.Is(err, ErrHeld) {
		t.Fatalf("held and stopped: %v", err)
	}
	if s.eng.running != "app:1" || s.eng.stopped {
		t.Fatalf("held and stopped: runs %q stopped %v", s.eng.running, s.eng.stopped)
	}
	s.want("2 rolled back", "1 healthy")

	// Asked to: tried again, rolled back again.
	if _, err = s.apply("app:bad", Options{RetryFailed: true}); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("retry: %v", err)
	}
	s.want("3 rolled back", "2 rolled back", "1 healthy")

	// An edit: applied.
	if out, err = s.apply("app:2", Options{}); err != nil || out.Result != Applied || out.Revision != 4 {
		t.Fatalf("good edit: %+v %v", out, err)
	}
	s.want("4 healthy", "3 rolled back", "2 rolled back", "1 healthy")
}

func TestWhatFailsBeforeTouchingChangesNothing(t *testing.T) {
	s := newStory(t)
	s.eng.missing["app:nope"] = true
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := s.apply("app:nope", Options{})
	if err == nil || errors.Is(err, ErrRolledBack) || out.Result != Failed {
		t.Fatalf("missing image: %+v, %v; want a plain failure", out, err)
	}
	if fmt.Sprint(s.eng.applies) != "[app:1]" {
		t.Fatalf("applies=%v: nothing should have been rolled back", s.eng.applies)
	}
	s.want("2 failed", "1 healthy")
	// Not held: the next apply tries again.
	delete(s.eng.missing, "app:nope")
	if out, err := s.apply("app:nope", Options{}); err != nil || out.Result != Applied {
		t.Fatalf("after the image came: %+v %v", out, err)
	}
}

func TestAFirstApplyThatFailsHasNothingToRollBackTo(t *testing.T) {
	s := newStory(t)
	s.eng.bad["app:bad"] = true
	out, err := s.apply("app:bad", Options{})
	if err == nil || errors.Is(err, ErrRolledBack) || out.Result != Failed {
		t.Fatalf("%+v %v", out, err)
	}
	s.want("1 failed")
}

func TestRollbackPinsUntilTheFileChangesOrRelease(t *testing.T) {
	s := newStory(t)
	for _, img := range []string{"app:1", "app:2"} {
		if _, err := s.apply(img, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	in, res := s.file("app:2")
	out, err := Rollback(t.Context(), s.eng, in, res, 0, Options{})
	if err != nil || out.Result != Pinned || out.Revision != 3 {
		t.Fatalf("rollback: %+v %v", out, err)
	}
	if s.eng.running != "app:1" {
		t.Fatalf("runs %s after rollback", s.eng.running)
	}
	if r := s.history().Newest(); !r.Pinned || r.Restored != 1 || r.Cause != revision.CauseRollback {
		t.Fatalf("rollback revision: %+v", r)
	}
	// The file still says app:2: apply leaves it pinned.
	if out, err := s.apply("app:2", Options{}); err != nil || out.Result != Pinned || s.eng.running != "app:1" {
		t.Fatalf("apply while pinned: %+v %v, runs %s", out, err, s.eng.running)
	}
	// Release applies the file.
	out, err = Release(t.Context(), s.eng, in, res, Options{})
	if err != nil || out.Result != Applied || s.eng.running != "app:2" {
		t.Fatalf("release: %+v %v, runs %s", out, err, s.eng.running)
	}
	s.want("4 healthy", "3 healthy", "2 healthy", "1 healthy")

	// Pinned again, then the file changes: the edit wins.
	if _, err := Rollback(t.Context(), s.eng, in, res, 1, Options{}); err != nil {
		t.Fatal(err)
	}
	if out, err := s.apply("app:3", Options{}); err != nil || out.Result != Applied || s.eng.running != "app:3" {
		t.Fatalf("edit while pinned: %+v %v, runs %s", out, err, s.eng.running)
	}
}

func TestRollbackToAnUnknownRevision(t *testing.T) {
	s := newStory(t)
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	in, res := s.file("app:1")
	_, err := Rollback(t.Context(), s.eng, in, res, 7, Options{})
	if !errors.Is(err, ErrNoRevision) || err.Error() != "instance alpha: no revision 7 in its history (it has 1; see `wbd history alpha`)" {
		t.Fatalf("err=%v", err)
	}
	_, err = Rollback(t.Context(), s.eng, in, res, 0, Options{})
	if !errors.Is(err, ErrNoRevision) {
		t.Fatalf("no earlier revision: err=%v", err)
	}
}

func TestAnInterruptedApplyIsSettledByTheNext(t *testing.T) {
	s := newStory(t)
	if _, err := s.apply("app:1", Options{}); err != nil {
		t.Fatal(err)
	}
	// As if wbd was killed after the engine ran app:2, before the verdict.
	in, res := s.file("app:2")
	store := revision.Open(in.Dir)
	if _, err := store.Add(revision.Revision{Verdict: revision.Pending, SpecHash: revision.Hash(in.Host, res.YAML), Project: string(res.YAML)}); err != nil {
		t.Fatal(err)
	}
	s.eng.running = "app:2"
	if out, err := s.apply("app:2", Options{}); err != nil || out.Result != Unchanged || out.Revision != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	s.want("2 healthy", "1 healthy")
}

func TestAnInstanceFromBeforeHistoryGetsABaseline(t *testing.T) {
	s := newStory(t)
	s.eng.bad["app:bad"] = true
	// An earlier wbd applied app:1 and left its compose.yaml.
	in, res := s.file("app:1")
	if err := instdir.Prepare(t.Context(), instdir.Local, in); err != nil {
		t.Fatal(err)
	}
	if err := instdir.WriteFile(in.Path(instdir.ComposeFile), res.YAML, 0o644); err != nil {
		t.Fatal(err)
	}
	s.eng.running = "app:1"
	if _, err := s.apply("app:bad", Options{}); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("err=%v, want rolled back to what ran", err)
	}
	if s.eng.running != "app:1" {
		t.Fatalf("runs %s", s.eng.running)
	}
	s.want("2 rolled back", "1 healthy")
	if r := s.history().Get(1); r.Cause != revision.CauseBaseline {
		t.Fatalf("revision 1: %+v", r)
	}
}
