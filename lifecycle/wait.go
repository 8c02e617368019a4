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

// Ready: running, and healthy when it has a healthcheck.
func (s ServiceState) Ready() bool {
	return s.State == "running" && (s.Health == "" || s.Health == "healthy")
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
	f := projectFilter(name).Add("label", api.ServiceLabel+"="+service, LabelManaged+"=true")
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return ServiceState{}, err
	}
	st := ServiceState{Service: service, State: "missing"}
	if len(cs.Items) == 0 {
		return st, nil
	}
	res, err := e.api.ContainerInspect(ctx, cs.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		return ServiceState{}, err
	}
	return stateOf(service, res.Container), nil
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
	done := make([]bool, len(services))
	upSince := map[string]time.Time{}
	for {
		all := true
		for i, svc := range services {
			if done[i] {
				continue
			}
			st, err := e.inspectState(ctx, name, svc)
			if err != nil {
				if ctx.Err() != nil {
					return states, nil // timed out mid-call: report what was seen
				}
				return nil, fmt.Errorf("inspect %s: %w", svc, err)
			}
			states[i] = st
			done[i] = st.settled() && (!st.Ready() || st.Health != "" || steady(upSince, st))
			all = all && done[i]
			if done[i] && st.Health == "healthy" {
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
