package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A status file outlives its daemon, and its PID may be given to another
// process: only the root's lock says a daemon runs.
func TestRunningByLockNotPID(t *testing.T) {
	root := t.TempDir()
	// The PID of a live process that is no daemon: this test.
	status := fmt.Sprintf(`{"pid": %d, "file": "instances.yaml"}`, os.Getpid())
	if err := os.WriteFile(StatusPath(root), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if Running(root) {
		t.Fatal("Running()=true without a lock file")
	}
	lock := filepath.Join(root, DaemonLockFile)
	if err := os.WriteFile(lock, []byte("wbd run (pid 1, since 2026-01-01T00:00:00Z)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Running(root) {
		t.Fatal("Running()=true with a lock file nobody holds")
	}

	e := newEnv(t, Config{})
	e.root = root
	if err := e.r.Reconcile(t.Context(), desired(t, root, a1)); err != nil {
		t.Fatal(err)
	}
	if !Running(root) {
		t.Fatal("Running()=false while a daemon holds the root")
	}
	e.r.Close()
	if Running(root) {
		t.Fatal("Running()=true after the daemon let go of the root")
	}
}

// wbd status never creates, truncates or follows the lock file.
func TestRunningLeavesTheLockFileAlone(t *testing.T) {
	root := t.TempDir()
	Running(root)
	if _, err := os.Lstat(filepath.Join(root, DaemonLockFile)); !os.IsNotExist(err) {
		t.Fatalf("lock file after Running: %v, want none", err)
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, DaemonLockFile)); err != nil {
		t.Fatal(err)
	}
	if Running(root) {
		t.Fatal("Running()=true through a link")
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Fatalf("link target holds %q, want it untouched", data)
	}
}
