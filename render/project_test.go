package render

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/rogpeppe/go-internal/txtar"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// TestGoldenLoads loads every golden compose file back through compose-go
// with full schema validation, as `docker compose config` does, and checks
// in the loaded project what the plan asks of the default template.
func TestGoldenLoads(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		custom := false
		var cfg *spec.Config
		for _, f := range ar.Files {
			switch {
			case f.Name == "instances.yaml":
				if cfg, err = spec.Parse(f.Name, f.Data); err != nil {
					t.Fatal(err)
				}
			case strings.HasSuffix(f.Name, ".tmpl"):
				custom = true
			}
		}
		for _, f := range ar.Files {
			name, ok := strings.CutPrefix(f.Name, "want/")
			if !ok {
				continue
			}
			in := cfg.Instance(strings.TrimSuffix(name, "/compose.yaml"))
			t.Run(filepath.Base(file)+"/"+in.Name, func(t *testing.T) {
				p, err := Load(context.Background(), in.Name, in.Dir, f.Data)
				if err != nil {
					t.Fatalf("compose-go rejects %s: %v", f.Name, err)
				}
				checkOwned(t, p, in)
				if !custom {
					checkPlan(t, p, in)
				}
			})
		}
	}
}

// checkOwned asserts what any template must give: the project and network
// named for the instance, wbd's labels, absolute bind mounts.
func checkOwned(t *testing.T, p *types.Project, in *spec.Instance) {
	t.Helper()
	if p.Name != in.Name {
		t.Errorf("project name=%q, want %q", p.Name, in.Name)
	}
	if got := p.Networks["default"].Name; got != in.Name {
		t.Errorf("network name=%q, want %q", got, in.Name)
	}
	for name, s := range p.Services {
		if s.Labels[LabelManaged] != "true" || s.Labels[LabelInstance] != in.Name {
			t.Errorf("service %s labels=%v, want %s=true and %s=%s", name, s.Labels, LabelManaged, LabelInstance, in.Name)
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && !filepath.IsAbs(v.Source) {
				t.Errorf("service %s mounts relative path %q", name, v.Source)
			}
		}
	}
}

