package lifecycle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// standinYAML is render's default template (admin on, no published ports)
// with scripts/build-images.sh's stand-in images.
const standinYAML = `
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
      interval: 1s
      timeout: 5s
      retries: 30
    stop_grace_period: 30s
    labels: *labels
  redis:
    image: {{.Redis}}
    container_name: {{.Name}}-redis
    restart: unless-stopped
    command: ["redis-server", "--appendonly", "yes"]
    volumes:
      - {type: bind, source: "{{.Dir}}/redis", target: /data}
    depends_on:
      postgres: {condition: service_started}
    labels: *labels
  admin:
    image: wbd.local/admin:1
    container_name: {{.Name}}-admin
    restart: unless-stopped
    depends_on:
      postgres: {condition: service_healthy}
      redis: {condition: service_started, required: false}
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
    healthcheck:
      test: ["CMD", "/refapp", "healthcheck"]
      interval: 1s
      timeout: 5s
      retries: 30
    depends_on:
      postgres: {condition: service_healthy}
      redis: {condition: service_started, required: false}
      admin: {condition: service_started, required: false}
    labels: *labels
networks:
  default:
    name: {{.Name}}
    labels: *labels
secrets:
  postgres_password:
    file: "{{.Dir}}/secrets/postgres-password"
`

// TestStandinImages runs render's template on the stand-in images of
// scripts/build-images.sh, when they are there: Debian's postgres and
// redis, the pgAdmin stand-in and the reference app.
func TestStandinImages(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	for _, img := range []string{"wbd.local/postgres:15", "wbd.local/redis:7", "wbd.local/admin:1", "wbd.local/app:1", "wbd.local/redis-broken:1"} {
		if _, err := e.api.ImageInspect(t.Context(), img); err != nil {
			t.Skipf("stand-in image %s not built (scripts/build-images.sh): %v", img, err)
		}
	}
	f := newFixture(t, e)
	dir := filepath.Join(f.Root, f.Name)
	if err := os.WriteFile(filepath.Join(dir, "secrets", "postgres-password"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(redis string) *types.Project {
		var buf bytes.Buffer
		data := map[string]string{"Name": f.Name, "Dir": dir, "Redis": redis}
		if err := template.Must(template.New("").Parse(standinYAML)).Execute(&buf, data); err != nil {
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
		return p
	}
	opts := ApplyOptions{WaitTimeout: 2 * time.Minute}

	p := load("wbd.local/redis:7")
	r := apply(t, e, p, opts)
	for _, s := range r.Services {
		if !s.Ready() {
			t.Errorf("%s not ready: %s", s.Service, s)
		}
	}
	plan, err := e.Plan(t.Context(), p)
	if err != nil || !plan.Empty() {
		t.Errorf("Plan after Apply = %+v, %v; want nothing to do", plan.Services, err)
	}

	broken := load("wbd.local/redis-broken:1")
	r = apply(t, e, broken, opts)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "redis") {
		t.Errorf("Apply with a broken redis: warnings %q, want one about redis", r.Warnings)
	}
	for _, s := range r.Services {
		if want := s.Service != "redis"; s.Ready() != want {
			t.Errorf("%s: %s, want ready %v", s.Service, s, want)
		}
		if want := map[string]Action{"redis": ActionRecreate}[s.Service]; want != "" && s.Action != want || want == "" && s.Action != ActionUnchanged {
			t.Errorf("%s: %s, want only redis recreated", s.Service, s.Action)
		}
	}
	if err := e.Down(t.Context(), f.Name); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "databases", "PG_VERSION")); err != nil {
		t.Errorf("postgres data after Down: %v", err)
	}
}
