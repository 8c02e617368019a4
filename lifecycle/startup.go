package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

// defaultWaitTimeout bounds the wait for running and healthy containers.
const defaultWaitTimeout = 2 * time.Minute

// waitTimeout is o.WaitTimeout, or its default.
func (o ApplyOptions) waitTimeout() time.Duration {
	if o.WaitTimeout > 0 {
		return o.WaitTimeout
	}
	return defaultWaitTimeout
}

// startResult is what bringing an instance's containers up found.
type startResult struct {
	states   []ServiceState // every service, in start order
	warnings []string
}

// startAll starts p's existing containers, then waits for them:
//
//  1. every service, one at a time in dependency order (startSequence),
//     each once the dependencies it waits for are ready by wbd's own
//     check (see inspectReady), which does not wait for the engine's
//     healthcheck interval; compose is given the service alone, without
//     the dependencies already checked. An optional service (see
//     optionalServices) that fails is a warning, and its dependents start
//     without it; another that fails is an error;
//  2. a wait until each container runs, and is healthy when it has a
//     healthcheck; an optional service not ready is a warning.
//
// The error names the services and the state they are in. Services in
// running have a container that runs already, untouched by the step
// before: they are not started again (compose's Start of a running
// container does nothing, at the cost of a call), only checked when a
// dependent waits for them.
func (e *Engine) startAll(ctx context.Context, s *session, p *types.Project, timeout time.Duration, running map[string]bool) (*startResult, error) {
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	deadline := time.Now().Add(timeout)
	optErrs, err := e.startStages(ctx, s, p, optionalServices(p), deadline, running)
	if err != nil {
		err = fmt.Errorf("start %s: %w", p.Name, err)
	}
	res, notReady := e.awaitReady(ctx, s, p, inStartOrder(p.ServiceNames()), optErrs, deadline, timeout)
	switch {
	case res == nil:
		return nil, notReady
	case notReady != nil:
		return res, errors.Join(notReady, err)
	}
	return res, err
}

// awaitReady is stage 2 of startAll for services: it waits until each
// runs, and is healthy when it has a healthcheck, or deadline passes. An
// optional service not ready is a warning (optErrs says why it did not
// start, when startAll knows); another is in the *NotReadyError. The
// result is nil when the wait itself failed.
func (e *Engine) awaitReady(ctx context.Context, s *session, p *types.Project, services []string, optErrs map[string]error, deadline time.Time, timeout time.Duration) (*startResult, error) {
	optional := optionalServices(p)
	res := &startResult{}
	var failed []ServiceState
	waitErr := s.run(ctx, "wait", func(ctx context.Context) error {
		states, err := e.waitReady(ctx, s, p.Name, services, max(time.Until(deadline), time.Second))
		res.states = states
		for _, st := range states {
			switch {
			case st.Ready():
			case slices.Contains(optional, st.Service):
				why := st.String()
				if optErrs[st.Service] != nil && st.Error == "" {
					why = fmt.Sprintf("%s: %v", why, optErrs[st.Service])
				}
				s.on(st.event(), api.Warning, "Not started ("+st.Condition()+"), the instance runs without it")
				res.warnings = append(res.warnings, "optional service did not start, the instance runs without it: "+why)
			default:
				s.on(st.event(), api.Error, "Not ready: "+st.Condition())
				failed = append(failed, st)
			}
		}
		return err
	})
	if waitErr != nil {
		return nil, waitErr
	}
	if len(failed) > 0 {
		nr := &NotReadyError{Instance: p.Name, Services: failed}
		if !time.Now().Before(deadline) {
			nr.Timeout = timeout
		}
		return res, nr
	}
	return res, nil
}

