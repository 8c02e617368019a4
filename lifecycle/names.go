package lifecycle

import (
	"context"
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Misnamed is a container of an instance that does not bear the name the
// project gives it.
type Misnamed struct {
	Container
	Want string // the name the project gives it
	// Unstarted is set when the container holding Want is the one this
	// container was created to replace, and this one never started:
	// Apply removes it rather than renaming it.
	Unstarted bool
	// Overlap is set when this container and the one holding Want are
	// both started containers of one service: a start-first rollout was
	// cut short. Apply keeps the one the edge sends requests to (see
	// resolveOverlap).
	Overlap bool
}

// Misnamed lists the containers of instance project.Name whose name is not
// the one the project gives them. An interrupted recreate leaves such a
// container: compose creates the new one as ID_NAME and renames it only
// once the old one is gone, and Plan (which compares configurations, not
// names) then finds nothing to do; yet the plan's names are how the app
// finds NAME-postgres and NAME-redis, and how operators `docker exec`.
func (e *Engine) Misnamed(ctx context.Context, project *types.Project) ([]Misnamed, error) {
	p, err := desiredFor(project, e.api.ClientVersion())
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	in, err := e.observeOwned(ctx, p.Name)
	if err != nil {
		return nil, fmt.Errorf("names of %s: %w", p.Name, err)
	}
	return misnamed(p, in), nil
}

// misnamed lists in's containers not named as p names them, in stop order.
func misnamed(p *types.Project, in *instance) []Misnamed {
	var out []Misnamed
	holder := map[string]string{} // name -> ID
	started := map[string]bool{}  // name -> it has started
	for _, c := range in.containers {
		ct := toContainer(c)
		holder[ct.Name] = ct.ID
		started[ct.Name] = c.State != container.StateCreated
	}
	for _, c := range in.containers {
		svc, ok := p.Services[c.Labels[api.ServiceLabel]]
		if !ok {
			continue
		}
		ct := toContainer(c)
		if want := containerName(p, svc); ct.Name != want {
			m := Misnamed{Container: ct, Want: want}
			m.Unstarted = unstartedReplacement(m, holder[want])
			m.Overlap = ct.State != string(container.StateCreated) && started[want]
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Misnamed) int { return stopRank(a.Service) - stopRank(b.Service) })
	return out
}

// FixNames renames each misnamed container to its name, when no other
// container holds that name. When the one holding it is the container an
// interrupted recreate was replacing, the misnamed one is that recreate's
// new container, never started: it is removed, since compose, seeing two
// containers of one service, would recreate both and race for the name.
func (e *Engine) FixNames(ctx context.Context, ms []Misnamed) (fixed []string, err error) {
	for _, m := range ms {
		holder, err := e.api.ContainerInspect(ctx, m.Want, client.ContainerInspectOptions{})
		switch {
		case err == nil:
			if !unstartedReplacement(m, holder.Container.ID) {
				continue // the name is another's: compose decides
			}
			if _, err := e.api.ContainerRemove(ctx, m.ID, client.ContainerRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
				return fixed, fmt.Errorf("remove %s, left unstarted by an interrupted recreate: %w", m.Name, err)
			}
			fixed = append(fixed, m.Name+" removed (never started; "+m.Want+" still runs)")
			continue
		case !errdefs.IsNotFound(err):
			return fixed, fmt.Errorf("rename %s: %w", m.Name, err)
		}
		if _, err := e.api.ContainerRename(ctx, m.ID, client.ContainerRenameOptions{NewName: m.Want}); err != nil {
			return fixed, fmt.Errorf("rename %s to %s: %w", m.Name, m.Want, err)
		}
		fixed = append(fixed, m.Name+" -> "+m.Want)
	}
	return fixed, nil
}

// unstartedReplacement reports whether m is the container compose creates
// as ID_NAME to replace container holderID, named NAME, and never started.
func unstartedReplacement(m Misnamed, holderID string) bool {
	return m.State == "created" && len(holderID) >= 12 && m.Name == holderID[:12]+"_"+m.Want
}
