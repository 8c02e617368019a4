package lifecycle

import (
	"errors"
	"testing"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// runForeign starts a container wbd does not own.
func runForeign(t *testing.T, e *Engine, name, image string, labels map[string]string) string {
	t.Helper()
	res, err := e.api.ContainerCreate(t.Context(), client.ContainerCreateOptions{
		Name: name, Config: &container.Config{Image: image, Labels: labels},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := e.api.ContainerStart(t.Context(), res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return res.ID
}

func TestBystanderIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	id := runForeign(t, e, f.Name+"-bystander", f.App, nil)

	apply(t, e, f.project(t), ApplyOptions{})
	if err := e.Down(t.Context(), f.Name); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if c := inspect(t, e, f.Name+"-bystander"); c.ID != id || c.State.Status != "running" {
		t.Errorf("bystander after Apply and Down: %.12s %s, want %.12s running", c.ID, c.State.Status, id)
	}
}

func TestRefusesWhatWbdDoesNotOwn(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	for _, tc := range []struct {
		name   string
		suffix string            // of the foreign container's name
		labels map[string]string // of the foreign container
	}{
		{"same compose project without wbd label", "-other", map[string]string{api.ProjectLabel: "", api.ServiceLabel: "other", api.ConfigHashLabel: "x"}},
		{"container name held by another project", "-redis", map[string]string{api.ProjectLabel: "someone-else"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, e)
			if tc.labels[api.ProjectLabel] == "" {
				tc.labels[api.ProjectLabel] = f.Name
			}
			id := runForeign(t, e, f.Name+tc.suffix, f.App, tc.labels)
			p := f.project(t)

			_, err := e.Apply(t.Context(), p, ApplyOptions{})
			var ne *NotOwnedError
			if !errors.As(err, &ne) || !errors.Is(err, ErrNotOwned) {
				t.Fatalf("Apply = %v, want a *NotOwnedError", err)
			}
			if _, err := e.Plan(t.Context(), p); !errors.Is(err, ErrNotOwned) {
				t.Errorf("Plan = %v, want ErrNotOwned", err)
			}
			if tc.labels[api.ProjectLabel] == f.Name {
				if err := e.Down(t.Context(), f.Name); !errors.Is(err, ErrNotOwned) {
					t.Errorf("Down = %v, want ErrNotOwned", err)
				}
			}
			if c := inspect(t, e, f.Name+tc.suffix); c.ID != id || c.State.Status != "running" {
				t.Errorf("foreign container: %.12s %s, want %.12s running", c.ID, c.State.Status, id)
			}
		})
	}
}