// startStages runs stage 1 of startAll, one compose call per wave (see
// startWaves). It returns why each optional service that failed did, and
// the errors of the others.
func (e *Engine) startStages(ctx context.Context, s *session, p *types.Project, optional []string, deadline time.Time, running map[string]bool) (map[string]error, error) {
	optErrs := map[string]error{}
	var errs []error
	failed := map[string]bool{} // did not start, or not ready when a dependent needed it
	ready := map[string]bool{}  // ready by wbd's check
	fail := func(svc string, err error) {
		failed[svc] = true
		if slices.Contains(optional, svc) {
			optErrs[svc] = err
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", svc, err))
		}
	}
	for _, wave := range startWaves(p) {
		var start []string
		for _, svc := range wave {
			if err := e.awaitDependencies(ctx, s, p, svc, ready, failed, deadline); err != nil {
				fail(svc, err)
				continue
			}
			if !running[svc] {
				start = append(start, svc)
			}
		}
		if len(start) == 0 {
			continue
		}
		err := e.startWave(ctx, s, p, start, failed, deadline)
		if ctx.Err() != nil {
			return optErrs, errors.Join(append(errs, ctx.Err())...)
		}
		if err == nil {
			continue
		}
		if len(start) == 1 {
			fail(start[0], err)
			continue
		}
		// Which one failed: each again alone, in order; one started
		// already is no error.
		for _, svc := range start {
			if err := e.startWave(ctx, s, p, []string{svc}, failed, deadline); err != nil {
				fail(svc, err)
			}
		}
	}
	return optErrs, errors.Join(errs...)
}

// startWave starts services in one compose call.
func (e *Engine) startWave(ctx context.Context, s *session, p *types.Project, services []string, failed map[string]bool, deadline time.Time) error {
	sub, err := startOnly(p, services, failed)
	if err != nil {
		return err
	}
	return s.compose.Start(ctx, p.Name, api.StartOptions{Project: sub, WaitTimeout: time.Until(deadline)})
}

// startWaves groups startSequence into the compose calls startStages makes:
// a service joins the wave before it, and compose starts them in order in
// one call, unless it waits for a dependency to be healthy that wbd has
// not checked yet. With the default template: postgres and redis, then,
// once postgres answers, admin and the app: two calls on the way to the
// app instead of one per service.
func startWaves(p *types.Project) [][]string {
	var waves [][]string
	checked := map[string]bool{}
	for _, svc := range startSequence(p) {
		wait := len(waves) == 0
		for dep, d := range p.Services[svc].DependsOn {
			if _, ok := p.Services[dep]; ok && d.Condition == types.ServiceConditionHealthy && !checked[dep] {
				wait, checked[dep] = true, true
			}
		}
		if wait {
			waves = append(waves, nil)
		}
		waves[len(waves)-1] = append(waves[len(waves)-1], svc)
	}
	return waves
}

// awaitDependencies waits until each dependency svc waits for with
// service_healthy is ready by wbd's check, marking those that are in ready
// and those that are not in failed. It returns an error when a required
// one failed: svc cannot start.
func (e *Engine) awaitDependencies(ctx context.Context, s *session, p *types.Project, svc string, ready, failed map[string]bool, deadline time.Time) error {
	deps := p.Services[svc].DependsOn
	for _, dep := range slices.Sorted(maps.Keys(deps)) {
		d := deps[dep]
		if _, ok := p.Services[dep]; !ok || d.Condition != types.ServiceConditionHealthy || ready[dep] || failed[dep] {
			continue
		}
		states, err := e.waitReady(ctx, s, p.Name, []string{dep}, max(time.Until(deadline), time.Second))
		if err != nil {
			return err
		}
		if states[0].Ready() {
			ready[dep] = true
			continue
		}
		failed[dep] = true
	}
	for _, dep := range slices.Sorted(maps.Keys(deps)) {
		if _, ok := p.Services[dep]; ok && failed[dep] && deps[dep].Required {
			return fmt.Errorf("dependency %s is not ready", dep)
		}
	}
	return nil
}

// startSequence is the order startStages starts p's services in: each after
// those it depends on.
func startSequence(p *types.Project) []string {
	return dependencyOrder(p, p.ServiceNames())
}

// startOnly returns a copy of p for compose's Start that starts services
// alone: their dependencies on services started before them (by
// startSequence) are dropped, checked already or, when in failed,
// optional, so compose waits on none again. Dependencies on one another,
// which compose orders, and on a one-off's completion are kept.
func startOnly(p *types.Project, services []string, failed map[string]bool) (*types.Project, error) {
	q := p.WithServicesDisabled() // a deep copy
	for _, svc := range services {
		conf := q.Services[svc]
		keep := types.DependsOnConfig{}
		for dep, d := range conf.DependsOn {
			together := slices.Contains(services, dep) && d.Condition != types.ServiceConditionHealthy
			if !failed[dep] && (together || d.Condition == types.ServiceConditionCompletedSuccessfully) {
				keep[dep] = d
			}
		}
		conf.DependsOn = keep
		q.Services[svc] = conf
	}
	return q.WithSelectedServices(services)
}
