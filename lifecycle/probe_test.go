package lifecycle

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
)

func TestHealthCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		hc   *container.HealthConfig
		want []string
	}{
		{"none set", nil, nil},
		{"inherit", &container.HealthConfig{}, nil},
		{"NONE", &container.HealthConfig{Test: []string{"NONE"}}, nil},
		{"CMD", &container.HealthConfig{Test: []string{"CMD", "pg_isready", "-U", "postgres"}}, []string{"pg_isready", "-U", "postgres"}},
		{"CMD without command", &container.HealthConfig{Test: []string{"CMD"}}, nil},
		{"CMD-SHELL", &container.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost || exit 1"}}, []string{"/bin/sh", "-c", "curl -f localhost || exit 1"}},
		{"CMD-SHELL empty", &container.HealthConfig{Test: []string{"CMD-SHELL", ""}}, nil},
		{"unknown form", &container.HealthConfig{Test: []string{"pg_isready"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := healthCommand(tc.hc); !slices.Equal(got, tc.want) {
				t.Errorf("healthCommand = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStartIntervalByAPIVersion(t *testing.T) {
	d := func(v time.Duration) *types.Duration { x := types.Duration(v); return &x }
	withPeriod := &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "pg_isready"}, Interval: d(5 * time.Second), StartPeriod: d(time.Minute)}
	for _, tc := range []struct {
		api  string
		hc   *types.HealthCheckConfig
		want *types.Duration
	}{
		{"1.41", withPeriod, nil},
		{"1.43", withPeriod, nil},
		{"1.44", withPeriod, d(time.Second)},
		{"1.51", withPeriod, d(time.Second)},
		{"", withPeriod, nil},
		{"1.44", &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "x"}}, nil},                                                                                // no start period: it would not apply
		{"1.44", &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "x"}, StartPeriod: d(time.Minute), StartInterval: d(3 * time.Second)}, d(3 * time.Second)}, // the file's own
		{"1.44", &types.HealthCheckConfig{Disable: true, StartPeriod: d(time.Minute)}, nil},
		{"1.44", &types.HealthCheckConfig{Test: types.HealthCheckTest{"NONE"}, StartPeriod: d(time.Minute)}, nil},
	} {
		p := &types.Project{Name: "x", Services: types.Services{"postgres": {Name: "postgres", WorkloadSpec: types.WorkloadSpec{HealthCheck: tc.hc}}}}
		q, err := desiredFor(p, tc.api)
		if err != nil {
			t.Fatal(err)
		}
		got := q.Services["postgres"].HealthCheck.StartInterval
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("API %q, %+v: start_interval %v, want %v", tc.api, tc.hc, got, tc.want)
		}
		if p.Services["postgres"].HealthCheck != tc.hc || tc.hc.StartInterval != nil && tc.want != nil && *tc.hc.StartInterval != *tc.want {
			t.Errorf("API %q: desiredFor changed its argument", tc.api)
		}
	}
	if q, _ := desiredFor(&types.Project{Name: "x", Services: types.Services{"redis": {Name: "redis"}}}, "1.44"); q.Services["redis"].HealthCheck != nil {
		t.Errorf("a service without healthcheck got one: %+v", q.Services["redis"].HealthCheck)
	}
}

