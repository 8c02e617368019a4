package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/wbd-dev/wbd/render"
)

// Plan is what Apply would do to an instance.
type Plan struct {
	Instance string
	Services []ServicePlan // in start order, then removals
	// Legacy lists the imperative CLI's containers in the way: Apply
	// refuses unless ApplyOptions.Adopt, which replaces them.
	Legacy []Container
	// Renames lists containers an interrupted recreate left under a
	// temporary name, which Apply gives back their names, or removes
	// when they never started beside the one they were to replace.
	Renames []Misnamed
	// Pull lists the images to pull and never run (render.PullImages)
	// that the engine lacks: Apply pulls them.
	Pull []string
}

// Empty reports whether Apply would change nothing.
func (p Plan) Empty() bool {
	return len(p.Legacy) == 0 && len(p.Renames) == 0 && len(p.Pull) == 0 && !slices.ContainsFunc(p.Services, func(s ServicePlan) bool {
		return s.Action != ActionUnchanged
	})
}

// ServicePlan is what Apply would do to one service.
type ServicePlan struct {
	Service   string
	Container string
	Action    Action
	Changes   []Change // why it would be recreated
}

// Change is one setting that differs between the file and the container.
type Change struct {
	Field  string // image, environment, command, entrypoint, mounts, ports, labels, ...
	Detail string // what differs; environment values are not shown
}

func (c Change) String() string { return c.Field + ": " + c.Detail }

// Plan compares project with what runs on the engine, changing nothing.
// A required env file that does not exist yet (an instance is planned
// before it is prepared, and preparing writes its secret_env file) reads as
// empty: a service without a container is created either way; one with a
// container is planned as recreated, the file named as the reason, since
// its environment is known only once apply has written it.
func (e *Engine) Plan(ctx context.Context, project *types.Project) (Plan, error) {
	return e.plan(ctx, nil, project)
}

// PlanIn is Plan against the engine as snap saw it: an instance whose
// containers all hold their names costs no request but the inspect of
// each image not yet asked in snap (Plan lists the instance's containers
// and networks, and inspects each image). A remote host's env files are read
// once and kept until an Apply reads them again: planning an instance
// with secret_env does not start a helper container each time.
func (e *Engine) PlanIn(ctx context.Context, snap *Snapshot, project *types.Project) (Plan, error) {
	return e.plan(ctx, snap, project)
}

func (e *Engine) plan(ctx context.Context, snap *Snapshot, project *types.Project) (Plan, error) {
	p, missing, err := e.desiredWith(ctx, project, snap != nil)
	if err != nil {
		return Plan{}, fmt.Errorf("plan%s: %w", nameOf(project), err)
	}
	var in *instance
	if snap != nil {
		in = snap.instance(p.Name)
		err = in.ownedOnly()
	} else {
		in, err = e.observeOwned(ctx, p.Name)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("plan %s: %w", p.Name, err)
	}
	// When each of the project's names is held by the instance's own
	// container, nothing can be in the way: no lookup of the names.
	var legacy []Container
	if !ownsNames(p, in) {
		legacy, err = e.inTheWay(ctx, p)
		if err != nil {
			return Plan{}, fmt.Errorf("plan %s: %w", p.Name, err)
		}
	}
	plan := Plan{Instance: p.Name, Legacy: legacy, Renames: misnamed(p, in)}
	if plan.Pull, err = e.missingImages(ctx, render.PullImages(project)); err != nil {
		return Plan{}, fmt.Errorf("plan %s: %w", p.Name, err)
	}
	cur := in.byService()
	for _, name := range inStartOrder(p.ServiceNames()) {
		svc := p.Services[name]
		sp := ServicePlan{Service: name, Container: containerName(p, svc), Action: ActionCreate}
		if c, ok := cur[name]; ok {
			sp.Changes, err = e.changes(ctx, snap, p, svc, c)
			if err != nil {
				return Plan{}, fmt.Errorf("plan %s: %s: %w", p.Name, name, err)
			}
			sp.Changes = append(unknownEnv(missing, name), sp.Changes...)
			switch {
			case len(sp.Changes) > 0:
				sp.Action = ActionRecreate
			case c.State != container.StateRunning:
				sp.Action = ActionStart
			default:
				sp.Action = ActionUnchanged
			}
		}
		plan.Services = append(plan.Services, sp)
		delete(cur, name)
	}
	for _, name := range inStopOrder(keys(cur)) {
		c := toContainer(cur[name])
		plan.Services = append(plan.Services, ServicePlan{Service: name, Container: c.Name, Action: ActionRemove})
	}
	return plan, nil
}

