package watch

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
)

// withTemplates is validYAML naming its own templates directory, which it
// creates beside the file with one template.
func withTemplates(t *testing.T) (content, dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "templates")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "compose.yaml.tmpl"), "name: {{.Name}}\n")
	return validYAML + "templates: " + dir + "\n", dir
}

// A saved template is a change of the configuration, as a saved file is;
// other files of the directory and a save that changes nothing are not.
func TestTemplateChangeIsAChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		content, dir := withTemplates(t)
		h := start(t, content)
		h.want(1)
		tmpl := filepath.Join(dir, "compose.yaml.tmpl")
		write(t, tmpl, "name: {{.Name}}\n# changed\n")
		h.saved(tmpl)
		if u := h.want(1)[0]; u.Err != nil || u.Reload || u.Config.Templates != dir {
			t.Fatalf("update after a template save = %+v, want the configuration, not a reload", u)
		}

		write(t, filepath.Join(dir, "NOTES.md"), "not a template\n")
		h.saved(filepath.Join(dir, "NOTES.md"))
		h.want(0)

		write(t, tmpl, "name: {{.Name}}\n# changed\n")
		h.saved(tmpl)
		h.want(0)

		write(t, filepath.Join(dir, "extra.tmpl"), "{{define \"x\"}}{{end}}\n")
		h.saved(filepath.Join(dir, "extra.tmpl"))
		h.want(1)
	})
}

// Once the file no longer names the directory, its templates are no
// longer part of the content.
func TestTemplatesDroppedWithTheField(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		content, dir := withTemplates(t)
		h := start(t, content)
		h.want(1)
		write(t, h.path, validYAML)
		h.saved("instances.yaml")
		h.want(1)

		tmpl := filepath.Join(dir, "compose.yaml.tmpl")
		write(t, tmpl, "name: other\n")
		h.saved(tmpl)
		h.want(0)
	})
}

// TestTemplateRenameOnRealFilesystem saves a template as editors do, through
// inotify, and waits for the update with a deadline.
func TestTemplateRenameOnRealFilesystem(t *testing.T) {
	content, dir := withTemplates(t)
	path := filepath.Join(t.TempDir(), "instances.yaml")
	write(t, path, content)
	next := watchReal(t, path, nil)
	if u := next(); u.Err != nil {
		t.Fatal(u.Err)
	}
	tmp := filepath.Join(dir, ".compose.yaml.tmpl.swp")
	write(t, tmp, "name: {{.Name}}\n# saved\n")
	if err := os.Rename(tmp, filepath.Join(dir, "compose.yaml.tmpl")); err != nil {
		t.Fatal(err)
	}
	if u := next(); u.Err != nil || u.Config == nil {
		t.Fatalf("update after the template's rename: %+v", u)
	}
}

// A template that is a FIFO changes the content without blocking: render
// says why it cannot be used.
func TestTemplateFIFODoesNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		content, dir := withTemplates(t)
		h := start(t, content)
		h.want(1)
		fifo := filepath.Join(dir, "extra.tmpl")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		h.saved(fifo)
		h.want(1)
	})
}
