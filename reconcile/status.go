package reconcile

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wbd-dev/wbd/instdir"
)

// StatusFile is the name of the daemon's status file in the root directory.
const StatusFile = ".wbd-daemon.json"

// StatusPath is the daemon's status file for root.
func StatusPath(root string) string { return filepath.Join(root, StatusFile) }

// Result is what the last reconcile of an instance found or did.
type Result string

const (
	ResultPending     Result = "pending"     // not reconciled yet
	ResultInSync      Result = "in-sync"     // the engine matched the file: nothing done
	ResultApplied     Result = "applied"     // the engine did not match: applied
	ResultDegraded    Result = "degraded"    // applied, with warnings (an optional service did not start)
	ResultFailed      Result = "failed"      // failed; retried after a backoff
	ResultHeld        Result = "held"        // failed too often: not tried before next_attempt
	ResultLocked      Result = "locked"      // a wbd command in a shell holds it; retried
	ResultUnreachable Result = "unreachable" // its engine does not answer
	ResultInterrupted Result = "interrupted" // the daemon stopped during the operation
	ResultRemoved     Result = "removed"     // left the file: taken down, data kept
	// ResultRolledBack: the file's spec failed and was rolled back; it is
	// not tried again until it changes, a SIGHUP, or apply --retry-failed.
	ResultRolledBack Result = "rolled-back"
	// ResultPinned: wbd rollback holds it at an earlier revision.
	ResultPinned Result = "pinned"
)

// Status is the daemon's view, as it writes it to {root}/.wbd-daemon.json.
type Status struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Updated is when the daemon last wrote the file: after every pass.
	Updated   time.Time        `json:"updated"`
	File      string           `json:"file"`
	Root      string           `json:"root,omitempty"`
	Resync    string           `json:"resync"`
	Config    ConfigStatus     `json:"config"`
	Hosts     []HostStatus     `json:"hosts"`
	Instances []InstanceStatus `json:"instances"`
}

// ConfigStatus says which configuration is in force.
type ConfigStatus struct {
	// Loaded is when the configuration in force was read.
	Loaded time.Time `json:"loaded"`
	// Error, when set, is why the file as it is now is not in force
	// (FILE:LINE:COL: ...): the last valid configuration stays.
	Error      string     `json:"error,omitempty"`
	ErrorSince *time.Time `json:"error_since,omitempty"`
}

// HostStatus is one Docker host of the file.
type HostStatus struct {
	Host    string     `json:"host"` // canonical (HostKey), without userinfo; "" for the local default
	Addr    string     `json:"addr,omitempty"`
	Known   bool       `json:"known"` // a connection was tried
	Up      bool       `json:"up"`
	Since   *time.Time `json:"since,omitempty"`
	Error   string     `json:"error,omitempty"`
	NextTry *time.Time `json:"next_try,omitempty"`
}

// InstanceStatus is one instance as the daemon last saw it.
type InstanceStatus struct {
	Instance string `json:"instance"`
	Host     string `json:"host,omitempty"`
	Result   Result `json:"result"`
	// InFile: the instance is in the configuration in force.
	InFile bool `json:"in_file"`
	// InSync: at the last reconcile the engine matched the file (or was
	// made to). False while pending, failing, locked or unreachable.
	InSync        bool       `json:"in_sync"`
	LastReconcile *time.Time `json:"last_reconcile,omitempty"`
	// LastChange is when the daemon last applied it or took it down.
	LastChange  *time.Time `json:"last_change,omitempty"`
	Detail      string     `json:"detail,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Failures    int        `json:"failures,omitempty"`
	// Revision is the revision it runs, as its history says.
	Revision    int        `json:"revision,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	// Ready: at the last reconcile its containers ran and were healthy
	// (matching the file, or restored or pinned), and no change to them
	// is in progress.
	Ready bool `json:"ready"`
	// InProgress is what the daemon is doing to it now.
	InProgress *Progress `json:"in_progress,omitempty"`
}

// ReadStatus reads the status the daemon of root wrote. The error is
// fs.ErrNotExist when no daemon ever ran for root; see Running for whether
// one still does.
func ReadStatus(root string) (*Status, error) {
	data, err := instdir.ReadFileIn(root, StatusPath(root))
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", StatusPath(root), err)
	}
	return &s, nil
}

// Instance returns the status of instance name, or nil.
func (s *Status) Instance(name string) *InstanceStatus {
	for i := range s.Instances {
		if s.Instances[i].Instance == name {
			return &s.Instances[i]
		}
	}
	return nil
}

// writeStatus writes s atomically to root.
func writeStatus(root string, s *Status) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return instdir.WriteFileIn(root, StatusPath(root), append(data, '\n'), 0o644)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
