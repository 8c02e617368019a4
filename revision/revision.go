// Package revision keeps an instance's history: every apply that changes an
// instance is a numbered revision under {root}/NAME/.wbd/revisions, with the
// project it applied and whether that turned out healthy. The history is
// what a failed change is rolled back to, what the daemon holds a failed
// spec against, and what `wbd rollback` picks from.
package revision

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Format is the version of the revision files this wbd writes. A file of a
// newer format is skipped, never misread.
const Format = 1

// Keep is how many revisions an instance keeps; older ones are removed,
// except the newest healthy one, which a rollback may still need.
const Keep = 20

// Verdict is what became of a revision.
type Verdict string

const (
	// Pending: being applied, or the apply was killed before it could tell.
	Pending Verdict = "pending"
	// Healthy: every container ran, healthy, through the steady window.
	Healthy Verdict = "healthy"
	// Failed: the change failed and was not (or could not be) undone.
	Failed Verdict = "failed"
	// RolledBack: the change failed and the instance runs Restored again.
	RolledBack Verdict = "rolled back"
)

// Causes of a revision.
const (
	CauseApply    = "apply"    // the file said so
	CauseRollback = "rollback" // wbd rollback chose an earlier revision
	CauseBaseline = "baseline" // found running when the history began
)

// Revision is one change of an instance.
type Revision struct {
	Format   int       `json:"format"`
	Number   int       `json:"revision"`
	Time     time.Time `json:"time"`
	By       string    `json:"by"`
	SpecHash string    `json:"spec_hash"`
	Cause    string    `json:"cause"`
	// Changes says what the apply changed: "app recreated (image: a → b)".
	Changes string  `json:"changes,omitempty"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	// Restored is, for a rolled back revision, the revision the instance
	// runs again; for a rollback, the revision it copies.
	Restored int `json:"restored,omitempty"`
	// Pinned marks a rollback the file does not say: it stays while the
	// instance's rendered spec is PinnedWhile, until released.
	Pinned      bool   `json:"pinned,omitempty"`
	PinnedWhile string `json:"pinned_while,omitempty"`
	Released    bool   `json:"released,omitempty"`
	// Project is the rendered compose file. It holds secret file paths,
	// never secrets.
	Project string `json:"project,omitempty"`
}

// Hash identifies what an instance should be: its Docker host and its
// rendered project. Two renders with the same hash need no apply between
// them.
func Hash(host string, project []byte) string {
	h := sha256.New()
	h.Write([]byte(host))
	h.Write([]byte{0})
	h.Write(project)
	return hex.EncodeToString(h.Sum(nil)[:12])
}
