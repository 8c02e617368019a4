package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/render"
)

// resolveOverlap settles what a start-first rollout cut short (wbd killed)
// leaves: two started app containers, the old one named NAME and the new
// one under compose's temporary name. The one the edge sends requests to,
// as its kept target says, stays; the other is drained by the edge,
// stopped and removed; the one that stays gets the name NAME. When the
// edge names neither, the one named NAME stays, the app the rollout began
// from. It returns what it did, as Report.Renamed says it.
func (e *Engine) resolveOverlap(ctx context.Context, s *session, p *types.Project, in *instance) ([]string, error) {
	var apps []container.Summary
	var edgeC *container.Summary
	for i, c := range in.containers {
		switch c.Labels[api.ServiceLabel] {
		case render.AppService:
			if c.State != container.StateCreated { // a never started one is FixNames'
				apps = append(apps, c)
			}
		case render.EdgeService:
			edgeC = &in.containers[i]
		}
	}
	if len(apps) < 2 {
		return nil, nil
	}
	want := containerName(p, p.Services[render.AppService])
	target := ""
	if edgeC != nil {
		t, err := e.edgeTarget(ctx, edgeC.ID)
		if err != nil {
			e.log.Warn("cannot read the edge's target; keeping the app container named "+want, keyInstance, p.Name, "error", err)
		}
		target, _, _ = strings.Cut(t, ":")
	}
	keep, why := pickOverlap(apps, target, want)
	keepName := toContainer(keep).Name
	var done []string
	es, hasEdge := edgeOf(p)
	if edgeC != nil && hasEdge && edgeC.State == container.StateRunning {
		// Every new request to the one that stays, and the requests
		// still in flight on the other their drain.
		s.on("Container "+toContainer(*edgeC).Name, api.Working, "Sending every request to "+keepName)
		sctx, cancel := context.WithTimeout(ctx, es.drain+edgeCtlTimeout)
		_, err := e.edgeSwitch(sctx, edgeC.ID, keep.ID, es, switchMode{})
		cancel()
		if err != nil {
			return done, fmt.Errorf("two app containers of an interrupted rollout: %w", err)
		}
	}
	for _, c := range apps {
		if c.ID == keep.ID {
			continue
		}
		name := toContainer(c).Name
		if _, err := e.api.ContainerStop(ctx, c.ID, client.ContainerStopOptions{}); err != nil && !errdefs.IsNotFound(err) {
			return done, fmt.Errorf("stop %s, left beside %s by an interrupted rollout: %w", name, keepName, err)
		}
		if _, err := e.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			return done, fmt.Errorf("remove %s, left beside %s by an interrupted rollout: %w", name, keepName, err)
		}
		s.on("Container "+name, api.Done, "Removed: "+why)
		done = append(done, fmt.Sprintf("%s removed (%s)", name, why))
	}
	if keepName != want {
		if _, err := e.api.ContainerRename(ctx, keep.ID, client.ContainerRenameOptions{NewName: want}); err != nil {
			return done, fmt.Errorf("rename %s to %s: %w", keepName, want, err)
		}
		done = append(done, keepName+" -> "+want)
	}
	e.log.Warn("settled the app containers an interrupted rollout left", keyInstance, p.Name, "kept", keepName, "done", done)
	return done, nil
}

// pickOverlap chooses which of two started app containers stays: the
// edge's target (the short ID in target) while it runs, else the one named
// want while it runs, else one that runs, else the one named want.
func pickOverlap(apps []container.Summary, target, want string) (container.Summary, string) {
	running := func(c container.Summary) bool { return c.State == container.StateRunning }
	for _, c := range apps {
		if target != "" && strings.HasPrefix(c.ID, target) && running(c) {
			return c, "the edge sends requests to " + toContainer(c).Name
		}
	}
	for _, pass := range []func(container.Summary) bool{
		func(c container.Summary) bool { return toContainer(c).Name == want && running(c) },
		running,
		func(c container.Summary) bool { return toContainer(c).Name == want },
	} {
		for _, c := range apps {
			if pass(c) {
				return c, toContainer(c).Name + " kept: the edge names neither"
			}
		}
	}
	return apps[0], toContainer(apps[0]).Name + " kept"
}

// aimEdge sends the edge's requests to the app by name again, once an
// apply is done: the short ID a rollout switched it to has served to tell
// two app containers apart, and a name always resolves on the instance's
// network, while the ID of a container the app was recreated as, without
// the edge (by compose by hand), is looked up in vain. The requests in
// flight go on to their end: it is the same container. A warning says why
// it could not.
func (e *Engine) aimEdge(ctx context.Context, s *session, p *types.Project) []string {
	es, ok := edgeOf(p)
	if !ok {
		return nil
	}
	edgeName := containerName(p, p.Services[render.EdgeService])
	ed, err := e.api.ContainerInspect(ctx, edgeName, client.ContainerInspectOptions{})
	if err != nil || ed.Container.State == nil || !ed.Container.State.Running {
		return nil
	}
	target, err := e.edgeTarget(ctx, ed.Container.ID)
	if err != nil {
		return []string{err.Error()}
	}
	if target == "" {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, edgeCtlTimeout)
	defer cancel()
	if _, err := e.edgeSwitch(sctx, ed.Container.ID, "", es, switchMode{keep: true}); err != nil {
		return []string{"the edge sends requests to " + target + " rather than to the app by name: " + err.Error()}
	}
	s.on("Container "+edgeName, api.Done, "Sends requests to the app by name")
	return nil
}
