package lifecycle

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"
)

// legacyServices maps the suffix the imperative CLI gave a container name
// to its service.
var legacyServices = map[string]string{"": "app", "-admin": "admin", "-redis": "redis", "-postgres": "postgres"}

// Legacy returns the containers the imperative CLI left for instance name:
// those named NAME, NAME-admin, NAME-redis or NAME-postgres that carry no
// compose project label, in stop order.
func (e *Engine) Legacy(ctx context.Context, name string) ([]Container, error) {
	f := make(client.Filters).Add("name", "^/"+regexp.QuoteMeta(name)+"(-admin|-redis|-postgres)?$")
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list legacy containers of %s: %w", name, err)
	}
	var legacy []Container
	for _, c := range cs.Items {
		if _, compose := c.Labels[api.ProjectLabel]; compose {
			continue
		}
		ct := toContainer(c)
		for suffix, service := range legacyServices {
			if ct.Name == name+suffix {
				ct.Service = service
				legacy = append(legacy, ct)
			}
		}
	}
	slices.SortFunc(legacy, func(a, b Container) int { return stopRank(a.Service) - stopRank(b.Service) })
	return legacy, nil
}

// adopt stops and removes the legacy containers in stop order, keeping their
// volumes (and so their bind-mounted data), then removes the legacy network
// NAME when it has no compose label and nothing else is attached to it.
func (e *Engine) adopt(ctx context.Context, s *session, name string, legacy []Container) (warnings []string, err error) {
	err = s.run(ctx, "adopt", func(ctx context.Context) error {
		for _, c := range legacy {
			if err := e.retire(ctx, s, c); err != nil {
				return fmt.Errorf("adopt %s: %w", c.Name, err)
			}
		}
		w, err := e.retireNetwork(ctx, s, name)
		warnings = w
		return err
	})
	return warnings, err
}

// retire stops then removes a legacy container and waits until it is gone
// (the imperative CLI ran some with --rm: stopping them removes them).
func (e *Engine) retire(ctx context.Context, s *session, c Container) error {
	id := "Container " + c.Name
	var timeout *int
	if d := graceFor(c.Service); d != nil {
		secs := int(d.Seconds())
		timeout = &secs
	}
	s.on(id, api.Working, api.StatusStopping)
	if _, err := e.api.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop: %w", err)
	}
	s.on(id, api.Working, api.StatusRemoving)
	_, err := e.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{RemoveVolumes: false})
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		return fmt.Errorf("remove: %w", err)
	}
	if err := e.waitGone(ctx, c.ID); err != nil {
		return err
	}
	s.on(id, api.Done, api.StatusRemoved)
	return nil
}

// waitGone polls until the container no longer exists.
func (e *Engine) waitGone(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		_, err := e.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if errdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %.12s still there: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// retireNetwork removes the legacy network NAME if it is unused.
func (e *Engine) retireNetwork(ctx context.Context, s *session, name string) ([]string, error) {
	res, err := e.api.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect network %s: %w", name, err)
	}
	n := res.Network
	if _, compose := n.Labels[api.ProjectLabel]; compose || n.Name != name {
		return nil, nil
	}
	if len(n.Containers) > 0 {
		var users []string
		for _, c := range n.Containers {
			users = append(users, c.Name)
		}
		slices.Sort(users)
		return []string{fmt.Sprintf("legacy network %s is still used by %v: left in place, compose will reuse it", name, users)}, nil
	}
	id := "Network " + name
	s.on(id, api.Working, api.StatusRemoving)
	if _, err := e.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("remove legacy network %s: %w", name, err)
	}
	s.on(id, api.Done, api.StatusRemoved)
	return nil, nil
}
