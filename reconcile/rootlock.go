package reconcile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// rootLock makes one daemon the reconciler of a root directory: two daemons
// with different files over the same root would take down each other's
// instances.
type rootLock struct {
	root string
	f    *os.File
}

// lockRoot takes root's daemon lock, releasing the one of an earlier root.
// r.mu is held.
func (r *Reconciler) lockRoot(root string) error {
	if r.root != nil && r.root.root == root {
		return nil
	}
	l, err := acquireRoot(root, r.cfg.Holder)
	if err != nil {
		return err
	}
	if r.root != nil {
		r.root.release()
	}
	r.root = l
	return nil
}

func acquireRoot(root, holder string) (*rootLock, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	path := filepath.Join(root, ".wbd-daemon.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who, _ := os.ReadFile(path)
			return nil, fmt.Errorf("root %s is reconciled by another daemon: %s", root, strings.TrimSpace(string(who)))
		}
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%s (pid %d, since %s)\n", holder, os.Getpid(), time.Now().Format(time.RFC3339))
	return &rootLock{root: root, f: f}, nil
}

func (l *rootLock) release() {
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
