package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// pollInterval is how often waits re-read the engine.
const pollInterval = 250 * time.Millisecond

// ServiceState is a service's container as last seen.
type ServiceState struct {
	Service   string
	Container string // container name; "" when there is none
	State     string // running, exited, restarting, ...; "missing" without container
	Health    string // healthy, unhealthy, starting; "" without healthcheck
	ExitCode  int
	Restarts  int    // times the engine restarted it after an exit
	Error     string // why the engine could not start it, if it says
	StartedAt time.Time

	// checked: its healthcheck, run by wbd (see probe), passed since this
	// start, before the engine's own first check did.
	checked bool
}

func (s ServiceState) String() string {
	who := s.Service
	if s.Container != "" {
		who += " (container " + s.Container + ")"
	}
	return who + ": " + s.Condition()
}

// Condition describes the state, health and error of the container.
func (s ServiceState) Condition() string {
	var desc string
	switch {
	case s.State == "exited" || s.State == "dead":
		desc = fmt.Sprintf("%s with code %d", s.State, s.ExitCode)
	case s.State == "restarting":
		desc = fmt.Sprintf("restarting after exiting with code %d (%d restarts)", s.ExitCode, s.Restarts)
	case s.checked && s.Health == "starting":
		desc = s.State + ", healthy (its healthcheck run by wbd passed)"
	case s.Health == "starting":
		desc = s.State + ", healthcheck not passing yet"
	case s.Health != "":
		desc = s.State + ", " + s.Health
	default:
		desc = s.State
	}
	if s.Error != "" {
		desc += ": " + s.Error
	}
	return desc
}

// event is the resource name of progress lines about s.
func (s ServiceState) event() string {
	if s.Container == "" {
		return "Service " + s.Service
	}
	return "Container " + s.Container
}

// Ready: running, and healthy when it has a healthcheck (by the engine's
// check, or by wbd's run of it while the engine's first is pending).
func (s ServiceState) Ready() bool {
	return s.State == "running" && (s.Health == "" || s.Health == "healthy" || s.checked && s.Health == "starting")
}

// settled: ready, or failed in a way waiting will not mend. Waits run
// after every start call returned, so a container still created stays so;
// one restarting has exited since it was started: it is crash-looping.
func (s ServiceState) settled() bool {
	switch {
	case s.Ready():
		return true
	case s.State == "exited" || s.State == "dead" || s.State == "missing" || s.State == "created" || s.State == "restarting":
		return true
	default:
		return s.Health == "unhealthy"
	}
}

// inspectState reads the state of the instance's container for service.
func (e *Engine) inspectState(ctx context.Context, name, service string) (ServiceState, error) {
	st, _, err := e.inspectContainer(ctx, name, service)
	return st, err
}

// inspectContainer is inspectState that also returns what the engine said
// of the container; nil when there is none.
func (e *Engine) inspectContainer(ctx context.Context, name, service string) (ServiceState, *container.InspectResponse, error) {
	f := projectFilter(name).Add("label", api.ServiceLabel+"="+service, LabelManaged+"=true")
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return ServiceState{}, nil, err
	}
	st := ServiceState{Service: service, State: "missing"}
	if len(cs.Items) == 0 {
		return st, nil, nil
	}
	res, err := e.api.ContainerInspect(ctx, cs.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		return ServiceState{}, nil, err
	}
	return stateOf(service, res.Container), &res.Container, nil
}

// inspectReady is inspectState that, while the engine's own first
// healthcheck of the container is more than a second away, runs the check
// itself (see probe): st.Ready() is then true as soon as it passes.
func (e *Engine) inspectReady(ctx context.Context, name, service string) (ServiceState, error) {
	st, c, err := e.inspectContainer(ctx, name, service)
	if err != nil || c == nil || !shouldProbe(*c, e.api.ClientVersion(), time.Now()) {
		return st, err
	}
	ok, err := e.probe(ctx, *c)
	if err != nil {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		// The container may have stopped meanwhile: the next look says.
		e.log.Debug("healthcheck run by wbd failed to run", keyInstance, name, "service", service, "error", err)
		return st, nil
	}
	st.checked = ok
	return st, nil
}

func stateOf(service string, c container.InspectResponse) ServiceState {
	st := ServiceState{Service: service, Container: c.Name[1:], State: "unknown"}
	if c.State == nil {
		return st
	}
	st.State = string(c.State.Status)
	st.ExitCode = c.State.ExitCode
	st.Restarts = c.RestartCount
	st.Error = c.State.Error
	if c.State.Health != nil {
		st.Health = string(c.State.Health.Status)
	}
	st.StartedAt, _ = time.Parse(time.RFC3339Nano, c.State.StartedAt)
	return st
}

// steadyFor is how long a container without healthcheck must be seen
// running, from the same start, to be ready: one that crashes at once is
// caught exiting instead.
const steadyFor = time.Second

// waitReady polls until every service is settled or timeout passes, and
// returns the states last seen, in the order of services.
func (e *Engine) waitReady(ctx context.Context, s *session, name string, services []string, timeout time.Duration) ([]ServiceState, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	states := make([]ServiceState, len(services))
	for i, svc := range services {
		states[i] = ServiceState{Service: svc, State: "unknown"} // until seen
	}
	done := make([]bool, len(services))
	upSince := map[string]time.Time{}
	for {
		all := true
		for i, svc := range services {
			if done[i] {
				continue
			}
			st, err := e.inspectReady(ctx, name, svc)
			if err != nil {
				if ctx.Err() != nil {
					return states, nil // timed out mid-call: report what was seen
				}
				return nil, fmt.Errorf("inspect %s: %w", svc, err)
			}
			states[i] = st
			done[i] = st.settled() && (!st.Ready() || st.Health != "" || steady(upSince, st))
			all = all && done[i]
			if done[i] && (st.Health == "healthy" || st.checked) {
				s.on(st.event(), api.Done, api.StatusHealthy)
			}
		}
		if all {
			return states, nil
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return states, nil
			}
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// steady reports whether st, running, has been seen so from the same start
// for steadyFor, or was started long before.
func steady(upSince map[string]time.Time, st ServiceState) bool {
	if time.Since(st.StartedAt) > time.Minute {
		return true
	}
	key := st.Service + "@" + st.StartedAt.String()
	first, ok := upSince[key]
	if !ok {
		upSince[key] = time.Now()
		return false
	}
	return time.Since(first) >= steadyFor
}
