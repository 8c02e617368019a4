package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ApplyOptions tunes Apply.
type ApplyOptions struct {
	// Adopt replaces the containers of the imperative CLI (see Legacy)
	// instead of refusing.
	Adopt bool
	// WaitTimeout bounds the wait for containers to run and be healthy;
	// zero means two minutes.
	WaitTimeout time.Duration
	// Steady is how long the containers Apply starts, and those it finds
	// started less than Steady ago, must keep running since they started,
	// unrestarted and not unhealthy; zero skips the watch.
	Steady time.Duration
	// OnProgress, when set, hears every progress event of the operation,
	// those of a pull's layers too (what is in progress; a watchdog).
	OnProgress func(Progress)
}

// Action is what a step does, or did, to a service's container.
type Action string

const (
	ActionCreate    Action = "create"
	ActionRecreate  Action = "recreate"
	ActionStart     Action = "start" // same container, was not running
	ActionUnchanged Action = "unchanged"
	ActionRemove    Action = "remove" // orphan: its service left the project
)

// Report is what Apply or Restart did.
type Report struct {
	Instance string
	Services []ServiceReport // in start order, then removed orphans
	Adopted  []Container     // legacy containers replaced
	Warnings []string
	// Renamed lists the containers an interrupted recreate left under a
	// temporary name that Apply gave back theirs, "ID_app -> app", or
	// removed, never started, beside the one they were to replace.
	Renamed []string
	// Touched is set once Apply acted on a container or network: an
	// error before that changed nothing.
	Touched bool
	// Pulled lists the images to pull and never run that Apply pulled.
	Pulled []string
}

// ServiceReport is what happened to one service.
type ServiceReport struct {
	ServiceState        // as seen at the end
	Action       Action // what was done
	ContainerID  string
}

// Apply brings instance project.Name to project, like `docker compose up -d
// --remove-orphans --wait`: it creates what is missing, recreates the
// containers whose configuration or image changed (compose's config hash),
// leaves the others untouched, removes orphans, starts everything and waits
// until it runs and is healthy. With nothing to change it touches nothing
// and, when every container is ready and steady already, returns at once
// (see Confirm). An optional service (redis) that does not start is a
// warning in the Report. Apply refuses with a *LegacyError when
// the imperative CLI's containers are in the way, unless opts.Adopt.
func (e *Engine) Apply(ctx context.Context, project *types.Project, opts ApplyOptions) (Report, error) {
	p, missing, err := e.desired(ctx, project)
	if err != nil {
		return Report{}, fmt.Errorf("apply%s: %w", nameOf(project), err)
	}
	if len(missing) > 0 {
		return Report{Instance: p.Name}, fmt.Errorf("apply %s: %w", p.Name, missingError(missing))
	}
	log := e.log.With(keyInstance, p.Name)
	rep := Report{Instance: p.Name}
	in, err := e.observeOwned(ctx, p.Name)
	if err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	var legacy []Container
	var own map[string]container.InspectResponse
	if ownsNames(p, in) {
		own, err = e.inspectOwn(ctx, in)
	} else {
		legacy, own, err = e.holders(ctx, p)
	}
	if err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	if len(legacy) > 0 && !opts.Adopt {
		return rep, &LegacyError{Instance: p.Name, Containers: legacy}
	}
	pulled, err := e.pullExtra(ctx, project)
	if err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	rep.Pulled = pulled
	if len(legacy) == 0 {
		if services, ok := e.unchanged(ctx, p, in, own); ok {
			held, err := e.hold(ctx, p, services, opts)
			held.Pulled = pulled
			return held, err
		}
	}
	s, err := e.sessionWith(e.progress, opts.OnProgress)
	if err != nil {
		return rep, err
	}
	// Pull first: what can fail without side effects fails before a
	// legacy instance is stopped for adoption.
	if err := e.pullMissing(ctx, s, p); err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	if err := e.ensureEdgeImage(ctx, s, p); err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	if err := e.checkPorts(ctx, p, legacy); err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	rep.Touched = true
	if len(legacy) > 0 {
		log.Info("adopting legacy containers", keyContainers, containerNames(legacy))
		warnings, err := e.adopt(ctx, s, p.Name, legacy)
		rep.Warnings = append(rep.Warnings, warnings...)
		if err != nil {
			return rep, err
		}
		rep.Adopted = legacy
	}
	// An interrupted start-first rollout leaves two app containers; the
	// edge says which one serves.
	if settled, err := e.resolveOverlap(ctx, s, p, in); len(settled) > 0 || err != nil {
		rep.Renamed = append(rep.Renamed, settled...)
		if err != nil {
			return rep, fmt.Errorf("apply %s: %w", p.Name, err)
		}
		e.awaitNames(ctx, project)
		if in, err = e.observeOwned(ctx, p.Name); err != nil {
			return rep, fmt.Errorf("apply %s: %w", p.Name, err)
		}
	}
	// An interrupted recreate leaves a container named ID_NAME that compose
	// keeps; the plan's names are how containers find each other.
	if ms := misnamed(p, in); len(ms) > 0 {
		renamed, err := e.FixNames(ctx, ms)
		if len(renamed) > 0 {
			log.Warn("put right the names an interrupted recreate left", "renamed", renamed)
		}
		rep.Renamed = append(rep.Renamed, renamed...)
		if err != nil {
			return rep, fmt.Errorf("apply %s: %w", p.Name, err)
		}
		if len(renamed) > 0 {
			e.awaitNames(ctx, project)
		}
	}
	// With the edge, the new app container starts beside the old one.
	if err := e.startFirst(ctx, s, p, in, opts); err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	err = s.compose.Create(ctx, p, api.CreateOptions{
		RemoveOrphans:        true,
		Recreate:             api.RecreateDiverged,
		RecreateDependencies: api.RecreateDiverged,
	})
	if err != nil {
		return rep, fmt.Errorf("apply %s: create: %w", p.Name, err)
	}
	started, err := e.startAll(ctx, s, p, opts.WaitTimeout, e.untouched(ctx, p.Name, in))
	if started != nil {
		rep.Warnings = append(rep.Warnings, started.warnings...)
		rep.Services = e.compare(ctx, p.Name, in, started.states)
	}
	if err == nil {
		rep.Warnings = append(rep.Warnings, e.aimEdge(ctx, s, p)...)
	}
	return e.finish(ctx, p, rep, opts, err)
}

