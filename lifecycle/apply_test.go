package lifecycle

import (
	"strings"
	"testing"
)

func TestApplyCreatesInstance(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	p := f.project(t)

	r := apply(t, e, p, ApplyOptions{})
	for svc, a := range actions(r) {
		if a != ActionCreate {
			t.Errorf("first Apply: %s %s, want create", svc, a)
		}
	}
	if len(r.Warnings) > 0 {
		t.Errorf("first Apply warnings: %v", r.Warnings)
	}
	for svc, name := range map[string]string{"postgres": f.Name + "-postgres", "redis": f.Name + "-redis", "app": f.Name} {
		c := inspect(t, e, name)
		if got := c.State.Status; got != "running" {
			t.Errorf("%s state %s, want running", name, got)
		}
		for k, want := range map[string]string{
			LabelManaged: "true", LabelInstance: f.Name,
			"com.docker.compose.project": f.Name, "com.docker.compose.service": svc,
		} {
			if got := c.Config.Labels[k]; got != want {
				t.Errorf("%s label %s=%q, want %q", name, k, got, want)
			}
		}
		if _, ok := c.NetworkSettings.Networks[f.Name]; !ok {
			t.Errorf("%s networks %v, want %s", name, keys(c.NetworkSettings.Networks), f.Name)
		}
	}
	if got := inspect(t, e, f.Name+"-postgres").State.Health.Status; got != "healthy" {
		t.Errorf("postgres health %s, want healthy", got)
	}

	again := apply(t, e, p, ApplyOptions{})
	for svc, id := range ids(again) {
		if a := actions(again)[svc]; a != ActionUnchanged {
			t.Errorf("second Apply: %s %s, want unchanged", svc, a)
		}
		if id != ids(r)[svc] {
			t.Errorf("second Apply: %s container %s, want %s", svc, id, ids(r)[svc])
		}
	}
}

func TestApplyRecreatesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	first := apply(t, e, f.project(t), ApplyOptions{})
	imgs := buildImages(t, e)

	for _, tc := range []struct {
		name   string
		edit   func(*fixture)
		field  string
		detail string
	}{
		{"app image", func(f *fixture) { f.App = imgs.StubV2 }, "image", imgs.StubV2},
		{"app environment", func(f *fixture) { f.AppExtra = "two" }, "environment", "~EXTRA"},
	} {
		tc.edit(f)
		p := f.project(t)
		plan, err := e.Plan(t.Context(), p)
		if err != nil {
			t.Fatalf("%s: Plan: %v", tc.name, err)
		}
		for _, sp := range plan.Services {
			want := ActionUnchanged
			if sp.Service == "app" {
				want = ActionRecreate
			}
			if sp.Action != want {
				t.Errorf("%s: Plan %s %s %v, want %s", tc.name, sp.Service, sp.Action, sp.Changes, want)
			}
			if sp.Service == "app" && !hasChange(sp.Changes, tc.field, tc.detail) {
				t.Errorf("%s: Plan app changes %v, want %s mentioning %q", tc.name, sp.Changes, tc.field, tc.detail)
			}
		}
		r := apply(t, e, p, ApplyOptions{})
		for svc, id := range ids(r) {
			switch {
			case svc == "app" && id == ids(first)[svc]:
				t.Errorf("%s: app kept container %.12s, want it recreated", tc.name, id)
			case svc != "app" && id != ids(first)[svc]:
				t.Errorf("%s: %s container %.12s, want %.12s kept", tc.name, svc, id, ids(first)[svc])
			}
		}
		if got := actions(r)["app"]; got != ActionRecreate {
			t.Errorf("%s: Apply app %s, want recreate", tc.name, got)
		}
		first = r
	}
	if got := inspect(t, e, f.Name).Config.Image; got != imgs.StubV2 {
		t.Errorf("app image %s, want %s", got, imgs.StubV2)
	}
}

func hasChange(cs []Change, field, detail string) bool {
	for _, c := range cs {
		if c.Field == field && strings.Contains(c.Detail, detail) {
			return true
		}
	}
	return false
}
