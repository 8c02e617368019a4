package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
)

// Down stops instance name in the order app, admin, redis, postgres (postgres
// with a 30 s grace), then removes its containers and network. Volumes and
// bind-mounted data are kept. It works from the labels on the engine, so it
// also takes down an instance that has left the file; one with nothing on
// the engine is not an error.
func (e *Engine) Down(ctx context.Context, name string) error {
	in, err := e.observeOwned(ctx, name)
	if err != nil {
		return fmt.Errorf("down %s: %w", name, err)
	}
	if len(in.containers) == 0 && len(in.networks) == 0 {
		return nil
	}
	s, err := e.session(e.progress)
	if err != nil {
		return err
	}
	if err := e.stopInOrder(ctx, s, in); err != nil {
		return fmt.Errorf("down %s: %w", name, err)
	}
	if err := s.compose.Down(ctx, name, api.DownOptions{RemoveOrphans: true, Volumes: false}); err != nil {
		return fmt.Errorf("down %s: %w", name, err)
	}
	return nil
}

// Restart stops the instance in Down's order, then starts its containers
// again as they are (no recreation), the way Apply starts them: an optional
// service that does not start is a warning. It waits at most two minutes,
// or until ctx's deadline if that is sooner.
func (e *Engine) Restart(ctx context.Context, project *types.Project) (Report, error) {
	p, err := desiredFor(project, e.api.ClientVersion())
	if err != nil {
		return Report{}, fmt.Errorf("restart: %w", err)
	}
	rep := Report{Instance: p.Name}
	in, err := e.observeOwned(ctx, p.Name)
	if err != nil {
		return rep, fmt.Errorf("restart %s: %w", p.Name, err)
	}
	if len(in.containers) == 0 {
		return rep, fmt.Errorf("restart %s: no containers on the engine; apply it first", p.Name)
	}
	s, err := e.session(e.progress)
	if err != nil {
		return rep, err
	}
	if err := e.stopInOrder(ctx, s, in); err != nil {
		return rep, fmt.Errorf("restart %s: %w", p.Name, err)
	}
	timeout := defaultWaitTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	started, err := e.startAll(ctx, s, p, timeout, nil)
	if started != nil {
		rep.Warnings = started.warnings
		rep.Services = e.compare(ctx, p.Name, in, started.states)
	}
	for _, w := range rep.Warnings {
		e.log.Warn(w, keyInstance, p.Name)
	}
	if err != nil {
		return rep, fmt.Errorf("restart %s: %w", p.Name, err)
	}
	return rep, nil
}

// stopInOrder stops the instance's running containers one service at a
// time, in stopOrder.
func (e *Engine) stopInOrder(ctx context.Context, s *session, in *instance) error {
	cur := in.byService()
	for _, svc := range inStopOrder(keys(cur)) {
		switch cur[svc].State {
		case container.StateRunning, container.StateRestarting, container.StatePaused:
		default:
			continue
		}
		err := s.compose.Stop(ctx, in.name, api.StopOptions{Services: []string{svc}, Timeout: graceFor(svc)})
		if err != nil {
			return fmt.Errorf("stop %s: %w", svc, err)
		}
	}
	return nil
}
