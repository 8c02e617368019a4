package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// DefaultSteady is how long a container an apply started must keep running
// to count as started: one that exits or restarts within it is a failed
// change, even when it answered its healthcheck first.
const DefaultSteady = 3 * time.Second

// settle watches the containers an apply created, recreated or started,
// and those it left running that started less than window ago (the engine
// restarted one, or an earlier apply was cut short), until each has run for
// window since it started, and fails when one exits, restarts or turns
// unhealthy meanwhile. An optional service that does so is a warning: the
// instance runs without it.
func (e *Engine) settle(ctx context.Context, p *types.Project, services []ServiceReport, window time.Duration) (warnings []string, err error) {
	optional := optionalServices(p)
	type watched struct {
		first ServiceState
		done  bool
	}
	var ws []*watched
	for _, s := range services {
		if s.Action == ActionCreate || s.Action == ActionRecreate || s.Action == ActionStart || recent(s.ServiceState, window) {
			ws = append(ws, &watched{first: s.ServiceState})
		}
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var failed []ServiceState
	for {
		left := false
		for _, w := range ws {
			if w.done {
				continue
			}
			st, err := e.inspectState(ctx, p.Name, w.first.Service)
			if err != nil {
				return warnings, fmt.Errorf("inspect %s: %w", w.first.Service, err)
			}
			switch {
			case !steadyAs(w.first, st):
				w.done = true
				if st.State == "running" && st.Health != "unhealthy" && st.Error == "" {
					// Back up already: say what happened in between.
					st.Error = fmt.Sprintf("it exited and the engine restarted it (%d restarts)", st.Restarts)
				}
				if slices.Contains(optional, st.Service) {
					warnings = append(warnings, "optional service stopped within "+window.String()+" of starting, the instance runs without it: "+st.String())
				} else {
					failed = append(failed, st)
				}
			case time.Since(st.StartedAt) >= window:
				w.done = true
			default:
				left = true
			}
		}
		if !left {
			break
		}
		select {
		case <-ctx.Done():
			return warnings, ctx.Err()
		case <-tick.C:
		}
	}
	if len(failed) > 0 {
		return warnings, &NotReadyError{Instance: p.Name, Services: failed, Within: window}
	}
	return warnings, nil
}

// steadyAs reports whether now is the same run of the container first saw
// ready: still running, not restarted, not unhealthy.
func steadyAs(first, now ServiceState) bool {
	return now.State == "running" && now.Health != "unhealthy" &&
		now.Restarts == first.Restarts && now.StartedAt.Equal(first.StartedAt) && now.Container == first.Container
}

// recent reports whether st is a running container that started less than
// window ago: it has not yet shown it keeps running.
func recent(st ServiceState, window time.Duration) bool {
	return st.State == "running" && time.Since(st.StartedAt) < window
}
