package instdir

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// outside is a file outside the root: whatever wbd does under the root,
// its content, mode and modification time stay as they are.
type outside struct {
	path string
	fi   os.FileInfo
	data string
}

func newOutside(t *testing.T, mode os.FileMode) *outside {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(p, []byte("root:secret:\n"), mode); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	return &outside{path: p, fi: fi, data: "root:secret:\n"}
}

func (o *outside) check(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(o.path)
	if err != nil {
		t.Fatalf("outside file: %v", err)
	}
	data, _ := os.ReadFile(o.path)
	if string(data) != o.data || fi.Mode() != o.fi.Mode() || !fi.ModTime().Equal(o.fi.ModTime()) {
		t.Errorf("outside file changed: %q %v %v, was %q %v %v", data, fi.Mode(), fi.ModTime(), o.data, o.fi.Mode(), o.fi.ModTime())
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// A lock file that is a link is never opened for writing, let alone
// truncated: it could point at any file of the user's.
func TestLockRefusesALinkedLockFile(t *testing.T) {
	root := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing")}
	out := newOutside(t, 0o644)
	symlink(t, out.path, in.Path(LockFileName))
	_, err := Lock(in, "wbd apply")
	want := "lock testing: " + in.Path(LockFileName) + " is a symbolic link, not a lock file: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("Lock = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrSymlink) {
		t.Errorf("Lock error does not match ErrSymlink")
	}
	out.check(t)

	// A link to a file inside the root is refused too: os.Root would
	// follow it.
	inner := filepath.Join(root, "other")
	if err := os.WriteFile(inner, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	daemon := filepath.Join(root, ".wbd-daemon.lock")
	symlink(t, "other", daemon)
	_, err = LockFile(root, daemon, "wbd run")
	if want := daemon + " is a symbolic link, not a lock file: wbd follows no links under its root"; err == nil || err.Error() != want {
		t.Errorf("LockFile = %v, want %q", err, want)
	}
	if b, _ := os.ReadFile(inner); string(b) != "keep\n" {
		t.Errorf("file behind the link truncated: %q", b)
	}
}

// The instance directory itself a link: nothing is created or locked
// through it.
func TestLockRefusesALinkedInstanceDirectory(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing")}
	symlink(t, elsewhere, in.Dir)
	_, err := Lock(in, "wbd apply")
	want := "lock testing: " + in.Dir + " is a symbolic link, not a directory: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("Lock = %v, want %q", err, want)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("written through the link: %v", ents)
	}
}

func TestLockFileHolder(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, ".wbd-daemon.lock")
	unlock, err := LockFile(root, p, "wbd run -f x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockFile(root, p, "wbd run -f y")
	var held *HeldError
	if !errors.As(err, &held) || held.Path != p || !regexpMatch(`^wbd run -f x \(pid \d+, since .+\)$`, held.Holder) {
		t.Errorf("second LockFile = %v, want held by wbd run -f x", err)
	}
	unlock()
	if b, _ := os.ReadFile(p); len(b) != 0 {
		t.Errorf("lock file after unlock: %q, want empty", b)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
