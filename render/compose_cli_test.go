package render

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/wbd-dev/wbd/spec"
)

// TestComposeCLIAccepts hands every golden file, unchanged, to the docker
// compose CLI: `wbd render NAME | docker compose -f - config` must work.
func TestComposeCLIAccepts(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker compose is not installed (scripts/compose-plugin.sh builds it): %v", err)
		}
		t.Skip("docker compose is not installed; scripts/compose-plugin.sh builds it")
	}
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if !strings.HasPrefix(f.Name, "want/") {
				continue
			}
			cmd := exec.Command("docker", "compose", "-f", "-", "config", "--quiet")
			cmd.Stdin = bytes.NewReader(f.Data)
			cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: docker compose config: %v\n%s", file, f.Name, err, out)
			}
		}
	}
}

// TestComposeCLIReadsValuesExactly: docker compose run by hand on a
// rendered file reads every value as wbd does, whatever the operator's
// shell holds: $ is no interpolation, names stay strings.
func TestComposeCLIReadsValuesExactly(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker compose is not installed (scripts/compose-plugin.sh builds it): %v", err)
		}
		t.Skip("docker compose is not installed; scripts/compose-plugin.sh builds it")
	}
	ar, err := txtar.ParseFile("testdata/escaping.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var cfg *spec.Config
	for _, f := range ar.Files {
		if f.Name == "instances.yaml" {
			if cfg, err = spec.Parse(f.Name, f.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range ar.Files {
		name, ok := strings.CutPrefix(f.Name, "want/")
		if !ok {
			continue
		}
		in := cfg.Instance(strings.TrimSuffix(name, "/compose.yaml"))
		cmd := exec.Command("docker", "compose", "-f", "-", "config", "--format", "json")
		cmd.Stdin = bytes.NewReader(f.Data)
		cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME=", "PORT=from-shell", "HOME=/from/shell", "X=from-shell", "bd=from-shell")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: docker compose config: %v", f.Name, err)
		}
		var got struct {
			Name     string
			Services map[string]struct {
				ContainerName string `json:"container_name"`
				Image         string
				Environment   map[string]string
				Healthcheck   *struct{ Test []string }
				Volumes       []struct{ Source, Target string }
			}
			Networks map[string]struct{ Name string }
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v\n%s", f.Name, err, out)
		}
		// config prints a compose file: its every $ is written $$.
		unescape := func(s string) string { return strings.ReplaceAll(s, "$$", "$") }
		if got.Name != in.Name || got.Networks["default"].Name != in.Name {
			t.Errorf("%s: project %q, network %q; want %q", f.Name, got.Name, got.Networks["default"].Name, in.Name)
		}
		app := got.Services["app"]
		if app.ContainerName != in.Name || app.Image != in.Images.App {
			t.Errorf("%s: app container_name %q, image %q; want %q, %q", f.Name, app.ContainerName, app.Image, in.Name, in.Images.App)
		}
		for k, v := range in.Env {
			if g, ok := app.Environment[k]; !ok || unescape(g) != v {
				t.Errorf("%s: app %s=%q, want %q", f.Name, k, unescape(g), v)
			}
		}
		if in.Healthcheck != nil {
			want := append([]string{"CMD"}, in.Healthcheck...)
			var test []string
			if app.Healthcheck != nil {
				for _, a := range app.Healthcheck.Test {
					test = append(test, unescape(a))
				}
			}
			if !slices.Equal(test, want) {
				t.Errorf("%s: app healthcheck %q, want %q", f.Name, test, want)
			}
		}
		for _, v := range app.Volumes {
			if want := filepath.Join(in.Dir, filepath.Base(v.Target)); unescape(v.Source) != want {
				t.Errorf("%s: app mounts %q at %s, want %q", f.Name, unescape(v.Source), v.Target, want)
			}
		}
	}
}
