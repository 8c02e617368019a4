package lifecycle

import (
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/edge"
	"github.com/wbd-dev/wbd/render"
)

// An instance with the edge on has an edge service in front of its app
// (render's template: the edge publishes the port and forwards to the app
// container by name). An app rollout then starts the new app container
// beside the old one and switches the edge to it once ready
// (startfirst.go); the edge's target, kept in the edge container, says
// which of two app containers an interrupted rollout left serves
// (overlap.go).

// edgeSpec is what the steps need of a project's edge.
type edgeSpec struct {
	// drain is how long requests in flight on an app container the edge
	// leaves get.
	drain time.Duration
	// port is the app's port, where the edge sends requests.
	port string
}

// edgeOf returns p's edge, when it has wbd's (render.EdgeExtension marks
// it), and an app.
func edgeOf(p *types.Project) (edgeSpec, bool) {
	svc, ok := p.Services[render.EdgeService]
	if _, app := p.Services[render.AppService]; !ok || !app {
		return edgeSpec{}, false
	}
	x, ok := svc.Extensions[render.EdgeExtension].(map[string]any)
	if !ok {
		return edgeSpec{}, false
	}
	es := edgeSpec{drain: 30 * time.Second}
	if s, ok := x["drain"].(string); ok {
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			es.drain = d
		}
	}
	if i := slices.Index(svc.Command, "--target"); i >= 0 && i+1 < len(svc.Command) {
		if _, port, err := net.SplitHostPort(svc.Command[i+1]); err == nil {
			es.port = port
		}
	}
	return es, es.port != ""
}

// withEdgeImage points p's edge at the image of the running wbd: the edge
// always runs the binary that drives it, whatever revision p comes from
// (a rollback to a revision an older wbd rendered keeps today's edge).
// The image is made on the engine by ensureEdgeImage.
func withEdgeImage(p *types.Project) {
	if _, ok := edgeOf(p); !ok {
		return
	}
	x, err := edge.Self()
	if err != nil {
		return // ensureEdgeImage says why
	}
	svc := p.Services[render.EdgeService]
	svc.Image = x.Ref
	p.Services[render.EdgeService] = svc
}

// edgeAddr is where the edge reaches the app container id: by its short
// ID, which Docker's DNS resolves on user-defined networks and which,
// unlike its name, no other container shares while two run.
func edgeAddr(id, port string) string {
	return net.JoinHostPort(shortID(id), port)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// StartFirstError says that the new app container of a start-first rollout
// was not put in front of the clients, and which container kept serving.
// Apply's error around it names the instance.
type StartFirstError struct {
	Instance string
	New      string // the new container's name
	Kept     string // the container that kept serving
	Err      error
}

func (e *StartFirstError) Error() string {
	return fmt.Sprintf("the new app container %s got no request, %s kept serving: %v", e.New, e.Kept, e.Err)
}

func (e *StartFirstError) Unwrap() error { return e.Err }
