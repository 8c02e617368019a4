package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// An apply that has nothing to change costs what planning it costs: compose
// is not called, and nothing is waited for unless a container is not ready
// yet or started less than the steady window ago. Compose's Create and
// Start would change nothing, but cost a dozen engine calls and, with the
// wait for health after them, half a second an instance.

// unchanged returns, in start order, the instance's containers as reports
// of unchanged services when Apply has nothing to change: every service
// has one container, running, under the name p gives it, with p's
// configuration and image, and no container is left of a service p no
// longer has. own is what the engine said of the containers holding p's
// names (see holders), by service.
func (e *Engine) unchanged(ctx context.Context, p *types.Project, in *instance, own map[string]container.InspectResponse) ([]ServiceReport, bool) {
	if len(in.containers) != len(p.Services) || len(misnamed(p, in)) > 0 {
		return nil, false
	}
	cur := in.byService()
	var out []ServiceReport
	for _, name := range inStartOrder(p.ServiceNames()) {
		c, ok := cur[name]
		held, named := own[name]
		if !ok || !named || held.ID != c.ID || c.State != container.StateRunning {
			return nil, false
		}
		changes, err := e.changes(ctx, nil, p, p.Services[name], c)
		if err != nil || len(changes) > 0 {
			return nil, false // Apply's own steps say what is wrong
		}
		out = append(out, ServiceReport{ServiceState: stateOf(name, held), Action: ActionUnchanged, ContainerID: c.ID})
	}
	return out, true
}

// Confirm is Apply for an instance whose plan was just found empty, in one
// read per container: it touches nothing, and returns at once when every
// container runs, is healthy when it has a healthcheck and started at
// least opts.Steady ago. Otherwise it waits, as Apply does after starting
// containers, for those not ready yet, and watches those that started less
// than opts.Steady ago for the rest of that window. A container missing
// meanwhile is not ready: the next plan creates it.
func (e *Engine) Confirm(ctx context.Context, project *types.Project, opts ApplyOptions) (Report, error) {
	p, err := desiredFor(project, e.api.ClientVersion())
	if err != nil {
		return Report{}, fmt.Errorf("apply%s: %w", nameOf(project), err)
	}
	var services []ServiceReport
	for _, name := range inStartOrder(p.ServiceNames()) {
		r := ServiceReport{ServiceState: ServiceState{Service: name, State: "missing"}, Action: ActionUnchanged}
		cname := containerName(p, p.Services[name])
		res, err := e.api.ContainerInspect(ctx, cname, client.ContainerInspectOptions{})
		switch {
		case err == nil && res.Container.Config != nil && res.Container.Config.Labels[api.ProjectLabel] == p.Name:
			r.ServiceState, r.ContainerID = stateOf(name, res.Container), res.Container.ID
		case err != nil && !errdefs.IsNotFound(err):
			return Report{Instance: p.Name}, fmt.Errorf("apply %s: inspect container %s: %w", p.Name, cname, err)
		}
		services = append(services, r)
	}
	return e.hold(ctx, p, services, opts)
}

// hold ends an Apply that changed nothing: services are the instance's
// containers as found, all unchanged. See Confirm.
func (e *Engine) hold(ctx context.Context, p *types.Project, services []ServiceReport, opts ApplyOptions) (Report, error) {
	rep := Report{Instance: p.Name, Services: services}
	var wait []string
	for _, s := range services {
		if !atRest(s.ServiceState, opts.Steady) {
			wait = append(wait, s.Service)
		}
	}
	if len(wait) == 0 {
		return rep, nil
	}
	log := e.log.With(keyInstance, p.Name)
	log.Debug("nothing to change; waiting for containers not ready or steady yet", "services", wait)
	s, err := e.sessionWith(e.progress, opts.OnProgress)
	if err != nil {
		return rep, err
	}
	timeout := opts.WaitTimeout
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	res, err := e.awaitReady(ctx, s, p, wait, nil, time.Now().Add(timeout), timeout)
	if res != nil {
		rep.Warnings = append(rep.Warnings, res.warnings...)
		for _, st := range res.states {
			for i := range rep.Services {
				if rep.Services[i].Service == st.Service {
					rep.Services[i].ServiceState = st
				}
			}
		}
	}
	return e.finish(ctx, p, rep, opts, err)
}

// atRest reports whether st needs no wait: running, healthy when it has a
// healthcheck, and started at least window ago; without a healthcheck, at
// least steadyFor ago too, as waitReady would have it.
func atRest(st ServiceState, window time.Duration) bool {
	up := time.Since(st.StartedAt)
	return st.Ready() && up >= window && (st.Health != "" || up >= steadyFor)
}
