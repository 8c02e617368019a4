package revision

import (
	"os"
	"path/filepath"
	"testing"
)

// A revisions directory linked elsewhere is not written through: a
// revision, holding the project, would land wherever the link points.
func TestStoreRefusesALinkedRevisionsDirectory(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	dir := filepath.Join(root, "x")
	if err := os.MkdirAll(filepath.Join(dir, ".wbd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, Dir)); err != nil {
		t.Fatal(err)
	}
	s := Open(dir)
	_, err := s.Add(Revision{Verdict: Healthy, Project: "services: {}\n"})
	want := "revisions: " + filepath.Join(dir, Dir) + " is a symbolic link, not a directory: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("Add = %v\nwant %q", err, want)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("written through the link: %v", ents)
	}
	if h, errs := s.Load(); len(h) != 0 || len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("Load = %v, %v; want nothing and %q", h, errs, want)
	}
}

// A revision file that is a link is skipped, never read through.
func TestStoreSkipsALinkedRevision(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "x")
	s := Open(dir)
	if _, err := s.Add(Revision{Verdict: Healthy, Project: "a"}); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(outside, []byte(`{"number": 2, "format": 1}`), 0o644)
	if err := os.Symlink(outside, s.Path(2)); err != nil {
		t.Fatal(err)
	}
	h, _ := s.Load()
	if len(h) != 1 || h[0].Number != 1 {
		t.Errorf("Load = %v, want revision 1 only", h)
	}
}
