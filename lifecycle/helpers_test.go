package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// testEngine connects to the engine the tests run against (DOCKER_HOST or
// the local socket). Without one the test is skipped, or fails under CI.
func testEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := Connect(t.Context(), "", WithProgress(testWriter{t}))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no docker engine under CI: %v", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testImages are the images the fixtures run, built once per test binary
// from testdata/stub: no registry is needed.
type testImages struct {
	Stub   string // runs until stopped; "health" is its healthcheck
	StubV2 string // the same program, a different image ID
	Broken string // its entrypoint does not exist: it cannot start
}

var (
	imagesOnce sync.Once
	images     testImages
	imagesErr  error
)

func buildImages(t *testing.T, e *Engine) testImages {
	t.Helper()
	imagesOnce.Do(func() { images, imagesErr = importStubImages(e) })
	if imagesErr != nil {
		t.Fatalf("build test images: %v", imagesErr)
	}
	return images
}

func importStubImages(e *Engine) (testImages, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "wbd-stub-")
	if err != nil {
		return testImages{}, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "stub")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/stub")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return testImages{}, fmt.Errorf("go build stub: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return testImages{}, err
	}
	sum := sha256.Sum256(data)
	tag := hex.EncodeToString(sum[:6])
	imgs := testImages{
		Stub:   "wbdtest.local/stub:" + tag,
		StubV2: "wbdtest.local/stub:" + tag + "-v2",
		Broken: "wbdtest.local/stub-broken:" + tag,
	}
	for ref, changes := range map[string][]string{
		imgs.Stub:   {`ENTRYPOINT ["/stub"]`, `CMD ["serve"]`},
		imgs.StubV2: {`ENTRYPOINT ["/stub"]`, `CMD ["serve"]`, `LABEL wbdtest.variant=2`},
		imgs.Broken: {`ENTRYPOINT ["/no-such-binary"]`},
	} {
		if err := importImage(ctx, e, ref, data, changes); err != nil {
			return testImages{}, err
		}
	}
	return imgs, nil
}

// importImage imports a one-file image holding the stub as /stub, unless
// ref is already there.
func importImage(ctx context.Context, e *Engine, ref string, stub []byte, changes []string) error {
	if _, err := e.api.ImageInspect(ctx, ref); err == nil {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "stub", Mode: 0o755, Size: int64(len(stub)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(stub); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := e.api.ImageImport(ctx, client.ImageImportSource{Source: &buf, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer res.Close()
	_, err = io.Copy(io.Discard, res)
	return err
}

// fixture is a rendered instance, shaped like render/'s output.
type fixture struct {
	Name, Root             string
	Postgres, Redis, App   string // images
	Admin                  string // image; "" for no admin service
	RedisCommand, AppExtra string
}

const fixtureYAML = `
name: {{.Name}}
networks:
  default:
    name: {{.Name}}
    labels: {io.wbd.managed: "true", io.wbd.instance: {{.Name}}}
secrets:
  db_password:
    file: {{.Root}}/{{.Name}}/secrets/db_password
services:
  postgres:
    image: {{.Postgres}}
    container_name: {{.Name}}-postgres
    command: ["postgres"]
    healthcheck: {test: ["CMD", "/stub", "health"], interval: 1s, timeout: 5s, retries: 5}
    stop_grace_period: 30s
    volumes: ["{{.Root}}/{{.Name}}/databases:/var/lib/postgresql/data"]
    secrets: [db_password]
    labels: {io.wbd.managed: "true", io.wbd.instance: {{.Name}}}
  redis:
    image: {{.Redis}}
    container_name: {{.Name}}-redis
    restart: unless-stopped
    command: [{{.RedisCommand}}]
    volumes: ["{{.Root}}/{{.Name}}/redis:/data"]
    labels: {io.wbd.managed: "true", io.wbd.instance: {{.Name}}}
{{- if .Admin}}
  admin:
    image: {{.Admin}}
    container_name: {{.Name}}-admin
    labels: {io.wbd.managed: "true", io.wbd.instance: {{.Name}}}
{{- end}}
  app:
    image: {{.App}}
    container_name: {{.Name}}
    environment:
      REDIS_URL: redis://{{.Name}}-redis:6379
      EXTRA: "{{.AppExtra}}"
    depends_on:
      postgres: {condition: service_healthy}
      redis: {condition: service_started, required: false}
    labels: {io.wbd.managed: "true", io.wbd.instance: {{.Name}}}
`

// newFixture returns a fixture with a unique instance name under a fresh
// root, whose instance is removed when the test ends.
func newFixture(t *testing.T, e *Engine) *fixture {
	t.Helper()
	imgs := buildImages(t, e)
	name := "wbdtest-" + rand.Text()[:8]
	name = strings.ToLower(name)
	f := &fixture{
		Name: name, Root: t.TempDir(),
		Postgres: imgs.Stub, Redis: imgs.Stub, App: imgs.Stub,
		RedisCommand: `"redis-server", "--appendonly", "yes"`,
		AppExtra:     "one",
	}
	for _, dir := range []string{"databases", "redis", "secrets"} {
		if err := os.MkdirAll(filepath.Join(f.Root, name, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.Root, name, "secrets", "db_password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeEverything(t, e, name) })
	return f
}

// project loads the fixture with compose-go's loader, as render/ does.
func (f *fixture) project(t *testing.T) *types.Project {
	t.Helper()
	var buf bytes.Buffer
	if err := template.Must(template.New("compose").Parse(fixtureYAML)).Execute(&buf, f); err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  filepath.Join(f.Root, f.Name),
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: buf.Bytes()}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName(f.Name, true) })
	if err != nil {
		t.Fatalf("load fixture: %v\n%s", err, buf.String())
	}
	return p
}

// removeEverything force-removes what a test may have left: containers of
// the project or named after the instance, and its network.
func removeEverything(t *testing.T, e *Engine, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := map[string]bool{}
	for _, f := range []client.Filters{
		projectFilter(name),
		make(client.Filters).Add("name", "^/"+regexp.QuoteMeta(name)+"(-[a-z]+)?$"),
	} {
		cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			t.Logf("cleanup %s: %v", name, err)
			return
		}
		for _, c := range cs.Items {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			if _, err := e.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
				t.Logf("cleanup %s: remove %s: %v", name, c.ID[:12], err)
			}
		}
	}
	for id := range seen {
		_ = e.waitGone(ctx, id)
	}
	if _, err := e.api.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
		t.Logf("cleanup %s: remove network: %v", name, err)
	}
}

// inspect returns a container by name, failing the test when it is absent.
func inspect(t *testing.T, e *Engine, name string) container.InspectResponse {
	t.Helper()
	res, err := e.api.ContainerInspect(t.Context(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return res.Container
}

// ids maps each service of a report to its container ID.
func ids(r Report) map[string]string {
	m := map[string]string{}
	for _, s := range r.Services {
		m[s.Service] = s.ContainerID
	}
	return m
}

// actions maps each service of a report to what was done.
func actions(r Report) map[string]Action {
	m := map[string]Action{}
	for _, s := range r.Services {
		m[s.Service] = s.Action
	}
	return m
}

func apply(t *testing.T, e *Engine, p *types.Project, opts ApplyOptions) Report {
	t.Helper()
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = time.Minute
	}
	r, err := e.Apply(t.Context(), p, opts)
	if err != nil {
		t.Fatalf("Apply %s: %v", p.Name, err)
	}
	return r
}

func errorsIsEOF(err error) bool { return errors.Is(err, io.EOF) }