// upToDate reports whether c matches svc the way compose decides it: same
// config hash, and created from the image svc.Image names now.
func (e *Engine) upToDate(ctx context.Context, snap *Snapshot, svc types.ServiceConfig, c container.Summary) (sameConfig, sameImage bool, err error) {
	hash, err := compose.ServiceHash(svc)
	if err != nil {
		return false, false, err
	}
	ids, err := e.images(ctx, snap, svc.Image)
	if err != nil {
		return false, false, err
	}
	return hash == c.Labels[api.ConfigHashLabel], slices.Contains(ids, c.Labels[api.ImageDigestLabel]), nil
}

// imageIDs returns the identities compose may have recorded for the local
// image ref: its ID, and on engines that list them (API 1.48+) the digests
// of its image manifests. None when the image is not present.
func (e *Engine) imageIDs(ctx context.Context, ref string) ([]string, error) {
	var opts []client.ImageInspectOption
	if versions.GreaterThanOrEqualTo(e.APIVersion(), "1.48") {
		opts = append(opts, client.ImageInspectWithManifests(true))
	}
	res, err := e.api.ImageInspect(ctx, ref, opts...)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	ids := []string{res.ID}
	for _, m := range res.Manifests {
		if m.Kind == image.ManifestKindImage && m.Available {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

// changes lists why c would be recreated to match svc; none when it would not.
func (e *Engine) changes(ctx context.Context, snap *Snapshot, p *types.Project, svc types.ServiceConfig, c container.Summary) ([]Change, error) {
	sameConfig, sameImage, err := e.upToDate(ctx, snap, svc, c)
	if err != nil || (sameConfig && sameImage) {
		return nil, err
	}
	ctr, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", toContainer(c).Name, err)
	}
	img, err := e.api.ImageInspect(ctx, ctr.Container.Image)
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("inspect image of %s: %w", toContainer(c).Name, err)
	}
	var changes []Change
	if !sameConfig {
		changes = diff(p, svc, ctr.Container, img.InspectResponse)
	}
	if !sameImage && !slices.ContainsFunc(changes, func(ch Change) bool { return ch.Field == "image" }) {
		changes = append(changes, Change{Field: "image", Detail: svc.Image + " is now a different image (or is not present and will be pulled)"})
	}
	if len(changes) == 0 {
		changes = append(changes, Change{Field: "config", Detail: "compose config hash differs"})
	}
	return changes, nil
}

// String says what the plan would change, in a line:
// "app recreate (image: a -> b)".
func (p Plan) String() string {
	var parts []string
	if len(p.Legacy) > 0 {
		parts = append(parts, fmt.Sprintf("%d legacy containers in the way", len(p.Legacy)))
	}
	for _, m := range p.Renames {
		if m.Overlap {
			parts = append(parts, m.Service+" settle ("+m.Name+" beside "+m.Want+", left by an interrupted start-first rollout: the one the edge sends requests to stays)")
			continue
		}
		if m.Unstarted {
			parts = append(parts, m.Service+" remove ("+m.Name+": never started; "+m.Want+" still runs)")
			continue
		}
		parts = append(parts, m.Service+" rename ("+m.Name+" -> "+m.Want+")")
	}
	for _, img := range p.Pull {
		parts = append(parts, "pull "+img)
	}
	for _, s := range p.Services {
		if s.Action == ActionUnchanged {
			continue
		}
		part := s.Service + " " + string(s.Action)
		if len(s.Changes) > 0 {
			why := make([]string, len(s.Changes))
			for i, c := range s.Changes {
				why[i] = c.String()
			}
			part += " (" + strings.Join(why, "; ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}
