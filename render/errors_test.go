package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wbd-dev/wbd/spec"
)

// TestTemplateErrors: a broken user template is reported with its file and
// line, and output that is not valid Compose never leaves render.
func TestTemplateErrors(t *testing.T) {
	in := &spec.Instance{Name: "testing", Dir: "/srv/wbd/testing", Port: 8001, AppPort: 8000,
		Images: spec.Images{App: "app:1", Postgres: "pg:1", Redis: "redis:1", Admin: "admin:1"}}
	tests := []struct {
		name, tmpl string
		atNew      bool     // fails when the templates are parsed, not rendered
		want       []string // substrings of the error
	}{
		{"parse error", "name: x\nservices:\n  app: {{.Name\n", true, []string{"/compose.yaml.tmpl: template: compose.yaml.tmpl:4:", "unclosed action"}},
		{"unknown field", "name: x\n\nimage: {{.Imagez}}\n", false, []string{"render testing: /", "compose.yaml.tmpl:3:", "Imagez"}},
		{"invalid compose", "name: {{.Name}}\nservices:\n  app:\n    image: x\n    imagez: y\n", false, []string{"compose.yaml.tmpl produced invalid compose", "imagez"}},
		{"not yaml", "services: [\n", false, []string{"compose.yaml.tmpl produced invalid compose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml.tmpl"), []byte(tt.tmpl), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New(dir)
			if err == nil && !tt.atNew {
				_, err = r.Render(context.Background(), in)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if (r == nil) != tt.atNew {
				t.Errorf("failed at New=%v, want %v: %v", r == nil, tt.atNew, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := New(t.TempDir()); err == nil || !strings.Contains(err.Error(), "compose.yaml.tmpl") {
		t.Errorf("New(dir without compose.yaml.tmpl)=%v, want an error naming the file", err)
	}
}

// TestTemplateFiles: templates are read as the instances file is: a FIFO
// is refused at once, never waited on, and a huge file is refused by size.
func TestTemplateFiles(t *testing.T) {
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "compose.yaml.tmpl"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := t.TempDir()
	if err := os.WriteFile(filepath.Join(huge, "compose.yaml.tmpl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(huge, "big.tmpl"), make([]byte, spec.MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{fifo, filepath.Join(fifo, "compose.yaml.tmpl") + ": is a named pipe (FIFO), not a regular file"},
		{huge, filepath.Join(huge, "big.tmpl") + ": is 4194305 bytes; a template may be at most 4 MiB"},
	} {
		if _, err := New(tt.dir); err == nil || err.Error() != tt.want {
			t.Errorf("New(%s) = %v, want %q", tt.dir, err, tt.want)
		}
	}
}
