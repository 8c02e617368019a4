package lifecycle

import (
	"context"
	"fmt"
	"io"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/cli/cli/streams"
	"github.com/docker/compose/v5/cmd/formatter"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ServiceStatus is one service of an instance as the engine reports it.
type ServiceStatus struct {
	ServiceState        // State is "missing" for a desired service without container
	Image        string // image the container was created from, as named
	// UpToDate tells whether the container matches the desired project
	// (config hash and image); nil when Status was given no project.
	UpToDate *bool
}

// Status reports each service of instance name: its container, state,
// health, image and start time, in start order. With a project, services it
// declares but the engine lacks are listed as "missing", and UpToDate says
// whether each container matches it.
func (e *Engine) Status(ctx context.Context, name string, project *types.Project) ([]ServiceStatus, error) {
	in, err := e.observeOwned(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("status %s: %w", name, err)
	}
	cur := in.byService()
	services := keys(cur)
	if project != nil {
		for svc := range project.Services {
			if _, ok := cur[svc]; !ok {
				services = append(services, svc)
			}
		}
	}
	var out []ServiceStatus
	for _, svc := range inStartOrder(services) {
		st, err := e.serviceStatus(ctx, svc, cur, project)
		if err != nil {
			return nil, fmt.Errorf("status %s: %s: %w", name, svc, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// serviceStatus reports service svc, whose container cur holds if any.
func (e *Engine) serviceStatus(ctx context.Context, svc string, cur map[string]container.Summary, project *types.Project) (ServiceStatus, error) {
	var want types.ServiceConfig
	declared := false
	if project != nil {
		want, declared = project.Services[svc]
	}
	c, ok := cur[svc]
	if !ok {
		return ServiceStatus{ServiceState: ServiceState{Service: svc, State: "missing"}, Image: want.Image, UpToDate: new(false)}, nil
	}
	res, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return ServiceStatus{}, err
	}
	st := ServiceStatus{ServiceState: stateOf(svc, res.Container), Image: c.Image}
	if project == nil {
		return st, nil
	}
	up := false
	if declared {
		sameConfig, sameImage, err := e.upToDate(ctx, nil, want, c)
		if err != nil {
			return ServiceStatus{}, err
		}
		up = sameConfig && sameImage
	}
	st.UpToDate = &up
	return st, nil
}

// Logs writes the logs of one service of instance name (all services when
// service is "") to w, each line prefixed with its container, like docker
// compose logs. tail is a line count or "all" ("" means all); follow keeps
// streaming until ctx ends.
func (e *Engine) Logs(ctx context.Context, name, service string, follow bool, tail string, w io.Writer) error {
	in, err := e.observeOwned(ctx, name)
	if err != nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	opts := api.LogOptions{Follow: follow, Tail: tail}
	if service != "" {
		if _, ok := in.byService()[service]; !ok {
			return fmt.Errorf("logs %s: no container for service %q (services: %v)", name, service, inStartOrder(keys(in.byService())))
		}
		opts.Services = []string{service}
	}
	if len(in.containers) == 0 {
		return fmt.Errorf("logs %s: no containers on the engine", name)
	}
	s, err := e.session(io.Discard)
	if err != nil {
		return err
	}
	color := streams.NewOut(w).IsTerminal()
	if e.color != nil {
		color = *e.color
	}
	consumer := formatter.NewLogConsumer(ctx, w, w, color, true, false)
	if err := s.compose.Logs(ctx, name, consumer, opts); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	return nil
}
