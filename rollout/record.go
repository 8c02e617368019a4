package rollout

import (
	"errors"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/instdir"
)

// Steps an operation reports to Options.OnStep.
const (
	StepPlanning    = "planning"
	StepApplying    = "applying"
	StepRollingBack = "rolling back"
)

// step tells Options.OnStep what the operation does now.
func (o *op) step(what string) {
	if o.opts.OnStep != nil {
		o.opts.OnStep(what)
	}
}

// note records the operation that began at start from revision from, as an
// event of Options.Events, when it acted on the engine or failed: an
// instance found as asked (unchanged, or held or pinned where it runs) is
// no event, so that the daemon's passes do not fill the log.
func (o *op) note(action events.Action, start time.Time, from int, out Outcome, err error) {
	if o.opts.Events == nil || out.Result == Deferred || err == nil && !o.acted {
		return
	}
	var locked *instdir.LockedError
	if errors.As(err, &locked) || errors.Is(err, ErrHeld) && !o.acted {
		return
	}
	e := events.Event{
		Instance: o.in.Name,
		Action:   action,
		From:     from,
		To:       out.Revision,
		Result:   events.OK,
		Duration: time.Since(start).Seconds(),
		Detail:   out.Summary,
	}
	switch {
	case out.Result == RolledBack:
		e.Result = events.RolledBack
		if out.Failed != nil {
			e.Failed = out.Failed.Number
		}
		e.Detail = oneLine(err)
	case errors.Is(err, ErrHeld):
		// It was repaired where it is held: what it runs is healthy.
		e.Detail = "repaired: " + oneLine(err)
	case err != nil:
		e.Result, e.Detail = events.Failed, oneLine(err)
		if e.To == 0 {
			e.To = from
		}
	}
	o.opts.Events.Record(e)
}
