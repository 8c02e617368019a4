package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

func TestOrder(t *testing.T) {
	services := []string{"postgres", "app", "worker", "redis", "admin"}
	if got, want := inStopOrder(services), []string{"worker", "app", "admin", "redis", "postgres"}; !slices.Equal(got, want) {
		t.Errorf("inStopOrder = %v, want %v", got, want)
	}
	if got, want := inStartOrder(services), []string{"postgres", "redis", "admin", "app", "worker"}; !slices.Equal(got, want) {
		t.Errorf("inStartOrder = %v, want %v", got, want)
	}
	if d := graceFor("postgres"); d == nil || d.Seconds() != 30 {
		t.Errorf("graceFor(postgres) = %v, want 30s", d)
	}
	if d := graceFor("app"); d != nil {
		t.Errorf("graceFor(app) = %v, want the container's own", d)
	}
}

func TestOptionalServices(t *testing.T) {
	dep := func(required bool) types.ServiceDependency {
		return types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: required}
	}
	for _, tc := range []struct {
		name string
		deps map[string]types.DependsOnConfig // service -> its depends_on
		want []string
	}{
		{"contract", map[string]types.DependsOnConfig{
			"app":      {"postgres": dep(true), "redis": dep(false)},
			"postgres": nil, "redis": nil, "admin": nil,
		}, []string{"redis"}},
		{"required by one dependent", map[string]types.DependsOnConfig{
			"app":    {"redis": dep(false)},
			"worker": {"redis": dep(true)},
			"redis":  nil,
		}, nil},
		{"dependency not in project", map[string]types.DependsOnConfig{
			"app": {"redis": dep(false)},
		}, nil},
		{"render's template: in dependency order", map[string]types.DependsOnConfig{
			"app":      {"postgres": dep(true), "redis": dep(false), "admin": dep(false)},
			"admin":    {"postgres": dep(true), "redis": dep(false)},
			"redis":    {"postgres": dep(true)},
			"postgres": nil,
		}, []string{"redis", "admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &types.Project{Name: "x", Services: types.Services{}}
			for name, d := range tc.deps {
				p.Services[name] = types.ServiceConfig{Name: name, WorkloadSpec: types.WorkloadSpec{DependsOn: d}}
			}
			if got := optionalServices(p); !slices.Equal(got, tc.want) {
				t.Errorf("optionalServices = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDesiredAddsComposeLabels(t *testing.T) {
	p := &types.Project{Name: "testing", WorkingDir: "/srv/wbd/testing", Services: types.Services{
		"app": {Name: "app", ContainerSpec: types.ContainerSpec{Image: "wbd.local/app:1", Labels: types.Labels{LabelManaged: "true"}}},
	}}
	q, err := desiredFor(p, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	got := q.Services["app"].CustomLabels
	for k, want := range map[string]string{api.ProjectLabel: "testing", api.ServiceLabel: "app", api.OneoffLabel: "False"} {
		if got[k] != want {
			t.Errorf("CustomLabels[%s] = %q, want %q", k, got[k], want)
		}
	}
	if p.Services["app"].CustomLabels != nil {
		t.Errorf("desired changed its argument: %v", p.Services["app"].CustomLabels)
	}
	if _, err := desiredFor(&types.Project{}, "1.41"); err == nil {
		t.Error("desired of a project without name: no error")
	}
}

func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&UnreachableError{Host: "ssh://wbd@box", Err: errString("dial failed")}, "docker host ssh://wbd@box does not answer: dial failed"},
		{&UnreachableError{Addr: "unix:///var/run/docker.sock", Err: errString("no such file")}, "docker host local default (unix:///var/run/docker.sock) does not answer"},
		{&LegacyError{Instance: "testing", Containers: []Container{{Name: "testing"}, {Name: "testing-postgres"}}}, "(testing, testing-postgres): run `wbd apply --adopt testing`"},
		{&NotOwnedError{Instance: "testing", Resources: []string{"container testing-redis"}}, "instance testing: container testing-redis not managed by wbd"},
		{&NotReadyError{Instance: "testing", Services: []ServiceState{
			{Service: "app", Container: "testing", State: "exited", ExitCode: 1},
			{Service: "postgres", Container: "testing-postgres", State: "running", Health: "unhealthy"},
		}}, "app (container testing): exited with code 1; postgres (container testing-postgres): running, unhealthy"},
	} {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%T.Error() = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
