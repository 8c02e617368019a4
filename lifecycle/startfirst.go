package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
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
	changes, err := e.changes(ctx, nil, p, p.Services[render.AppService], old)
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
		if err := createOne(ctx, s, p, render.EdgeService); err != nil {
			return err
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
	err = createOne(ctx, s, p, render.AppService)
	off()
	switch {
	case t.err != nil:
		t.discard(ctx)
		return &StartFirstError{Instance: p.Name, New: t.name, Kept: t.old.Name, Err: t.err}
	case err != nil && !t.switched:
		t.discard(ctx)
		return err
	case err != nil:
		// The edge sends requests to the new container: keep both, the
		// next apply resolves them (see resolveOverlap).
		return fmt.Errorf("after the edge went to %s, replacing %s: %w", t.name, t.old.Name, err)
	}
	if t.edge.Name == "" {
		return e.startEdge(ctx, s, p, opts)
	}
	return nil
}

// renewEdge recreates the running edge container c first when it is to be
// recreated too (a new wbd, whose binary it runs), and returns the new one;
// nil when it is not. That is the one moment its connections are cut; it
// comes first so that the rollout is driven through an edge of this wbd.
func (e *Engine) renewEdge(ctx context.Context, s *session, p *types.Project, c container.Summary, opts ApplyOptions) (*Container, error) {
	changes, err := e.changes(ctx, nil, p, p.Services[render.EdgeService], c)
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	e.log.Info("recreating the edge before the app's rollout", keyInstance, p.Name, "changes", changes)
	if err := createOne(ctx, s, p, render.EdgeService); err != nil {
		return nil, err
	}
	if err := e.startEdge(ctx, s, p, opts); err != nil {
		return nil, err
	}
	states, err := e.waitReady(ctx, s, p.Name, []string{render.EdgeService}, opts.waitTimeout())
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
	return &Container{ID: res.Container.ID, Name: res.Container.Name[1:], Service: render.EdgeService}, nil
}

// createOne has compose create what service lacks or must recreate, and
// nothing of the other services.
func createOne(ctx context.Context, s *session, p *types.Project, service string) error {
	err := s.compose.Create(ctx, p, api.CreateOptions{
		Services:             []string{service},
		Recreate:             api.RecreateDiverged,
		RecreateDependencies: api.RecreateNever,
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", service, err)
	}
	return nil
}

// startEdge starts p's edge alone, the services it depends on running.
func (e *Engine) startEdge(ctx context.Context, s *session, p *types.Project, opts ApplyOptions) error {
	err := e.startWave(ctx, s, p, []string{render.EdgeService}, map[string]bool{}, time.Now().Add(opts.waitTimeout()))
	if err != nil {
		return fmt.Errorf("start %s: %w", render.EdgeService, err)
	}
	return nil
}
