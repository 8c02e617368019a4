package reconcile

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/wbd-dev/wbd/instdir"
)

// rootLock makes one daemon the reconciler of a root directory: two daemons
// with different files over the same root would take down each other's
// instances.
type rootLock struct {
	root   string
	unlock func()
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
	unlock, err := instdir.LockFile(root, filepath.Join(root, DaemonLockFile), holder)
	var held *instdir.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("root %s is reconciled by another daemon: %s", root, held.Holder)
	}
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	return &rootLock{root: root, unlock: unlock}, nil
}

func (l *rootLock) release() { l.unlock() }
