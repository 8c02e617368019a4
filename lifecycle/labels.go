package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/render"
)

// Labels render sets on every service and network of an instance, defined
// there.
const (
	LabelManaged  = render.LabelManaged  // "true"
	LabelInstance = render.LabelInstance // the instance name
)

// Container is a container as found on the engine.
type Container struct {
	ID      string
	Name    string
	Service string // compose's service label; "" when it has none
	Image   string
	State   string // created, running, exited, ...
}

func toContainer(c container.Summary) Container {
	name := ""
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	return Container{
		ID:      c.ID,
		Name:    name,
		Service: c.Labels[api.ServiceLabel],
		Image:   c.Image,
		State:   string(c.State),
	}
}

func owned(labels map[string]string) bool {
	return labels[LabelManaged] == "true"
}

func projectFilter(name string) client.Filters {
	return make(client.Filters).Add("label", api.ProjectLabel+"="+name)
}

// instance is what the engine holds for one compose project.
type instance struct {
	name       string
	containers []container.Summary // owned service containers (one-offs left out)
	networks   []string            // owned network names
	foreign    []string            // project resources wbd does not manage
}

// observe lists the instance's containers and networks by compose's project
// label and splits them into owned and foreign.
func (e *Engine) observe(ctx context.Context, name string) (*instance, error) {
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: projectFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", name, err)
	}
	ns, err := e.api.NetworkList(ctx, client.NetworkListOptions{Filters: projectFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list networks of %s: %w", name, err)
	}
	return split(name, cs.Items, ns.Items), nil
}

// split sorts what the engine lists of compose project name into owned
// and foreign.
func split(name string, cs []container.Summary, ns []network.Summary) *instance {
	in := &instance{name: name}
	for _, c := range cs {
		switch {
		case !owned(c.Labels):
			in.foreign = append(in.foreign, "container "+toContainer(c).Name)
		case c.Labels[api.OneoffLabel] != "True":
			in.containers = append(in.containers, c)
		}
	}
	for _, n := range ns {
		if owned(n.Labels) {
			in.networks = append(in.networks, n.Name)
		} else {
			in.foreign = append(in.foreign, "network "+n.Name)
		}
	}
	return in
}

// observeOwned is observe, refusing when the project holds foreign resources.
func (e *Engine) observeOwned(ctx context.Context, name string) (*instance, error) {
	in, err := e.observe(ctx, name)
	if err != nil {
		return nil, err
	}
	return in, in.ownedOnly()
}

// ownedOnly refuses an instance whose project holds foreign resources.
func (in *instance) ownedOnly() error {
	if len(in.foreign) > 0 {
		return &NotOwnedError{Instance: in.name, Resources: in.foreign}
	}
	return nil
}

// byService returns the instance's containers keyed by service.
func (in *instance) byService() map[string]container.Summary {
	m := make(map[string]container.Summary, len(in.containers))
	for _, c := range in.containers {
		m[c.Labels[api.ServiceLabel]] = c
	}
	return m
}

// Projects returns the names of the wbd-managed compose projects on the
// engine, sorted: those with a container or a network carrying both
// io.wbd.managed=true and compose's project label.
func (e *Engine) Projects(ctx context.Context) ([]string, error) {
	inv, err := e.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(inv))
	for i, p := range inv {
		names[i] = p.Name
	}
	return names, nil
}
