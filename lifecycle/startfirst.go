package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/render"
)

// startFirst rolls p's app out start-first when p has the edge and the app
// container that runs now is to be recreated: compose creates the new
// container beside the old one under its temporary name, as it always
// does; before compose stops the old one (see stopHooks), takeover starts
// the new one, waits until it is ready and steady, and switches the edge
// to it, which drains the old one. Compose then stops and removes the old
// one and gives the new one its name, as it always does. The other
// services are left to the apply that follows.
//
// A new container that is not ready, or that the edge finds does not
// answer HTTP, never gets a request: it is removed, the old one keeps
// serving, and the error is a *StartFirstError. Without the edge, or
// without a running app container, it does nothing.
func (e *Engine) startFirst(ctx context.Context, s *session, p *types.Project, in *instance, opts ApplyOptions) error {
	es, ok := edgeOf(p)
	if !ok {
		return nil
	}
	cur := in.byService()
	old, ok := cur[render.AppService]
	if !ok || old.State != container.StateRunning {
		return nil
	}
	changes, err := e.changes(ctx, p, p.Services[render.AppService], old)
	if err != nil || len(changes) == 0 {
		return err
	}
	t := &takeover{e: e, s: s, p: p, es: es, old: toContainer(old), opts: opts}
	// compose's name for the new container while the old one holds NAME.
	t.name = shortID(old.ID) + "_" + containerName(p, p.Services[render.AppService])
	edgeC, hasEdge := cur[render.EdgeService]
	if hasEdge && edgeC.State == container.StateRunning {
		t.edge = toContainer(edgeC)
		renewed, err := e.renewEdge(ctx, s, p, edgeC, opts)
		if err != nil {
			return err
		}
		if renewed != nil {
			t.edge = *renewed
		}
	} else if !hasEdge {
		// The edge is being turned on: made now, started the moment the
		// old app gives up the port, ahead of the rest of the apply.
		err := s.compose.Create(ctx, p, api.CreateOptions{
			Services:             []string{render.EdgeService},
			Recreate:             api.RecreateDiverged,
			RecreateDependencies: api.RecreateNever,
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
	}
	e.log.Info("rolling the app out start-first", keyInstance, p.Name, "old", t.old.Name, "edge", t.edge.Name != "")
	if t.edge.Name != "" {
		// Compose gives the new container the old one's network aliases,
		// its name among them: until the switch, the edge reaches the app
		// by the old one's ID, never by a name both answer to.
		sctx, cancel := context.WithTimeout(ctx, edgeCtlTimeout)
		_, err := e.edgeSwitch(sctx, t.edge.ID, old.ID, es, switchMode{keep: true})
		cancel()
		if err != nil {
			return &StartFirstError{Instance: p.Name, New: t.name, Kept: t.old.Name, Err: err}
		}
	}
	off := e.hooks.on(old.ID, t.run)
	err = s.compose.Create(ctx, p, api.CreateOptions{
		Services:             []string{render.AppService},
		Recreate:             api.RecreateDiverged,
		RecreateDependencies: api.RecreateNever,
	})
	off()
	switch {
	case t.err != nil:
		t.discard(ctx)
		return &StartFirstError{Instance: p.Name, New: t.name, Kept: t.old.Name, Err: t.err}
	case err != nil && !t.switched:
		t.discard(ctx)
		return fmt.Errorf("create: %w", err)
	case err != nil:
		// The edge sends requests to the new container: keep both, the
		// next apply resolves them (see resolveOverlap).
		return fmt.Errorf("create: after the edge went to %s, replacing %s: %w", t.name, t.old.Name, err)
	}
	if t.edge.Name == "" {
		timeout := opts.WaitTimeout
		if timeout <= 0 {
			timeout = defaultWaitTimeout
		}
		if err := e.startWave(ctx, s, p, []string{render.EdgeService}, map[string]bool{}, time.Now().Add(timeout)); err != nil {
			return fmt.Errorf("start %s: %w", render.EdgeService, err)
		}
	}
	return nil
}

// renewEdge recreates the running edge container c first when it is to be
// recreated too (a new wbd, whose binary it runs), and returns the new one;
// nil when it is not. That is the one moment its connections are cut; it
// comes first so that the rollout is driven through an edge of this wbd.
func (e *Engine) renewEdge(ctx context.Context, s *session, p *types.Project, c container.Summary, opts ApplyOptions) (*Container, error) {
	changes, err := e.changes(ctx, p, p.Services[render.EdgeService], c)
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	e.log.Info("recreating the edge before the app's rollout", keyInstance, p.Name, "changes", changes)
	err = s.compose.Create(ctx, p, api.CreateOptions{
		Services:             []string{render.EdgeService},
		Recreate:             api.RecreateDiverged,
		RecreateDependencies: api.RecreateNever,
	})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	timeout := opts.WaitTimeout
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	if err := e.startWave(ctx, s, p, []string{render.EdgeService}, map[string]bool{}, time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("start %s: %w", render.EdgeService, err)
	}
	states, err := e.waitReady(ctx, s, p.Name, []string{render.EdgeService}, timeout)
	if err != nil {
		return nil, err
	}
	if !states[0].Ready() {
		return nil, &NotReadyError{Instance: p.Name, Services: states}
	}
	res, err := e.api.ContainerInspect(ctx, containerName(p, p.Services[render.EdgeService]), client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect the new edge: %w", err)
	}
	name := res.Container.Name[1:]
	return &Container{ID: res.Container.ID, Name: name, Service: render.EdgeService}, nil
}

// takeover is the part of a start-first rollout compose waits for before
// it stops the old app container.
type takeover struct {
	e    *Engine
	s    *session
	p    *types.Project
	es   edgeSpec
	old  Container
	edge Container // the running edge; its Name is "" without one
	opts ApplyOptions

	name, id string // the new container
	switched bool   // the edge sends requests to it
	err      error  // why the new container does not take over
}

// run starts the new container compose created, waits until it is ready,
// and switches the edge to it. Its error stops compose before the old
// container is touched.
func (t *takeover) run(ctx context.Context) error {
	t.err = t.takeOver(ctx)
	if t.err != nil {
		// What compose shows beside the old container's name.
		return fmt.Errorf("kept serving: %s got no request: %w", t.name, t.err)
	}
	return nil
}

func (t *takeover) takeOver(ctx context.Context) error {
	e, s := t.e, t.s
	res, err := e.api.ContainerInspect(ctx, t.name, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("find the new app container %s: %w", t.name, err)
	}
	t.id = res.Container.ID
	s.on("Container "+t.name, api.Working, "Starting beside "+t.old.Name)
	if _, err := e.api.ContainerStart(ctx, t.id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", t.name, err)
	}
	if _, err := e.awaitContainer(ctx, s, t.p.Name, render.AppService, t.id, t.opts); err != nil {
		return err
	}
	if t.edge.Name == "" {
		return nil // nothing to switch: the edge is being created, or down
	}
	s.on("Container "+t.edge.Name, api.Working, "Switching to "+t.name+", draining "+t.old.Name)
	sctx, cancel := context.WithTimeout(ctx, t.es.drain+edgeCtlTimeout)
	defer cancel()
	sw, err := e.edgeSwitch(sctx, t.edge.ID, t.id, t.es, switchMode{check: true})
	if err != nil {
		s.on("Container "+t.edge.Name, api.Error, err.Error())
		return err
	}
	t.switched = true
	s.on("Container "+t.edge.Name, api.Done, fmt.Sprintf("Switched to %s; %s drained: %d requests ended, %d closed at the deadline", t.name, t.old.Name, sw.Drained, sw.Cut))
	e.log.Info("edge switched", keyInstance, t.p.Name, "to", t.name, "from", t.old.Name, "drained", sw.Drained, "cut", sw.Cut, "waited", sw.Waited.String())
	return nil
}

// discard removes the new container, which got no request: the rollout
// failed, or was cut short.
func (t *takeover) discard(ctx context.Context) {
	id := t.id
	if id == "" {
		res, err := t.e.api.ContainerInspect(context.WithoutCancel(ctx), t.name, client.ContainerInspectOptions{})
		if err == nil && res.Container.Config != nil && res.Container.Config.Labels[api.ProjectLabel] == t.p.Name {
			id = res.Container.ID
		}
	}
	if id == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	// A switch cut short (wbd stopping mid-drain) may have been made: the
	// edge's word decides, and the next apply settles the two.
	if t.edge.Name != "" {
		target, err := t.e.edgeTarget(rctx, t.edge.ID)
		host, _, _ := strings.Cut(target, ":")
		if err != nil || (host != "" && strings.HasPrefix(id, host)) {
			t.e.log.Warn("leaving the new app container for the next apply: the edge may send it requests", keyInstance, t.p.Name, "container", t.name, "target", target, "error", err)
			return
		}
	}
	if _, err := t.e.api.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		t.e.log.Warn("cannot remove the new app container that got no request", keyInstance, t.p.Name, "container", t.name, "error", err)
		return
	}
	t.s.on("Container "+t.name, api.Done, "Removed: it got no request; "+t.old.Name+" kept serving")
}

// awaitContainer waits until container id, of service, runs and is ready
// as waitReady has it, then until it has run for opts.Steady since it
// started, unrestarted and not unhealthy: a container that crashes a
// second after its healthcheck passed never gets a request. A
// *NotReadyError says why it is not.
func (e *Engine) awaitContainer(ctx context.Context, s *session, project, service, id string, opts ApplyOptions) (ServiceState, error) {
	timeout := opts.WaitTimeout
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var first *ServiceState // first seen ready
	upSince := map[string]time.Time{}
	for {
		st, err := e.inspectReadyID(ctx, service, id)
		if err != nil {
			return st, err
		}
		switch {
		case first != nil && !steadyAs(*first, st):
			if st.State == "running" && st.Health != "unhealthy" && st.Error == "" {
				st.Error = fmt.Sprintf("it exited and the engine restarted it (%d restarts)", st.Restarts)
			}
			s.on(st.event(), api.Error, "Not steady: "+st.Condition())
			return st, &NotReadyError{Instance: project, Services: []ServiceState{st}, Within: opts.Steady}
		case first == nil && st.settled() && !st.Ready():
			s.on(st.event(), api.Error, "Not ready: "+st.Condition())
			return st, &NotReadyError{Instance: project, Services: []ServiceState{st}}
		case first == nil && st.Ready() && (st.Health != "" || steady(upSince, st)):
			first = &st
			s.on(st.event(), api.Working, "Ready; to stay up "+opts.Steady.String()+" before it gets requests")
		}
		if first != nil && time.Since(st.StartedAt) >= opts.Steady {
			s.on(st.event(), api.Done, "Ready")
			return st, nil
		}
		if time.Now().After(deadline) {
			s.on(st.event(), api.Error, "Not ready: "+st.Condition())
			return st, &NotReadyError{Instance: project, Services: []ServiceState{st}, Timeout: timeout}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-tick.C:
		}
	}
}

// inspectReadyID is inspectReady for a container by ID: of two containers
// of one service, the new one.
func (e *Engine) inspectReadyID(ctx context.Context, service, id string) (ServiceState, error) {
	res, err := e.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if errdefs.IsNotFound(err) {
		return ServiceState{Service: service, State: "missing", Error: "the container was removed"}, nil
	}
	if err != nil {
		return ServiceState{}, fmt.Errorf("inspect %s: %w", service, err)
	}
	c := res.Container
	st := stateOf(service, c)
	if !shouldProbe(c, e.api.ClientVersion(), time.Now()) {
		return st, nil
	}
	ok, err := e.probe(ctx, c)
	switch {
	case err == nil:
		st.checked = ok
	case ctx.Err() != nil:
		return st, ctx.Err()
	case !errors.Is(err, context.DeadlineExceeded):
		e.log.Debug("healthcheck run by wbd failed to run", "container", st.Container, "error", err)
	}
	return st, nil
}