func TestShouldProbe(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ctr := func(status container.HealthStatus, startedAgo time.Duration, hc container.HealthConfig, log int) container.InspectResponse {
		return container.InspectResponse{
			State: &container.State{
				Running: true, Status: container.StateRunning,
				StartedAt: now.Add(-startedAgo).Format(time.RFC3339Nano),
				Health:    &container.Health{Status: status, Log: make([]*container.HealthcheckResult, log)},
			},
			Config: &container.Config{Healthcheck: &hc},
		}
	}
	pg := container.HealthConfig{Test: []string{"CMD", "pg_isready"}, Interval: 5 * time.Second, StartPeriod: time.Minute, StartInterval: time.Second}
	for _, tc := range []struct {
		name string
		c    container.InspectResponse
		api  string
		want bool
	}{
		{"just started, check in 5s", ctr(container.Starting, 0, pg, 0), "1.41", true},
		{"first check in half a second", ctr(container.Starting, 4500*time.Millisecond, pg, 0), "1.41", false},
		{"checked, failed, next in 5s", ctr(container.Starting, 6*time.Second, pg, 1), "1.41", true},
		{"engine runs start_interval", ctr(container.Starting, 0, pg, 0), "1.44", false},
		{"healthy already", ctr(container.Healthy, 0, pg, 0), "1.41", false},
		{"unhealthy", ctr(container.Unhealthy, 0, pg, 3), "1.41", false},
		{"interval unset: 30s", ctr(container.Starting, 0, container.HealthConfig{Test: []string{"CMD-SHELL", "true"}}, 0), "1.41", true},
		{"no command", ctr(container.Starting, 0, container.HealthConfig{Test: []string{"NONE"}}, 0), "1.41", false},
		{"no healthcheck", container.InspectResponse{State: &container.State{Running: true}, Config: &container.Config{}}, "1.41", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shouldProbe(tc.c, tc.api, now); got != tc.want {
				t.Errorf("shouldProbe = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStartStaging(t *testing.T) {
	dep := func(cond string, required bool) types.ServiceDependency {
		return types.ServiceDependency{Condition: cond, Required: required}
	}
	// render's template, admin on
	p := &types.Project{Name: "x", Services: types.Services{}}
	for name, d := range map[string]types.DependsOnConfig{
		"postgres": nil,
		"redis":    {"postgres": dep(types.ServiceConditionStarted, true)},
		"admin":    {"postgres": dep(types.ServiceConditionHealthy, true), "redis": dep(types.ServiceConditionStarted, false)},
		"app": {"postgres": dep(types.ServiceConditionHealthy, true), "redis": dep(types.ServiceConditionStarted, false),
			"admin": dep(types.ServiceConditionStarted, false), "migrate": dep(types.ServiceConditionCompletedSuccessfully, true)},
		"migrate": nil,
	} {
		p.Services[name] = types.ServiceConfig{Name: name, WorkloadSpec: types.WorkloadSpec{DependsOn: d}}
	}
	if got, want := startSequence(p), []string{"postgres", "redis", "admin", "migrate", "app"}; !slices.Equal(got, want) {
		t.Errorf("startSequence = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		svc    string
		failed map[string]bool
		want   []string // services of the sub-project
		deps   []string // what compose still waits on
	}{
		{"postgres", nil, []string{"postgres"}, nil},
		{"admin", nil, []string{"admin"}, nil},
		{"app", nil, []string{"app", "migrate"}, []string{"migrate"}},
		{"app", map[string]bool{"redis": true, "migrate": true}, []string{"app"}, nil},
	} {
		q, err := startOnly(p, []string{tc.svc}, tc.failed)
		if err != nil {
			t.Fatalf("startOnly(%s): %v", tc.svc, err)
		}
		if got := slices.Sorted(func(yield func(string) bool) {
			for n := range q.Services {
				if !yield(n) {
					return
				}
			}
		}); !slices.Equal(got, tc.want) {
			t.Errorf("startOnly(%s, %v) services = %v, want %v", tc.svc, tc.failed, got, tc.want)
		}
		if got := slices.Sorted(keysOf(q.Services[tc.svc].DependsOn)); !slices.Equal(got, tc.deps) {
			t.Errorf("startOnly(%s, %v) depends_on = %v, want %v", tc.svc, tc.failed, got, tc.deps)
		}
	}
	// Started together, compose orders them: the app still waits for the
	// admin's start, but no longer for postgres, checked by wbd before.
	q, err := startOnly(p, []string{"admin", "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(keysOf(q.Services["app"].DependsOn)), []string{"admin", "migrate"}; !slices.Equal(got, want) {
		t.Errorf("app started with admin waits on %v, want %v", got, want)
	}
	if got, want := fmt.Sprint(startWaves(p)), "[[postgres redis] [admin migrate app]]"; got != want {
		t.Errorf("startWaves = %s, want %s", got, want)
	}
	if len(p.Services["app"].DependsOn) != 4 {
		t.Errorf("startOnly changed its argument: %v", p.Services["app"].DependsOn)
	}
}

func keysOf(m types.DependsOnConfig) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// restartYAML is render's template on the stand-in images, healthchecks as
// render writes them: postgres checked every 5 s, the app's image every 5 s.
const restartYAML = `
name: {{.Name}}
x-wbd-labels: &labels
  io.wbd.managed: "true"
  io.wbd.instance: "{{.Name}}"
services:
  postgres:
    image: wbd.local/postgres:15
    container_name: {{.Name}}-postgres
    restart: unless-stopped
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password
    secrets: [postgres_password]
    volumes:
      - {type: bind, source: "{{.Dir}}/databases", target: /var/lib/postgresql/data}
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres"]
      interval: 5s
      timeout: 5s
      retries: 6
      start_period: 60s
    stop_grace_period: 30s
    labels: *labels
  redis:
    image: wbd.local/redis:7
    container_name: {{.Name}}-redis
    restart: unless-stopped
    command: ["redis-server", "--appendonly", "yes"]
    volumes:
      - {type: bind, source: "{{.Dir}}/redis", target: /data}
    depends_on:
      postgres: {condition: service_started}
    labels: *labels
  app:
    image: wbd.local/app:1
    container_name: {{.Name}}
    restart: unless-stopped
    environment:
      PORT: "8000"
      REDIS_URL: redis://{{.Name}}-redis:6379
      PGHOST: {{.Name}}-postgres
      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password
    secrets: [postgres_password]
    depends_on:
      postgres: {condition: service_healthy}
      redis: {condition: service_started, required: false}
    labels: *labels
networks:
  default:
    name: {{.Name}}
    labels: *labels
secrets:
  postgres_password:
    file: "{{.Dir}}/secrets/postgres-password"
`

// TestRestartStartsAppOnceDatabaseAnswers: after Restart, the app was
// started once postgres answered wbd's run of its healthcheck, not at the
// engine's first check 5 s after postgres started.
func TestRestartStartsAppOnceDatabaseAnswers(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	for _, img := range []string{"wbd.local/postgres:15", "wbd.local/redis:7", "wbd.local/app:1"} {
		if _, err := e.api.ImageInspect(t.Context(), img); err != nil {
			t.Skipf("stand-in image %s not built (scripts/build-images.sh): %v", img, err)
		}
	}
	if supportsStartInterval(e.APIVersion()) {
		t.Logf("API %s: the engine runs healthchecks every start_interval itself", e.APIVersion())
	}
	f := newFixture(t, e)
	dir := filepath.Join(f.Root, f.Name)
	if err := os.WriteFile(filepath.Join(dir, "secrets", "postgres-password"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := template.Must(template.New("").Parse(restartYAML)).Execute(&buf, map[string]string{"Name": f.Name, "Dir": dir}); err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: buf.Bytes()}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName(f.Name, true) })
	if err != nil {
		t.Fatal(err)
	}
	apply(t, e, p, ApplyOptions{WaitTimeout: 2 * time.Minute})

	r, err := e.Restart(t.Context(), p)
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	for _, s := range r.Services {
		if !s.Ready() {
			t.Errorf("%s not ready after Restart: %s", s.Service, s)
		}
	}
	at := func(name, ts string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	pgc := inspect(t, e, f.Name+"-postgres")
	pg := at("postgres started", pgc.State.StartedAt)
	app := at("app started", inspect(t, e, f.Name).State.StartedAt)
	// Waiting for the engine's health status, the app starts once the
	// engine's first passing check of postgres (5 s after its start, or
	// 10 s...) has ended. Starting it well within the first interval, or at
	// least before that check, is what this is about: on an engine loaded
	// by other tests postgres itself may take more than 5 s to answer.
	var firstPass time.Time
	if pgc.State.Health != nil {
		for _, l := range pgc.State.Health.Log {
			if l.ExitCode == 0 && l.Start.After(pg) {
				firstPass = l.End
				break
			}
		}
	}
	gap := app.Sub(pg)
	if firstPass.IsZero() {
		t.Logf("app started %v after postgres; the engine had not yet checked postgres and found it healthy", gap)
	} else {
		t.Logf("app started %v after postgres; the engine's first passing check of postgres ended %v after it started", gap, firstPass.Sub(pg))
	}
	if gap > 4*time.Second && (firstPass.IsZero() || app.After(firstPass)) {
		t.Errorf("app started %v after postgres, after the engine's first passing healthcheck of it: want it started on wbd's own check", gap)
	}
}
