package lifecycle

import (
	"context"
	"fmt"
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
//
// When the hook fails, the old container must survive whatever compose
// does next: its plan runs operations concurrently, and the removal that
// follows the failed stop may start before compose gives up. Until the
// hook is taken off, every stop, kill and removal of that container
// through compose fails as the hook did.
type stopHooks struct {
	mu      sync.Mutex
	before  map[string]func(context.Context) error // by container ID
	refused map[string]error                       // by container ID: its hook failed
}

// on runs fn before compose stops container id, once; off forgets it.
func (h *stopHooks) on(id string, fn func(context.Context) error) (off func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.before == nil {
		h.before, h.refused = map[string]func(context.Context) error{}, map[string]error{}
	}
	h.before[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.before, id)
		delete(h.refused, id)
	}
}

// run runs the hook of container id, if any, once; an error from it is
// also the answer to what compose asks of id afterwards.
func (h *stopHooks) run(ctx context.Context, id string) error {
	h.mu.Lock()
	fn, err := h.before[id], h.refused[id]
	delete(h.before, id)
	h.mu.Unlock()
	if err != nil || fn == nil {
		return err
	}
	if err := fn(ctx); err != nil {
		h.mu.Lock()
		if h.refused != nil {
			h.refused[id] = err
		}
		h.mu.Unlock()
		return err
	}
	return nil
}

// guard refuses to touch container id while its hook has failed.
func (h *stopHooks) guard(id, what string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.refused[id]; err != nil {
		return fmt.Errorf("not %s: %w", what, err)
	}
	return nil
}

// hookedClient is the engine's client as compose gets it: its stops run
// the hooks first. wbd's own calls go to the client itself.
type hookedClient struct {
	client.APIClient
	hooks *stopHooks
}

func (c hookedClient) ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if err := c.hooks.run(ctx, id); err != nil {
		return client.ContainerStopResult{}, err
	}
	return c.APIClient.ContainerStop(ctx, id, opts)
}

func (c hookedClient) ContainerKill(ctx context.Context, id string, opts client.ContainerKillOptions) (client.ContainerKillResult, error) {
	if err := c.hooks.guard(id, "killed"); err != nil {
		return client.ContainerKillResult{}, err
	}
	return c.APIClient.ContainerKill(ctx, id, opts)
}

func (c hookedClient) ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	if err := c.hooks.guard(id, "removed"); err != nil {
		return client.ContainerRemoveResult{}, err
	}
	return c.APIClient.ContainerRemove(ctx, id, opts)
}
