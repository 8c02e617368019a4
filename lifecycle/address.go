package lifecycle

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/moby/client"
)

// ServiceAddress returns the address of a running service container of
// instance name on its project network, port attached: where this machine
// reaches an unpublished service such as redis. It is only reachable when
// the engine runs on this machine.
func (e *Engine) ServiceAddress(ctx context.Context, name, service string, port int) (string, error) {
	in, err := e.observeOwned(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, service, err)
	}
	c, ok := in.byService()[service]
	if !ok {
		return "", fmt.Errorf("%s has no %s container; apply it first", name, service)
	}
	res, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, service, err)
	}
	if res.Container.State == nil || !res.Container.State.Running {
		return "", fmt.Errorf("%s %s is not running", name, service)
	}
	if res.Container.NetworkSettings != nil {
		for _, n := range res.Container.NetworkSettings.Networks {
			if n != nil && n.IPAddress.IsValid() {
				return net.JoinHostPort(n.IPAddress.String(), fmt.Sprint(port)), nil
			}
		}
	}
	return "", fmt.Errorf("%s %s has no network address", name, service)
}
