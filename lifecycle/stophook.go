package lifecycle

import (
	"context"
	"sync"

	"github.com/moby/moby/client"
)

// stopHooks run a function just before compose stops a given container.
// Compose recreates a container by creating the new one under a temporary
// name, then stopping, removing and renaming: a hook on the old container's
// stop is the moment the new one exists, configured by compose exactly as
// `docker compose up` would, and the old one still serves. A start-first
// rollout starts the new one there, and lets compose go on once the edge
// sends it the traffic (see startFirst).
type stopHooks struct {
	mu     sync.Mutex
	before map[string]func(context.Context) error // by container ID
}

// on runs fn before compose stops container id, once; off forgets it.
func (h *stopHooks) on(id string, fn func(context.Context) error) (off func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.before == nil {
		h.before = map[string]func(context.Context) error{}
	}
	h.before[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.before, id)
	}
}

func (h *stopHooks) take(id string) func(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn := h.before[id]
	delete(h.before, id)
	return fn
}

// hookedClient is the engine's client as compose gets it: its stops run
// the hooks first. wbd's own calls go to the client itself.
type hookedClient struct {
	client.APIClient
	hooks *stopHooks
}

func (c hookedClient) ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if fn := c.hooks.take(id); fn != nil {
		if err := fn(ctx); err != nil {
			return client.ContainerStopResult{}, err
		}
	}
	return c.APIClient.ContainerStop(ctx, id, opts)
}
