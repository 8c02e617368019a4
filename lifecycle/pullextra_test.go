package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/wbd-dev/wbd/render"
)

// Images to pull and never run are part of the plan while the engine lacks
// one, and an apply with nothing else to change still pulls them: here one
// no registry serves, so the apply fails naming it, touching no container.
func TestPlanAndApplyPullExtraImages(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	before := ids(apply(t, e, f.project(t), ApplyOptions{}))

	present := buildImages(t, e).Stub
	missing := "127.0.0.1:9/wbd-lifecycle/nope:" + f.Name
	p := f.project(t)
	p.Extensions = map[string]any{render.ExtensionPull: []any{present, missing}}
	plan, err := e.Plan(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Pull, []string{missing}) || plan.Empty() {
		t.Errorf("Plan.Pull = %q (empty %v), want %s alone, the image the engine lacks", plan.Pull, plan.Empty(), missing)
	}
	if s := plan.String(); s != "pull "+missing {
		t.Errorf("Plan.String() = %q, want the pull alone", s)
	}
	present2, err := e.ImagesPresent(t.Context(), []string{present, missing})
	if err != nil || !present2[present] || present2[missing] {
		t.Errorf("ImagesPresent = %v, %v; want %s present and %s not", present2, err, present, missing)
	}

	rep, err := e.Apply(t.Context(), p, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "pull "+missing) {
		t.Fatalf("Apply with a missing image to pull: err %v, want it to name %s", err, missing)
	}
	if rep.Touched {
		t.Errorf("Apply touched containers before failing to pull")
	}
	for svc, id := range before {
		if now := inspect(t, e, containerName(p, p.Services[svc])).ID; now != id {
			t.Errorf("%s: container %s became %s", svc, id, now)
		}
	}

	p.Extensions = map[string]any{render.ExtensionPull: []any{present}}
	if plan, err := e.Plan(t.Context(), p); err != nil || !plan.Empty() {
		t.Errorf("Plan with every image present = %+v, %v; want nothing to do", plan, err)
	}
}