// checkPlan asserts the plan's shape of an instance in the default template.
func checkPlan(t *testing.T, p *types.Project, in *spec.Instance) {
	t.Helper()
	want := []string{"app", "postgres", "redis"}
	if in.Admin != nil {
		want = append(want, "admin")
	}
	if in.Edge != nil {
		want = append(want, "edge")
	}
	slices.Sort(want)
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services=%v, want %v", got, want)
	}
	for svc, name := range map[string]string{"app": in.Name, "postgres": in.Name + "-postgres", "redis": in.Name + "-redis", "admin": in.Name + "-admin"} {
		if s, ok := p.Services[svc]; ok && s.ContainerName != name {
			t.Errorf("%s container_name=%q, want %q", svc, s.ContainerName, name)
		}
	}

	pg := p.Services["postgres"]
	mustMount(t, pg, filepath.Join(in.Dir, "databases"), "/var/lib/postgresql/data")
	if pg.Image != in.Images.Postgres {
		t.Errorf("postgres image=%q, want %q", pg.Image, in.Images.Postgres)
	}
	if pg.HealthCheck == nil || len(pg.HealthCheck.Test) == 0 {
		t.Error("postgres has no healthcheck")
	}
	if pg.StopGracePeriod == nil || time.Duration(*pg.StopGracePeriod) != 30*time.Second {
		t.Errorf("postgres stop_grace_period=%v, want 30s", pg.StopGracePeriod)
	}

	redis := p.Services["redis"]
	if got := strings.Join(redis.Command, " "); got != "redis-server --appendonly yes" {
		t.Errorf("redis command=%q, want redis-server --appendonly yes", got)
	}
	mustMount(t, redis, filepath.Join(in.Dir, "redis"), "/data")
	if len(redis.Ports) != 0 {
		t.Errorf("redis publishes %v, want no host port", redis.Ports)
	}

	app := p.Services["app"]
	if app.Image != in.Images.App {
		t.Errorf("app image=%q, want %q", app.Image, in.Images.App)
	}
	if got := app.Environment["REDIS_URL"]; got == nil || *got != "redis://"+in.Name+"-redis:6379" {
		t.Errorf("app REDIS_URL=%v, want redis://%s-redis:6379", got, in.Name)
	}
	for k, v := range in.Env {
		if got := app.Environment[k]; got == nil || *got != v {
			t.Errorf("app env %s=%v, want %q", k, got, v)
		}
	}
	if in.Healthcheck != nil {
		want := append([]string{"CMD"}, in.Healthcheck...)
		if app.HealthCheck == nil || !slices.Equal(app.HealthCheck.Test, want) {
			t.Errorf("app healthcheck=%+v, want test %q", app.HealthCheck, want)
		}
	}
	for _, sub := range []string{"sandbox", "exports", "assets"} {
		mustMount(t, app, filepath.Join(in.Dir, sub), "/data/"+sub)
	}
	if in.Edge != nil {
		checkEdgeShape(t, p, in)
	} else if len(app.Ports) != 1 || app.Ports[0].Published != itoa(in.Port) || app.Ports[0].Target != uint32(in.AppPort) {
		t.Errorf("app ports=%+v, want %d:%d", app.Ports, in.Port, in.AppPort)
	}
	if d := app.DependsOn["postgres"]; d.Condition != types.ServiceConditionHealthy || !d.Required {
		t.Errorf("app depends_on postgres=%+v, want service_healthy, required", d)
	}
	if d, ok := app.DependsOn["redis"]; !ok || d.Required {
		t.Errorf("app depends_on redis=%+v, want ordered but not required", d)
	}

	// Secrets reach containers as files, and only their paths are rendered.
	for _, s := range []types.ServiceConfig{pg, app} {
		if got := s.Environment["POSTGRES_PASSWORD_FILE"]; got == nil || *got != "/run/secrets/postgres_password" {
			t.Errorf("%s POSTGRES_PASSWORD_FILE=%v", s.Name, got)
		}
		if _, ok := s.Environment["POSTGRES_PASSWORD"]; ok {
			t.Errorf("%s has POSTGRES_PASSWORD in its environment", s.Name)
		}
	}
	if got := p.Secrets["postgres_password"].File; got != instdir.SecretPath(in, instdir.PostgresPassword) {
		t.Errorf("postgres_password file=%q, want %q", got, instdir.SecretPath(in, instdir.PostgresPassword))
	}

	if in.Admin != nil {
		admin := p.Services["admin"]
		if len(admin.Ports) != 1 || admin.Ports[0].Published != itoa(in.Admin.Port) {
			t.Errorf("admin ports=%+v, want %d", admin.Ports, in.Admin.Port)
		}
		if got := admin.Environment["PGADMIN_DEFAULT_EMAIL"]; got == nil || *got != in.Admin.Email {
			t.Errorf("admin PGADMIN_DEFAULT_EMAIL=%v, want %q", got, in.Admin.Email)
		}
	}
}

// checkEdgeShape asserts the edge's shape: it publishes the port, the app none;
// it starts after the app, is never pulled, and carries the drain outside
// its container's configuration.
func checkEdgeShape(t *testing.T, p *types.Project, in *spec.Instance) {
	t.Helper()
	app, edge := p.Services["app"], p.Services["edge"]
	if len(app.Ports) != 0 {
		t.Errorf("app ports=%+v, want none: the edge publishes the port", app.Ports)
	}
	if len(edge.Ports) != 1 || edge.Ports[0].Published != itoa(in.Port) || edge.Ports[0].Target != 8080 {
		t.Errorf("edge ports=%+v, want %d:8080", edge.Ports, in.Port)
	}
	if edge.ContainerName != in.Name+"-edge" || edge.PullPolicy != types.PullPolicyNever || edge.Image != testEdgeImage {
		t.Errorf("edge container_name=%q pull_policy=%q image=%q, want %s-edge, never, %s", edge.ContainerName, edge.PullPolicy, edge.Image, in.Name, testEdgeImage)
	}
	if d, ok := edge.DependsOn["app"]; !ok || d.Condition != types.ServiceConditionStarted {
		t.Errorf("edge depends_on app=%+v, want service_started: it starts last", d)
	}
	if got, want := strings.Join(edge.Command, " "), fmt.Sprintf("--listen :8080 --target %s:%d", in.Name, in.AppPort); got != want {
		t.Errorf("edge command=%q, want %q", got, want)
	}
	x, _ := edge.Extensions[EdgeExtension].(map[string]any)
	if got := x["drain"]; got != in.Edge.Drain.String() {
		t.Errorf("edge %s drain=%v, want %s", EdgeExtension, got, in.Edge.Drain)
	}
}

func mustMount(t *testing.T, s types.ServiceConfig, source, target string) {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == source && v.Target == target {
			return
		}
	}
	t.Errorf("%s: no bind mount %s:%s in %+v", s.Name, source, target, s.Volumes)
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func itoa(n int) string { return strconv.Itoa(n) }
