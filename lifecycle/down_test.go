package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// eventNames returns the names of the containers that had action between
// since and now, in the order the engine reports them.
func eventNames(t *testing.T, e *Engine, since time.Time, action string, f client.Filters) []string {
	t.Helper()
	f = f.Clone().Add("type", "container").Add("event", action)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res := e.api.Events(ctx, client.EventsListOptions{Since: unixNano(since), Until: unixNano(time.Now()), Filters: f})
	var names []string
	for {
		select {
		case m := <-res.Messages:
			names = append(names, m.Actor.Attributes["name"])
		case err := <-res.Err:
			if err != nil && !errorsIsEOF(err) {
				t.Fatalf("events: %v", err)
			}
			return names
		}
	}
}

func unixNano(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

func TestDownStopsInOrderAndKeepsData(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	f.Admin = buildImages(t, e).Stub
	apply(t, e, f.project(t), ApplyOptions{})
	marker := filepath.Join(f.Root, f.Name, "databases", "PG_VERSION")
	if err := os.WriteFile(marker, []byte("15\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Projects(t.Context()); !slices.Contains(got, f.Name) {
		t.Errorf("Projects() = %v, want it to list %s", got, f.Name)
	}

	since := time.Now()
	if err := e.Down(t.Context(), f.Name); err != nil {
		t.Fatalf("Down: %v", err)
	}
	stops := eventNames(t, e, since, "stop", projectFilter(f.Name))
	if want := []string{f.Name, f.Name + "-admin", f.Name + "-redis", f.Name + "-postgres"}; !slices.Equal(stops, want) {
		t.Errorf("stop order %v, want %v", stops, want)
	}
	left, err := e.api.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: projectFilter(f.Name)})
	if err != nil || len(left.Items) > 0 {
		t.Errorf("containers after Down: %d (%v), want none", len(left.Items), err)
	}
	if _, err := e.api.NetworkInspect(t.Context(), f.Name, client.NetworkInspectOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("network %s after Down: %v, want not found", f.Name, err)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "15\n" {
		t.Errorf("bind-mounted data after Down: %q, %v; want it intact", data, err)
	}
	if got, _ := e.Projects(t.Context()); slices.Contains(got, f.Name) {
		t.Errorf("Projects() after Down = %v, still lists %s", got, f.Name)
	}
	if err := e.Down(t.Context(), f.Name); err != nil {
		t.Errorf("second Down: %v, want nothing to do", err)
	}
}

func TestRestartKeepsContainers(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	p := f.project(t)
	before := apply(t, e, p, ApplyOptions{})

	since := time.Now()
	r, err := e.Restart(t.Context(), p)
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	stops := eventNames(t, e, since, "stop", projectFilter(f.Name))
	if want := []string{f.Name, f.Name + "-redis", f.Name + "-postgres"}; !slices.Equal(stops, want) {
		t.Errorf("stop order %v, want %v", stops, want)
	}
	starts := eventNames(t, e, since, "start", projectFilter(f.Name))
	if len(starts) == 0 || starts[len(starts)-1] != f.Name {
		t.Errorf("start order %v, want the app last", starts)
	}
	for _, s := range r.Services {
		if s.ContainerID != ids(before)[s.Service] {
			t.Errorf("%s container %.12s after Restart, want %.12s kept", s.Service, s.ContainerID, ids(before)[s.Service])
		}
		if !s.Ready() || !s.StartedAt.After(since) {
			t.Errorf("%s after Restart: %s started %v, want ready and started after %v", s.Service, s, s.StartedAt, since)
		}
	}
}
