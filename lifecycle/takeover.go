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
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/render"
)

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
	timeout := opts.waitTimeout()
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
