package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

// stopOrder is the order the imperative CLI stopped an instance in, after
// the edge in front of the app; starting goes the other way. Services it
// does not name stop first.
var stopOrder = []string{"edge", "app", "admin", "redis", "postgres"}

// stopGrace overrides a service's stop timeout.
var stopGrace = map[string]time.Duration{"postgres": 30 * time.Second}

func stopRank(service string) int {
	return slices.Index(stopOrder, service) // -1 for others: first
}

// inStopOrder sorts services by stopOrder, then by name.
func inStopOrder(services []string) []string {
	s := slices.Clone(services)
	slices.SortStableFunc(s, func(a, b string) int {
		return cmp.Or(cmp.Compare(stopRank(a), stopRank(b)), strings.Compare(a, b))
	})
	return s
}

// inStartOrder is inStopOrder reversed.
func inStartOrder(services []string) []string {
	s := inStopOrder(services)
	slices.Reverse(s)
	return s
}

func graceFor(service string) *time.Duration {
	if d, ok := stopGrace[service]; ok {
		return &d
	}
	return nil
}

// desired returns a copy of project ready for compose on e's engine: see
// desiredFor; and with each service's env files read where the instance
// lives and merged into its environment (see withEnvFiles). Plan and Apply
// both convert through it, so they agree with each other, and with docker
// compose run by hand, on the config hash. It lists the required env files
// that do not exist, for the caller to decide: before an instance is
// prepared, its secret_env file is not written yet.
func (e *Engine) desired(ctx context.Context, project *types.Project) (*types.Project, []missingEnvFile, error) {
	return e.desiredWith(ctx, project, false)
}

// desiredWith is desired; kept takes a remote host's env files as last
// read (see Engine.remoteEnv).
func (e *Engine) desiredWith(ctx context.Context, project *types.Project, kept bool) (*types.Project, []missingEnvFile, error) {
	p, err := desiredFor(project, e.api.ClientVersion())
	if err != nil {
		return nil, nil, err
	}
	missing, err := withEnvFiles(ctx, p, e.envFilesReader(p, kept))
	if err != nil {
		return nil, nil, err
	}
	return p, missing, nil
}

// desiredFor returns a copy of p ready for compose on an engine speaking
// apiVersion. Compose finds its containers by the labels its own loader puts
// in each service's CustomLabels; a project built with compose-go's loader
// (as render/ does) has none, so they are set here. CustomLabels are not
// part of the config hash. On engines that know healthchecks'
// start_interval, each healthcheck with a start period gets one (see
// withStartInterval): the hash then depends on the engine's API version,
// never on anything else; the edge's, on the wbd that applies it, whose
// image the edge runs (see withEdgeImage).
func desiredFor(p *types.Project, apiVersion string) (*types.Project, error) {
	if p == nil || p.Name == "" {
		return nil, errors.New("project has no name")
	}
	q := p.WithServicesDisabled() // a deep copy
	for name, s := range q.Services {
		labels := types.Labels{
			api.ProjectLabel:     q.Name,
			api.ServiceLabel:     name,
			api.VersionLabel:     api.ComposeVersion,
			api.WorkingDirLabel:  q.WorkingDir,
			api.ConfigFilesLabel: strings.Join(q.ComposeFiles, ","),
			api.OneoffLabel:      "False",
		}
		for k, v := range s.CustomLabels {
			labels[k] = v
		}
		s.CustomLabels = labels
		if supportsStartInterval(apiVersion) {
			s.HealthCheck = withStartInterval(s.HealthCheck)
		}
		q.Services[name] = s
	}
	withEdgeImage(q)
	return q, nil
}

// optionalServices are the services every dependent depends on with
// `required: false`: the instance runs without them (redis for the app).
func optionalServices(p *types.Project) []string {
	dependents := map[string]int{}
	required := map[string]bool{}
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			dependents[dep]++
			required[dep] = required[dep] || d.Required
		}
	}
	var optional []string
	for dep, n := range dependents {
		if _, ok := p.Services[dep]; ok && n > 0 && !required[dep] {
			optional = append(optional, dep)
		}
	}
	return dependencyOrder(p, optional)
}

// dependencyOrder sorts names so that each comes after those it depends on.
func dependencyOrder(p *types.Project, names []string) []string {
	slices.Sort(names)
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, dep := range slices.Sorted(maps.Keys(p.Services[name].DependsOn)) {
			visit(dep)
		}
		if slices.Contains(names, name) {
			out = append(out, name)
		}
	}
	for _, name := range names {
		visit(name)
	}
	return out
}

// containerName is the name compose gives the service's container.
func containerName(p *types.Project, s types.ServiceConfig) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return strings.Join([]string{p.Name, s.Name, "1"}, api.Separator)
}