// finish ends an apply whose containers were waited for with err: it
// holds them to the steady window, logs the warnings and names the
// instance in the error.
func (e *Engine) finish(ctx context.Context, p *types.Project, rep Report, opts ApplyOptions, err error) (Report, error) {
	if err == nil && opts.Steady > 0 {
		var warnings []string
		warnings, err = e.settle(ctx, p, rep.Services, opts.Steady)
		rep.Warnings = append(rep.Warnings, warnings...)
	}
	log := e.log.With(keyInstance, p.Name)
	for _, w := range rep.Warnings {
		log.Warn(w)
	}
	if err != nil {
		return rep, fmt.Errorf("apply %s: %w", p.Name, err)
	}
	return rep, nil
}

// Summary says what Apply did, grouped by action:
// "app recreated; postgres, redis unchanged".
func (r Report) Summary() string {
	var order []Action
	by := map[Action][]string{}
	for _, s := range r.Services {
		if _, ok := by[s.Action]; !ok {
			order = append(order, s.Action)
		}
		by[s.Action] = append(by[s.Action], s.Service)
	}
	var parts []string
	for _, a := range order {
		parts = append(parts, strings.Join(by[a], ", ")+" "+a.pastTense())
	}
	if len(r.Adopted) > 0 {
		parts = append(parts, fmt.Sprintf("%d legacy containers adopted", len(r.Adopted)))
	}
	if len(r.Renamed) > 0 {
		parts = append(parts, "renamed "+strings.Join(r.Renamed, ", "))
	}
	if len(r.Pulled) > 0 {
		parts = append(parts, "pulled "+strings.Join(r.Pulled, ", "))
	}
	return strings.Join(parts, "; ")
}

