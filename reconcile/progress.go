package reconcile

import (
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/rollout"
)

// Progress is what the daemon is doing to an instance right now.
type Progress struct {
	// Step is rollout's step (planning, applying, rolling back), or
	// "taking down".
	Step  string    `json:"step"`
	Since time.Time `json:"since"` // when the operation began
	// StepSince is when the step began.
	StepSince time.Time `json:"step_since"`
	// Detail is the engine's last word about it ("Container testing-app
	// Started"), when it said something.
	Detail string `json:"detail,omitempty"`
}

// StepTakingDown is the step of an instance that left the file.
const StepTakingDown = "taking down"

// ready reports whether an instance whose last reconcile came to res runs
// and is healthy: what it runs matched what was asked, or was restored.
func ready(res Result) bool {
	switch res {
	case ResultInSync, ResultApplied, ResultDegraded, ResultRolledBack, ResultPinned:
		return true
	}
	return false
}

// begin records that an operation on instance name starts now, at step.
func (r *Reconciler) begin(name, step string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.inst[name]
	if !ok {
		s = &instState{st: InstanceStatus{Instance: name}}
		r.inst[name] = s
	}
	now := r.cfg.Now()
	s.st.InProgress = &Progress{Step: step, Since: now, StepSince: now}
}

// finish clears what is in progress on name, when the operation ended
// without an outcome (the daemon stopping before it began).
func (r *Reconciler) finish(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.inst[name]; ok {
		s.st.InProgress = nil
	}
}

// step records that the operation on name moved on to step. A step that
// changes containers is published at once: it is what an operator looking
// at the status wants to see.
func (r *Reconciler) step(name, step string) {
	r.heartbeat()
	r.mu.Lock()
	s, ok := r.inst[name]
	changed := ok && s.st.InProgress != nil && s.st.InProgress.Step != step
	if changed {
		p := *s.st.InProgress
		p.Step, p.StepSince, p.Detail = step, r.cfg.Now(), ""
		s.st.InProgress = &p
	}
	r.mu.Unlock()
	if changed && step != rollout.StepPlanning {
		r.publish()
	}
}

// activity is the engine's progress on name: a sign of life for the
// watchdog however long a pull takes, and the detail of its step.
func (r *Reconciler) activity(name string, p lifecycle.Progress) {
	r.heartbeat()
	if p.Layer {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.inst[name]; ok && s.st.InProgress != nil {
		q := *s.st.InProgress
		q.Detail = p.Resource + " " + p.Text
		s.st.InProgress = &q
	}
}

// events is the events log of the root in force, or nil before one is.
func (r *Reconciler) eventsLog() *events.Log {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evlog
}

// openEvents opens the events log of root, unless it is open. r.mu is
// held.
func (r *Reconciler) openEvents(root string) {
	if r.evlog != nil && r.evlog.Root() == root {
		return
	}
	r.evlog = events.Open(root, events.DaemonActor(), events.Options{Redact: RedactHost, Logger: r.log, Now: r.cfg.Now})
	r.evlog.OnRecord = r.cfg.OnEvent
}
