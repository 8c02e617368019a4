package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestPlanInReadsTheEngineOnce(t *testing.T) {
	t.Parallel()
	e, calls, _ := watchedEngine(t)
	a, b := newFixture(t, e), newFixture(t, e)
	pa, pb := a.project(t), b.project(t)
	apply(t, e, pa, ApplyOptions{})
	apply(t, e, pb, ApplyOptions{})

	calls.take()
	snap, err := e.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*types.Project{pa, pb} {
		plan, err := e.PlanIn(t.Context(), snap, p)
		if err != nil {
			t.Fatal(err)
		}
		if !plan.Empty() {
			t.Errorf("plan of %s from the snapshot: %s, want nothing to do", p.Name, plan)
		}
	}
	reqs := calls.take()
	count := func(req string) int {
		return len(slices.DeleteFunc(slices.Clone(reqs), func(r string) bool { return r != req }))
	}
	if n := count("GET /containers/json"); n != 1 {
		t.Errorf("%d container lists for two instances, want 1", n)
	}
	if n := count("GET /networks"); n != 1 {
		t.Errorf("%d network lists for two instances, want 1", n)
	}
	for _, r := range reqs {
		if strings.HasPrefix(r, "GET /containers/") && r != "GET /containers/json" {
			t.Errorf("%s: a container the list showed was inspected", r)
		}
	}
	// Both instances run the same stub image: it is asked about once.
	if n := count("GET /images/" + a.App + "/json"); n != 1 {
		t.Errorf("image %s inspected %d times, want once for the snapshot", a.App, n)
	}
	t.Logf("two instances planned in %d requests: %s", len(reqs), strings.Join(reqs, ", "))

	var names []string
	for _, p := range snap.Projects {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, a.Name) || !slices.Contains(names, b.Name) {
		t.Errorf("snapshot's projects %v, want %s and %s among them", names, a.Name, b.Name)
	}

	t.Run("a change still shows", func(t *testing.T) {
		changed := b
		changed.AppExtra = "two"
		plan, err := e.PlanIn(t.Context(), snap, changed.project(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.String(); !strings.HasPrefix(got, "app recreate (environment") {
			t.Errorf("plan of an edited app from the snapshot: %q, want app recreate for its environment", got)
		}
	})
	t.Run("a missing container is looked up", func(t *testing.T) {
		c := newFixture(t, e)
		plan, err := e.PlanIn(t.Context(), snap, c.project(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.String(); got != "postgres create, redis create, app create" {
			t.Errorf("plan of a new instance from the snapshot: %q", got)
		}
	})
}
