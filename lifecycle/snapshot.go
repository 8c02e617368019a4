package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// A daemon's pass looks at every instance of an engine. Asking the engine
// about each one (a filtered list of containers, one of networks, the
// legacy names, an inspect per container) made dockerd walk all its
// containers a dozen times an instance; a Snapshot asks once for the
// engine and answers each instance's plan from that, inspecting only what
// a list cannot tell: an image's identity, once per image, and the holder
// of a name no container of the instance holds.

// Snapshot is what one engine held when it was taken: the containers of
// compose projects and every network. Plans made from it see the engine as
// it was then. It is safe for concurrent use.
type Snapshot struct {
	Taken time.Time
	// Projects is what Inventory would have listed then.
	Projects []Project

	containers []container.Summary
	networks   []network.Summary

	mu     sync.Mutex
	images map[string]imageIDsResult // by reference
}

type imageIDsResult struct {
	ids []string
	err error
}

// Snapshot lists, in one request each, the containers of compose projects
// (wbd's carry compose's project label beside its own; those of other
// projects are how a foreign resource in an instance's project is seen)
// and the networks on the engine (their subnets are what an instance
// network must not overlap).
func (e *Engine) Snapshot(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{Taken: time.Now(), images: map[string]imageIDsResult{}}
	f := make(client.Filters).Add("label", api.ProjectLabel)
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	ns, err := e.api.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	s.containers, s.networks = cs.Items, ns.Items
	s.Projects = s.inventory()
	return s, nil
}

// instance is what the snapshot holds of compose project name, as observe
// would have listed it.
func (s *Snapshot) instance(name string) *instance {
	var cs []container.Summary
	for _, c := range s.containers {
		if c.Labels[api.ProjectLabel] == name {
			cs = append(cs, c)
		}
	}
	var ns []network.Summary
	for _, n := range s.networks {
		if n.Labels[api.ProjectLabel] == name {
			ns = append(ns, n)
		}
	}
	return split(name, cs, ns)
}

// imageIDs is Engine.imageIDs, asked once per reference for the snapshot.
func (s *Snapshot) imageIDs(ctx context.Context, e *Engine, ref string) ([]string, error) {
	s.mu.Lock()
	r, ok := s.images[ref]
	s.mu.Unlock()
	if ok {
		return r.ids, r.err
	}
	ids, err := e.imageIDs(ctx, ref)
	if ctx.Err() == nil {
		s.mu.Lock()
		s.images[ref] = imageIDsResult{ids, err}
		s.mu.Unlock()
	}
	return ids, err
}

// inventory is Engine.Inventory from the snapshot.
func (s *Snapshot) inventory() []Project {
	var cs []container.Summary
	for _, c := range s.containers {
		if owned(c.Labels) {
			cs = append(cs, c)
		}
	}
	var ns []network.Summary
	for _, n := range s.networks {
		if owned(n.Labels) && n.Labels[api.ProjectLabel] != "" {
			ns = append(ns, n)
		}
	}
	return inventory(cs, ns)
}

// ownsNames reports whether every name p gives a container is held, in
// the snapshot, by in's own container of that service: then no legacy or
// foreign container can be in the way.
func ownsNames(p *types.Project, in *instance) bool {
	cur := in.byService()
	for name, svc := range p.Services {
		c, ok := cur[name]
		if !ok || !slices.Contains(c.Names, "/"+containerName(p, svc)) {
			return false
		}
	}
	return true
}

// images is imageIDs, from snap when there is one.
func (e *Engine) images(ctx context.Context, snap *Snapshot, ref string) ([]string, error) {
	if snap != nil {
		return snap.imageIDs(ctx, e, ref)
	}
	return e.imageIDs(ctx, ref)
}
