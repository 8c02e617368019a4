package lifecycle

import (
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/client"
)

func TestPlanNamesChangedSettings(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	base := f.project(t)
	apply(t, e, base, ApplyOptions{})

	plan, err := e.Plan(t.Context(), base)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if !plan.Empty() {
		t.Errorf("Plan after Apply = %+v, want nothing to do", plan.Services)
	}

	for _, tc := range []struct {
		name    string
		service string
		edit    func(*types.ServiceConfig)
		fields  []string
	}{
		{"command", "app", func(s *types.ServiceConfig) { s.Command = types.ShellCommand{"serve", "--fast"} }, []string{"command"}},
		{"label", "app", func(s *types.ServiceConfig) { s.Labels = s.Labels.Add("io.wbd.tier", "web") }, []string{"labels"}},
		{"port", "app", func(s *types.ServiceConfig) {
			s.Ports = append(s.Ports, types.ServicePortConfig{HostIP: "127.0.0.1", Published: "18080", Target: 3000, Protocol: "tcp"})
		}, []string{"ports"}},
		{"env removed", "app", func(s *types.ServiceConfig) { delete(s.Environment, "EXTRA") }, []string{"environment"}},
		{"mount", "redis", func(s *types.ServiceConfig) { s.Volumes[0].Source = f.Root + "/elsewhere" }, []string{"mounts"}},
		{"grace", "redis", func(s *types.ServiceConfig) { s.StopGracePeriod = new(types.Duration(20e9)) }, []string{"stop_grace_period"}},
		{"healthcheck", "postgres", func(s *types.ServiceConfig) {
			s.HealthCheck.Test = types.HealthCheckTest{"CMD", "/stub", "health", "--deep"}
		}, []string{"healthcheck"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.project(t)
			svc := p.Services[tc.service]
			tc.edit(&svc)
			p.Services[tc.service] = svc
			plan, err := e.Plan(t.Context(), p)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			for _, sp := range plan.Services {
				var fields []string
				for _, c := range sp.Changes {
					fields = append(fields, c.Field)
				}
				want := []string(nil)
				if sp.Service == tc.service {
					want = tc.fields
				}
				if !slices.Equal(fields, want) {
					t.Errorf("%s: %s changes %v, want fields %v", sp.Service, sp.Action, sp.Changes, want)
				}
			}
		})
	}
}

func TestPlanCreatesAndRemoves(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	plan, err := e.Plan(t.Context(), f.project(t))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var got []string
	for _, sp := range plan.Services {
		got = append(got, sp.Service+":"+string(sp.Action))
	}
	if want := []string{"postgres:create", "redis:create", "app:create"}; !slices.Equal(got, want) {
		t.Errorf("Plan on an empty engine = %v, want %v", got, want)
	}

	f.Admin = buildImages(t, e).Stub
	apply(t, e, f.project(t), ApplyOptions{})
	f.Admin = ""
	p := f.project(t)
	plan, err = e.Plan(t.Context(), p)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	last := plan.Services[len(plan.Services)-1]
	if last.Service != "admin" || last.Action != ActionRemove {
		t.Errorf("Plan without admin ends with %s %s, want admin remove", last.Service, last.Action)
	}
	r := apply(t, e, p, ApplyOptions{})
	if got := actions(r)["admin"]; got != ActionRemove {
		t.Errorf("Apply without admin: admin %s, want remove", got)
	}
	if _, err := e.api.ContainerInspect(t.Context(), f.Name+"-admin", client.ContainerInspectOptions{}); err == nil {
		t.Errorf("admin container still there after Apply without admin")
	}
}
