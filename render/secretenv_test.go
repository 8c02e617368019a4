package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/spec"
)

// TestSecretEnv: secret_env gives the app its env file under secrets/, and
// the rendered YAML and project name it, never a value. Render does not
// read it: it does not exist until the instance is prepared, and then on
// the instance's Docker host.
func TestSecretEnv(t *testing.T) {
	root := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing"), Port: 8001, AppPort: 8000,
		Images:    spec.Images{App: "app:1", Postgres: "pg:1", Redis: "redis:1"},
		SecretEnv: map[string]string{"PGPASSWORD": spec.SecretPostgresPassword, "DATABASE_URL": spec.SecretPostgresURL}}
	r, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Render(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(root, "testing", "secrets", "app.env")
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Fatalf("stat %s: %v, want render to leave it alone", envFile, err)
	}
	want := "    env_file:\n      - path: \"" + envFile + "\"\n        required: true\n"
	if !strings.Contains(string(res.YAML), want) {
		t.Errorf("rendered YAML lacks\n%s\ngot:\n%s", want, res.YAML)
	}
	app := res.Project.Services["app"]
	if got, want := app.EnvFiles, []types.EnvFile{{Path: envFile, Required: true}}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("app env_file=%+v, want %+v", got, want)
	}
	for _, name := range []string{"PGPASSWORD", "DATABASE_URL"} {
		if v, ok := app.Environment[name]; ok {
			t.Errorf("app environment has %s=%v, want it only in the env file", name, v)
		}
	}
	for name, s := range res.Project.Services {
		if name != "app" && len(s.EnvFiles) != 0 {
			t.Errorf("%s env_file=%+v, want none", name, s.EnvFiles)
		}
	}

	d := NewData(in)
	if got, want := d.Secrets.AppEnv, envFile; got != want {
		t.Errorf("Data.Secrets.AppEnv=%q, want %q", got, want)
	}
	if got, want := d.SecretEnv, []SecretVar{{"DATABASE_URL", spec.SecretPostgresURL}, {"PGPASSWORD", spec.SecretPostgresPassword}}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Data.SecretEnv=%v, want %v", got, want)
	}

	in.SecretEnv = nil
	if res, err = r.Render(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.YAML), "env_file") {
		t.Errorf("without secret_env the app has an env_file:\n%s", res.YAML)
	}
}
