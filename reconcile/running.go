package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// DaemonLockFile is the name, in the root directory, of the lock the daemon
// of that root holds while it runs.
const DaemonLockFile = ".wbd-daemon.lock"

// Running reports whether a daemon runs for root now: whether it holds the
// root's lock. The PID of the status file cannot tell, since another
// process may have been given it since the daemon stopped. The lock file
// is only opened for reading, never created or truncated, and a link in
// its place is not followed.
func Running(root string) bool {
	f, err := os.OpenFile(filepath.Join(root, DaemonLockFile), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false // no daemon ever ran, or none this wbd may trust
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	// A shared lock is refused only while the daemon holds its exclusive
	// one; taken, it is given back at once.
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
