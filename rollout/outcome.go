package rollout

import (
	"errors"
	"fmt"

	"github.com/wbd-dev/wbd/revision"
)

// Result says what Apply, Rollback or Release did to an instance.
type Result string

const (
	// Unchanged: the instance already was what was asked.
	Unchanged Result = "unchanged"
	// Applied: the change was made and is healthy.
	Applied Result = "applied"
	// RolledBack: the change failed; the instance runs its last healthy
	// revision again.
	RolledBack Result = "rolled back"
	// Held: the file asks for a spec that was rolled back; it is not
	// tried again until it changes or Options.RetryFailed.
	Held Result = "held"
	// Pinned: `wbd rollback` pinned the instance to an earlier revision.
	Pinned Result = "pinned"
	// Failed: the change failed and the instance could not be restored,
	// or nothing had been changed yet.
	Failed Result = "failed"
)

// Outcome is what one operation on an instance did, for the caller to
// report and record.
type Outcome struct {
	Result   Result
	Summary  string // what was done, in a line
	Warnings []string
	// Revision is the revision the instance runs at the end; 0 when the
	// history cannot tell.
	Revision int
	// Failed is the revision that was rolled back or is held.
	Failed *revision.Revision
}

// Sentinel errors the typed errors unwrap to.
var (
	// ErrRolledBack: a change failed and was undone.
	ErrRolledBack = errors.New("change rolled back")
	// ErrHeld: the asked spec was rolled back before and is held.
	ErrHeld = errors.New("change held after a rollback")
)

// RolledBackError says which revision failed, why, and which runs again.
type RolledBackError struct {
	Instance string
	Revision int // the failed one
	Restored int
	Err      error // why it failed
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("instance %s: revision %d failed and was rolled back, the instance runs revision %d again: %v",
		e.Instance, e.Revision, e.Restored, e.Err)
}

func (e *RolledBackError) Unwrap() []error { return []error{ErrRolledBack, e.Err} }

// HeldError says that the file asks for a spec that was rolled back.
type HeldError struct {
	Instance string
	Revision int // the rolled back one
	Restored int
	Reason   string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("instance %s: held at revision %d: the file asks for revision %d again, which was rolled back (%s); "+
		"edit the file, or `wbd apply %s --retry-failed` tries it again",
		e.Instance, e.Restored, e.Revision, e.Reason, e.Instance)
}

func (e *HeldError) Unwrap() error { return ErrHeld }
