package lifecycle

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
)

// The edge stops first and starts last.
func TestEdgeOrder(t *testing.T) {
	services := []string{"postgres", "app", "edge", "redis"}
	if got, want := inStopOrder(services), []string{"edge", "app", "redis", "postgres"}; !slices.Equal(got, want) {
		t.Errorf("inStopOrder = %v, want %v", got, want)
	}
	if got, want := inStartOrder(services), []string{"postgres", "redis", "app", "edge"}; !slices.Equal(got, want) {
		t.Errorf("inStartOrder = %v, want %v", got, want)
	}
}

func edgeProject(ext any, command ...string) *types.Project {
	edge := types.ServiceConfig{Name: "edge", ContainerSpec: types.ContainerSpec{Command: command}}
	if ext != nil {
		edge.Extensions = types.Extensions{"x-wbd-edge": ext}
	}
	return &types.Project{Name: "x", Services: types.Services{"app": {Name: "app"}, "edge": edge}}
}

// The edge is wbd's when it carries the extension; its drain and the app's
// port come from it and its command.
func TestEdgeOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *types.Project
		ok   bool
		want edgeSpec
	}{
		{"render's", edgeProject(map[string]any{"drain": "10s"}, "--listen", ":8080", "--target", "x:3000"), true, edgeSpec{drain: 10 * time.Second, port: "3000"}},
		{"drain 0", edgeProject(map[string]any{"drain": "0s"}, "--target", "x:8000"), true, edgeSpec{port: "8000"}},
		{"unreadable drain: the default", edgeProject(map[string]any{"drain": "soon"}, "--target", "x:8000"), true, edgeSpec{drain: 30 * time.Second, port: "8000"}},
		{"a service of its own called edge", edgeProject(nil, "--target", "x:8000"), false, edgeSpec{}},
		{"no target", edgeProject(map[string]any{"drain": "1s"}), false, edgeSpec{}},
		{"no edge", &types.Project{Name: "x", Services: types.Services{"app": {Name: "app"}}}, false, edgeSpec{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := edgeOf(tc.p)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("edgeOf = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func appContainer(id, name string, state container.ContainerState) container.Summary {
	return container.Summary{ID: id, Names: []string{"/" + name}, State: state, Labels: map[string]string{api.ServiceLabel: "app"}}
}

// Of two app containers a rollout cut short left, the edge's target stays;
// without one it names, the one holding the name, while it runs.
func TestPickOverlap(t *testing.T) {
	old := appContainer("aaaaaaaaaaaa1111", "x", container.StateRunning)
	next := appContainer("bbbbbbbbbbbb2222", "aaaaaaaaaaaa_x", container.StateRunning)
	deadNext := appContainer("bbbbbbbbbbbb2222", "aaaaaaaaaaaa_x", container.StateExited)
	deadOld := appContainer("aaaaaaaaaaaa1111", "x", container.StateExited)
	for _, tc := range []struct {
		name   string
		apps   []container.Summary
		target string
		want   string
		why    string
	}{
		{"the edge's target: the new one", []container.Summary{old, next}, "bbbbbbbbbbbb", next.ID, "the edge sends requests to aaaaaaaaaaaa_x"},
		{"the edge's target: the old one", []container.Summary{old, next}, "aaaaaaaaaaaa", old.ID, "the edge sends requests to x"},
		{"the edge's default", []container.Summary{next, old}, "", old.ID, "x kept: the edge names neither"},
		{"the target is not running", []container.Summary{old, deadNext}, "bbbbbbbbbbbb", old.ID, "x kept: the edge names neither"},
		{"the named one is not running", []container.Summary{deadOld, next}, "", next.ID, "aaaaaaaaaaaa_x kept: the edge names neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := pickOverlap(tc.apps, tc.target, "x")
			if got.ID != tc.want || why != tc.why {
				t.Errorf("pickOverlap = %s (%s), want %s (%s)", got.ID, why, tc.want, tc.why)
			}
		})
	}
}

// Plan tells two started app containers from a leftover to rename or an
// unstarted one to remove.
func TestMisnamedOverlap(t *testing.T) {
	p := &types.Project{Name: "x", Services: types.Services{"app": {Name: "app", ContainerName: "x"}}}
	old := appContainer("aaaaaaaaaaaa1111", "x", container.StateRunning)
	for _, tc := range []struct {
		name               string
		other              container.Summary
		overlap, unstarted bool
	}{
		{"started beside", appContainer("bbbb", "aaaaaaaaaaaa_x", container.StateRunning), true, false},
		{"exited beside", appContainer("bbbb", "aaaaaaaaaaaa_x", container.StateExited), true, false},
		{"never started", appContainer("bbbb", "aaaaaaaaaaaa_x", container.StateCreated), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := misnamed(p, &instance{containers: []container.Summary{old, tc.other}})
			if len(ms) != 1 || ms[0].Overlap != tc.overlap || ms[0].Unstarted != tc.unstarted {
				t.Fatalf("misnamed = %+v, want overlap %v, unstarted %v", ms, tc.overlap, tc.unstarted)
			}
			if s := (Plan{Renames: ms}).String(); tc.overlap && !strings.Contains(s, "the one the edge sends requests to stays") {
				t.Errorf("plan %q does not say which stays", s)
			}
		})
	}
	// Alone, a misnamed container is renamed.
	ms := misnamed(p, &instance{containers: []container.Summary{appContainer("bbbb", "aaaaaaaaaaaa_x", container.StateRunning)}})
	if len(ms) != 1 || ms[0].Overlap || ms[0].Unstarted {
		t.Errorf("misnamed alone = %+v, want a rename", ms)
	}
}

func TestStartFirstError(t *testing.T) {
	cause := &NotReadyError{Instance: "x", Services: []ServiceState{{Service: "app", Container: "aaaaaaaaaaaa_x", State: "running", Health: "unhealthy"}}}
	err := error(&StartFirstError{Instance: "x", New: "aaaaaaaaaaaa_x", Kept: "x", Err: cause})
	if want := "the new app container aaaaaaaaaaaa_x got no request, x kept serving: instance x not ready: app (container aaaaaaaaaaaa_x): running, unhealthy"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, ErrNotReady) {
		t.Error("a StartFirstError does not unwrap to its cause")
	}
}
