package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Project is a wbd-managed compose project as the engine lists it.
type Project struct {
	Name string
	// WorkingDirs are the compose working directories its containers were
	// created with: render's projects use the instance directory
	// {root}/NAME, so a daemon can tell its own instances from those of
	// another instances.yaml on the same engine. Empty when only the
	// network is left.
	WorkingDirs []string
	Containers  int
	Networks    int
}

// Inventory lists the wbd-managed compose projects on the engine, sorted by
// name, as Projects does, with what each holds there.
func (e *Engine) Inventory(ctx context.Context) ([]Project, error) {
	f := make(client.Filters).Add("label", LabelManaged+"=true", api.ProjectLabel)
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list wbd containers: %w", err)
	}
	ns, err := e.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list wbd networks: %w", err)
	}
	return inventory(cs.Items, ns.Items), nil
}

// inventory groups the wbd containers and networks listed by project.
func inventory(cs []container.Summary, ns []network.Summary) []Project {
	byName := map[string]*Project{}
	get := func(name string) *Project {
		p, ok := byName[name]
		if !ok {
			p = &Project{Name: name}
			byName[name] = p
		}
		return p
	}
	for _, c := range cs {
		p := get(c.Labels[api.ProjectLabel])
		p.Containers++
		if wd := c.Labels[api.WorkingDirLabel]; wd != "" && !slices.Contains(p.WorkingDirs, wd) {
			p.WorkingDirs = append(p.WorkingDirs, wd)
		}
	}
	for _, n := range ns {
		get(n.Labels[api.ProjectLabel]).Networks++
	}
	out := make([]Project, 0, len(byName))
	for _, p := range byName {
		slices.Sort(p.WorkingDirs)
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Project) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Ping checks that the engine still answers; an *UnreachableError when not.
func (e *Engine) Ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := e.api.Ping(pctx, client.PingOptions{}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Host: e.api.DaemonHost(), Addr: e.api.DaemonHost(), Err: err}
	}
	return nil
}
