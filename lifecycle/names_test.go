package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// An interrupted recreate leaves the new container named ID_NAME. Plan
// says apply renames it, and apply gives it its name back without
// recreating it: the app finds NAME-redis and operators `docker exec NAME`.
func TestApplyRestoresTheNameAnInterruptedRecreateLeft(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	p := f.project(t)
	apply(t, e, p, ApplyOptions{})
	app := inspect(t, e, f.Name)
	tmp := app.ID[:12] + "_" + f.Name
	if _, err := e.api.ContainerRename(t.Context(), app.ID, client.ContainerRenameOptions{NewName: tmp}); err != nil {
		t.Fatal(err)
	}

	plan, err := e.Plan(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Empty() || len(plan.Renames) != 1 {
		t.Fatalf("plan = %+v, want one rename", plan)
	}
	if m := plan.Renames[0]; m.Service != "app" || m.Name != tmp || m.Want != f.Name || m.ID != app.ID {
		t.Errorf("rename = %+v, want app %s -> %s", m, tmp, f.Name)
	}
	for _, sp := range plan.Services {
		if sp.Action != ActionUnchanged {
			t.Errorf("plan for %s: %s %v, want unchanged: only the name differs", sp.Service, sp.Action, sp.Changes)
		}
	}

	rep := apply(t, e, p, ApplyOptions{})
	if got := inspect(t, e, f.Name); got.ID != app.ID {
		t.Errorf("%s is container %.12s, want %.12s renamed, not recreated", f.Name, got.ID, app.ID)
	}
	if !slices.Contains(rep.Renamed, tmp+" -> "+f.Name) || !strings.Contains(rep.Summary(), "renamed "+tmp+" -> "+f.Name) {
		t.Errorf("apply report (renamed %q, summary %q) does not say what was renamed", rep.Renamed, rep.Summary())
	}
	if plan, err := e.Plan(t.Context(), p); err != nil || !plan.Empty() {
		t.Errorf("plan after apply = %+v, %v; want nothing to do", plan, err)
	}
}

// An interrupt between compose's create of ID_NAME and its removal of the
// old NAME leaves both. The unstarted one is removed, and the next apply
// of a change recreates the app once, under its name.
func TestApplyRemovesTheUnstartedContainerOfAnInterruptedRecreate(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	apply(t, e, f.project(t), ApplyOptions{})
	old := inspect(t, e, f.Name)
	tmp := old.ID[:12] + "_" + f.Name
	if _, err := e.api.ContainerCreate(t.Context(), client.ContainerCreateOptions{Config: old.Config, Name: tmp}); err != nil {
		t.Fatal(err)
	}

	f.AppExtra = "two"
	p := f.project(t)
	plan, err := e.Plan(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Renames) != 1 || !plan.Renames[0].Unstarted || !strings.Contains(plan.String(), "app remove ("+tmp+": never started; "+f.Name+" still runs)") {
		t.Errorf("plan = %s (%+v), want %s removed", plan, plan.Renames, tmp)
	}
	rep := apply(t, e, p, ApplyOptions{})
	now := inspect(t, e, f.Name)
	if now.ID == old.ID || now.State == nil || !now.State.Running {
		t.Errorf("%s is %.12s (running %v), want a new, running container", f.Name, now.ID, now.State != nil && now.State.Running)
	}
	if _, err := e.api.ContainerInspect(t.Context(), tmp, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("%s is still there", tmp)
	}
	want := tmp + " removed (never started; " + f.Name + " still runs)"
	if !slices.Contains(rep.Renamed, want) {
		t.Errorf("report says %q, want %q", rep.Renamed, want)
	}
}
