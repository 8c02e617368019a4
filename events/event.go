// Package events is wbd's history of what was done to each instance: one
// JSON line per action (an apply, a rollback, a down...) in
// {root}/.wbd/events.jsonl, appended by the CLI and the daemon alike, and
// read back by `wbd events`, the status page and the tests.
package events

import (
	"fmt"
	"os"
	"os/user"
	"time"
)

// Action is what was done to an instance.
type Action string

const (
	Apply    Action = "apply"    // converge to the file (or repair what runs)
	Rollback Action = "rollback" // wbd rollback: an earlier revision, pinned
	Release  Action = "release"  // wbd rollback --release: back to the file
	Restart  Action = "restart"  // wbd restart
	Down     Action = "down"     // wbd down, or the daemon taking down what left the file
)

// Result is how an action ended. The set is closed, so that it can label
// a metric.
type Result string

const (
	OK         Result = "ok"
	Failed     Result = "failed"
	RolledBack Result = "rolled_back" // the change failed and was undone
)

// Actor is who acted: the daemon, or a user's command.
type Actor struct {
	Daemon  bool   `json:"daemon,omitempty"`
	User    string `json:"user,omitempty"`
	PID     int    `json:"pid"`
	Command string `json:"command,omitempty"` // "wbd apply"
}

// DaemonActor is wbd run, this process.
func DaemonActor() Actor { return Actor{Daemon: true, PID: os.Getpid(), Command: "wbd run"} }

// CommandActor is the user running command in this process.
func CommandActor(command string) Actor {
	a := Actor{PID: os.Getpid(), Command: command}
	if u, err := user.Current(); err == nil {
		a.User = u.Username
	}
	return a
}

func (a Actor) String() string {
	if a.Daemon {
		return fmt.Sprintf("daemon (pid %d)", a.PID)
	}
	who := a.User
	if who == "" {
		who = "?"
	}
	if a.Command != "" {
		return fmt.Sprintf("%s (%s, pid %d)", who, a.Command, a.PID)
	}
	return fmt.Sprintf("%s (pid %d)", who, a.PID)
}

// Event is one action on one instance.
type Event struct {
	Time     time.Time `json:"time"`
	Actor    Actor     `json:"actor"`
	Instance string    `json:"instance"`
	Action   Action    `json:"action"`
	// From is the revision the instance ran before, To the one it runs
	// after (0: none known); Failed is the revision that failed, when a
	// change was rolled back.
	From     int     `json:"revision_from,omitempty"`
	To       int     `json:"revision_to,omitempty"`
	Failed   int     `json:"revision_failed,omitempty"`
	Result   Result  `json:"result"`
	Duration float64 `json:"duration_seconds"`
	// Detail is what was done, or why it failed, in one line.
	Detail string `json:"detail,omitempty"`
}

// Took returns the event's duration.
func (e Event) Took() time.Duration { return time.Duration(e.Duration * float64(time.Second)) }

// Revisions is "3 -> 4", "3" when it did not change, or "-", and the
// revision that failed: "3 (4 failed)".
func (e Event) Revisions() string {
	if e.Failed > 0 {
		return fmt.Sprintf("%s (%d failed)", e.revisions(), e.Failed)
	}
	return e.revisions()
}

func (e Event) revisions() string {
	switch {
	case e.From == 0 && e.To == 0:
		return "-"
	case e.From == e.To:
		return fmt.Sprint(e.To)
	case e.From == 0:
		return fmt.Sprintf("- -> %d", e.To)
	case e.To == 0:
		return fmt.Sprintf("%d -> -", e.From)
	}
	return fmt.Sprintf("%d -> %d", e.From, e.To)
}
