package render

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/wbd-dev/wbd/spec"
)

// TestOwnLabels: whatever a user's template writes, every service and every
// network the project creates carries wbd's labels for this instance, so
// that the instance is never left looking like someone else's.
func TestOwnLabels(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: "/srv/wbd/testing", Port: 8001, AppPort: 8000,
		Images: spec.Images{App: "app:1", Postgres: "pg:1", Redis: "redis:1", Admin: "admin:1"}}
	tests := []struct{ name, tmpl string }{
		{"no labels", `name: {{yaml .Name}}
services:
  app:
    image: {{yaml .Images.App}}
  redis:
    image: {{yaml .Images.Redis}}
    networks: [back]
networks:
  back: {}
  shared:
    external: true
`},
		{"another instance's labels", `name: {{yaml .Name}}
services:
  app:
    image: {{yaml .Images.App}}
    labels: {"io.wbd.managed": "false", "io.wbd.instance": "other", "team": "ops"}
networks:
  default:
    name: {{yaml .Name}}
    labels: {"io.wbd.instance": "other"}
`},
	}
	want := map[string]string{LabelManaged: "true", LabelInstance: "testing"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml.tmpl"), []byte(tt.tmpl), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Render(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Project
			for name, s := range p.Services {
				got := maps.Clone(s.Labels)
				delete(got, "team")
				if !maps.Equal(got, want) {
					t.Errorf("service %s labels=%v, want %v", name, s.Labels, want)
				}
			}
			if got := p.Services["app"].Labels["team"]; tt.name == "another instance's labels" && got != "ops" {
				t.Errorf("app label team=%q, want the template's ops kept", got)
			}
			nets := 0
			for name, n := range p.Networks {
				if n.External {
					if len(n.Labels) != 0 {
						t.Errorf("external network %s labels=%v, want none", name, n.Labels)
					}
					continue
				}
				nets++
				if !maps.Equal(n.Labels, want) {
					t.Errorf("network %s labels=%v, want %v", name, n.Labels, want)
				}
			}
			if nets == 0 {
				t.Error("no network the project creates")
			}
		})
	}
}
