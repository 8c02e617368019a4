package render

import (
	"errors"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/spec"
)

// The edge is one service of the project, named so, and the app it stands
// in front of another: lifecycle finds them by these names, and reads the
// edge's settings that are not the container's from its extension, which
// compose keeps out of the container's config hash (a new drain changes
// no container).
const (
	EdgeService = "edge"
	AppService  = "app"
	// EdgeExtension holds {drain: "30s"} on the edge service.
	EdgeExtension = "x-wbd-edge"
)

// ErrEdgeTemplate: edge is on and the template renders no edge.
var ErrEdgeTemplate = errors.New("the template renders no edge")

// checkEdge refuses a project without the edge when in has one: the app
// would publish nothing, or rollouts would go on without the edge
// unnoticed. A service named edge without the extension is not wbd's.
func checkEdge(in *spec.Instance, p *types.Project) error {
	if in.Edge == nil {
		return nil
	}
	if svc, ok := p.Services[EdgeService]; !ok || svc.Extensions[EdgeExtension] == nil {
		return fmt.Errorf("%w: edge is on, and the project has no %q service with %s (the built-in template has one)", ErrEdgeTemplate, EdgeService, EdgeExtension)
	}
	return nil
}
