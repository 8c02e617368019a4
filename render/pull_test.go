package render

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wbd-dev/wbd/spec"
)

// The pull list reaches the project whatever the template, and comes back
// from the YAML alone, as a revision or compose.yaml is loaded again.
func TestPullImages(t *testing.T) {
	dir := t.TempDir()
	tmpl := "name: {{.Name}}\nservices:\n  app: {image: {{yaml .Images.App}}}"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml.tmpl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &spec.Instance{Name: "testing", Dir: "/srv/wbd/testing", Port: 8001, AppPort: 8000, Images: spec.Images{App: "app:1", Postgres: "postgres:17.4", Redis: "redis:7"},
		Pull: []string{"alpine:3", "timroberton/comb:wb-hmis-r-linux"}}
	for _, templates := range []string{"", dir} {
		r, err := New(templates)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Render(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if got := PullImages(res.Project); !slices.Equal(got, in.Pull) {
			t.Errorf("templates %q: PullImages = %q, want %q", templates, got, in.Pull)
		}
		p, err := Load(t.Context(), in.Name, in.Dir, res.YAML)
		if err != nil {
			t.Fatal(err)
		}
		if got := PullImages(p); !slices.Equal(got, in.Pull) {
			t.Errorf("templates %q: loaded again, PullImages = %q, want %q", templates, got, in.Pull)
		}
		if _, ok := p.Services[ExtensionPull]; ok || len(p.Services) > 4 {
			t.Errorf("templates %q: the pull list became a service", templates)
		}
	}

	// Without a list, no key.
	r, _ := New("")
	in.Pull = nil
	res, err := r.Render(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.YAML), ExtensionPull) || PullImages(res.Project) != nil {
		t.Errorf("no pull list: %s in the project", ExtensionPull)
	}

	// The key is wbd's: a template that writes it is refused.
	own := tmpl + "\nx-wbd-pull: [busybox]\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml.tmpl"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	in.Pull = []string{"alpine:3"}
	r, _ = New(dir)
	if _, err := r.Render(t.Context(), in); err == nil || !strings.Contains(err.Error(), "x-wbd-pull") {
		t.Errorf("a template writing x-wbd-pull itself: err %v, want one naming the key", err)
	}
}
