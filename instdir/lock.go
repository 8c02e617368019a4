package instdir

import (
	"errors"
	"fmt"
	"path/filepath"

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

// LockFileName is the instance lock's file, in the instance directory.
const LockFileName = ".wbd.lock"

// Lock makes the caller the one writer of instance in: the daemon and
// wbd commands in a shell never act on one instance at the same time. It
// does not wait; who describes the caller to whoever is refused. The lock
// is an flock on {root}/NAME/.wbd.lock (see LockFile).
func Lock(in *spec.Instance, who string) (unlock func(), err error) {
	unlock, err = LockFile(filepath.Dir(in.Dir), in.Path(LockFileName), who)
	var held *HeldError
	if errors.As(err, &held) {
		return nil, &LockedError{Instance: in.Name, Holder: held.Holder}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", in.Name, err)
	}
	return unlock, nil
}
