package reconcile

import (
	"os"
	"path/filepath"
	"testing"
)

// The status file linked elsewhere: the daemon replaces the link with its
// file and leaves the link's target alone; a linked status file is not
// read through either.
func TestStatusFileLinked(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, StatusPath(root)); err != nil {
		t.Fatal(err)
	}
	_, err := ReadStatus(root)
	want := StatusPath(root) + " is a symbolic link, not a regular file: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("ReadStatus = %v\nwant %q", err, want)
	}
	if err := writeStatus(root, &Status{PID: 1}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(StatusPath(root)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("status file: %v, %v; want a regular file", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Errorf("link target changed: %q", b)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o600 {
		t.Errorf("link target mode changed: %v", fi.Mode())
	}
	if s, err := ReadStatus(root); err != nil || s.PID != 1 {
		t.Errorf("ReadStatus = %v, %v", s, err)
	}
}

// The daemon's lock file linked elsewhere: the daemon refuses the root,
// and the link's target is not truncated.
func TestDaemonLockLinked(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(root, ".wbd-daemon.lock")
	if err := os.Symlink(outside, lock); err != nil {
		t.Fatal(err)
	}
	_, err := acquireRoot(root, "wbd run")
	want := "root " + root + ": " + lock + " is a symbolic link, not a lock file: wbd follows no links under its root"
	if err == nil || err.Error() != want {
		t.Errorf("acquireRoot = %v\nwant %q", err, want)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Errorf("link target truncated: %q", b)
	}
}