func (a Action) pastTense() string {
	switch a {
	case ActionCreate:
		return "created"
	case ActionRecreate:
		return "recreated"
	case ActionStart:
		return "started"
	case ActionRemove:
		return "removed"
	}
	return string(a)
}

// inTheWay returns the legacy containers holding the project's container
// names, and refuses when a container holding one of those names belongs
// to something else.
func (e *Engine) inTheWay(ctx context.Context, p *types.Project) ([]Container, error) {
	legacy, _, err := e.holders(ctx, p)
	return legacy, err
}

// holders is inTheWay that also returns what the engine said of the
// instance's own containers holding the project's names, by service.
func (e *Engine) holders(ctx context.Context, p *types.Project) ([]Container, map[string]container.InspectResponse, error) {
	legacy, err := e.Legacy(ctx, p.Name)
	if err != nil {
		return nil, nil, err
	}
	var foreign []string
	own := map[string]container.InspectResponse{}
	for _, svc := range p.Services {
		name := containerName(p, svc)
		c, err := e.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			continue // not found, or gone meanwhile: compose will say
		}
		labels := c.Container.Config.Labels
		switch {
		case labels[api.ProjectLabel] == p.Name && owned(labels):
			own[svc.Name] = c.Container
		case labels[api.ProjectLabel] == "" && slices.ContainsFunc(legacy, func(l Container) bool { return l.ID == c.Container.ID }):
		default:
			foreign = append(foreign, "container "+name)
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		return nil, nil, &NotOwnedError{Instance: p.Name, Resources: foreign}
	}
	return legacy, own, nil
}

// untouched lists the services whose container before, running then,
// still runs as the same container: compose left it as it was.
func (e *Engine) untouched(ctx context.Context, name string, before *instance) map[string]bool {
	now, err := e.observe(ctx, name)
	if err != nil {
		return nil // every service is started, as compose would
	}
	prev, cur := before.byService(), now.byService()
	out := map[string]bool{}
	for svc, c := range cur {
		if b, ok := prev[svc]; ok && b.ID == c.ID && b.State == container.StateRunning && c.State == container.StateRunning {
			out[svc] = true
		}
	}
	return out
}

// inspectOwn is holders for an instance whose own containers hold all its
// names (see ownsNames): what the engine says of each, by service.
func (e *Engine) inspectOwn(ctx context.Context, in *instance) (map[string]container.InspectResponse, error) {
	own := map[string]container.InspectResponse{}
	for svc, c := range in.byService() {
		res, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			continue // gone meanwhile: not unchanged, and compose will say
		}
		own[svc] = res.Container
	}
	return own, nil
}

// compare tells, per service, what happened between before and the states
// seen at the end.
func (e *Engine) compare(ctx context.Context, name string, before *instance, after []ServiceState) []ServiceReport {
	prev := before.byService()
	now, err := e.observe(ctx, name)
	if err != nil {
		now = &instance{}
	}
	cur := now.byService()
	var out []ServiceReport
	for _, st := range after {
		r := ServiceReport{ServiceState: st, Action: ActionUnchanged}
		c, had := prev[st.Service]
		n, has := cur[st.Service]
		r.ContainerID = n.ID
		switch {
		case !had:
			r.Action = ActionCreate
		case has && n.ID != c.ID:
			r.Action = ActionRecreate
		case c.State != container.StateRunning && st.State == "running":
			r.Action = ActionStart
		}
		out = append(out, r)
		delete(prev, st.Service)
	}
	for _, svc := range inStopOrder(keys(prev)) {
		if _, still := cur[svc]; still {
			continue
		}
		c := prev[svc]
		out = append(out, ServiceReport{
			ServiceState: ServiceState{Service: svc, Container: toContainer(c).Name, State: "removed"},
			Action:       ActionRemove,
			ContainerID:  c.ID,
		})
	}
	return out
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// awaitNames waits, a few seconds at most, until the engine's container
// list shows the names FixNames gave back: compose reads that list to name
// a recreated container, and a list still showing ID_NAME makes it create
// the new container under a name the old one holds.
func (e *Engine) awaitNames(ctx context.Context, project *types.Project) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ms, err := e.Misnamed(ctx, project); err != nil || len(ms) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval / 2):
		}
	}
}
