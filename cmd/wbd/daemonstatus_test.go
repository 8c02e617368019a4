package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wbd-dev/wbd/reconcile"
)

// A status file left by a daemon that stopped, whose PID now belongs to
// another live process (here the test), is not shown as a running daemon.
func TestDaemonStatusOfAStaleFile(t *testing.T) {
	root := t.TempDir()
	status := fmt.Sprintf(`{"pid": %d, "file": "/etc/wbd/instances.yaml", "instances": [{"instance": "testing", "result": "in-sync"}]}`, os.Getpid())
	if err := os.WriteFile(reconcile.StatusPath(root), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, reconcile.DaemonLockFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := daemonStatus(root); s != nil {
		t.Fatalf("daemonStatus=%+v, want none: no daemon holds the root", s)
	}
}
