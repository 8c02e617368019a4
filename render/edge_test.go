package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// A template that renders no edge for an instance with edge on is refused:
// the app would publish nothing, or roll out without one, unnoticed. A
// service of its own called edge is no edge of wbd's.
func TestTemplateWithoutTheEdge(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: "/srv/wbd/testing", Port: 8001, AppPort: 8000,
		Images: spec.Images{App: "app:1"}, Edge: &spec.Edge{Drain: time.Second}}
	for name, tmpl := range map[string]string{
		"no edge":        "name: {{.Name}}\nservices:\n  app:\n    image: x\n",
		"its own edge":   "name: {{.Name}}\nservices:\n  app:\n    image: x\n  edge:\n    image: nginx\n",
		"with extension": "name: {{.Name}}\nservices:\n  app:\n    image: x\n  edge:\n    image: {{.Edge.Image}}\n    x-wbd-edge: {drain: {{.Edge.Drain}}}\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml.tmpl"), []byte(tmpl), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New(dir, WithEdgeImage(testEdgeImage))
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Render(context.Background(), in)
			if name == "with extension" {
				if err != nil {
					t.Errorf("a template with wbd's edge: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrEdgeTemplate) || !strings.Contains(err.Error(), "render testing: "+dir) {
				t.Errorf("error %v, want one naming the instance and template, wrapping ErrEdgeTemplate", err)
			}
		})
	}
}
