package instdir

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// ErrLocked is returned by Lock while another wbd acts on the instance.
var ErrLocked = errors.New("instance is locked")

// LockedError says who holds an instance's lock.
type LockedError struct {
	Instance string
	Holder   string // what the holder wrote: its command, pid and start time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("instance %s is busy: %s holds its lock; try again when it is done", e.Instance, e.Holder)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock makes the caller the one writer of instance in: the daemon and
// wbd commands in a shell never act on one instance at the same time. It
// does not wait; who describes the caller to whoever is refused. The lock
// is an flock on {root}/NAME/.wbd.lock, so it goes with the process that
// holds it, however that process ends.
func Lock(in *spec.Instance, who string) (unlock func(), err error) {
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", in.Name, err)
	}
	path := in.Path(".wbd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", in.Name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(path)
			h := strings.TrimSpace(string(holder))
			if h == "" {
				h = "another wbd"
			}
			return nil, &LockedError{Instance: in.Name, Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", in.Name, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%s (pid %d, since %s)\n", who, os.Getpid(), time.Now().Format(time.RFC3339))
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
