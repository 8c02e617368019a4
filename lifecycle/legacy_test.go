package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// runLegacy starts what the imperative CLI ran for f: a network named after
// the instance and containers named NAME-postgres, NAME-redis (with --rm)
// and NAME, without compose labels. It returns their IDs by name.
func runLegacy(t *testing.T, e *Engine, f *fixture) map[string]string {
	t.Helper()
	ctx := t.Context()
	if _, err := e.api.NetworkCreate(ctx, f.Name, client.NetworkCreateOptions{Driver: "bridge"}); err != nil {
		t.Fatalf("create legacy network: %v", err)
	}
	dir := filepath.Join(f.Root, f.Name)
	ids := map[string]string{}
	for _, c := range []struct {
		name, bind string
		rm         bool
	}{
		{f.Name + "-postgres", dir + "/databases:/var/lib/postgresql/data", false},
		{f.Name + "-redis", dir + "/redis:/data", true},
		{f.Name, "", true},
	} {
		hc := &container.HostConfig{NetworkMode: container.NetworkMode(f.Name), AutoRemove: c.rm}
		if c.bind != "" {
			hc.Binds = []string{c.bind}
		}
		res, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name: c.name, Config: &container.Config{Image: f.App}, HostConfig: hc,
		})
		if err != nil {
			t.Fatalf("create legacy %s: %v", c.name, err)
		}
		if _, err := e.api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatalf("start legacy %s: %v", c.name, err)
		}
		ids[c.name] = res.ID
	}
	return ids
}

func TestApplyRefusesThenAdoptsLegacy(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	legacyIDs := runLegacy(t, e, f)
	marker := filepath.Join(f.Root, f.Name, "redis", "appendonly.aof")
	if err := os.WriteFile(marker, []byte("SET k v\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := f.project(t)

	legacy, err := e.Legacy(t.Context(), f.Name)
	if err != nil {
		t.Fatalf("Legacy: %v", err)
	}
	if got, want := containerNames(legacy), []string{f.Name, f.Name + "-redis", f.Name + "-postgres"}; !slices.Equal(got, want) {
		t.Errorf("Legacy() = %v, want %v (stop order)", got, want)
	}
	plan, err := e.Plan(t.Context(), p)
	if err != nil || len(plan.Legacy) != 3 || plan.Empty() {
		t.Errorf("Plan = %+v, %v; want the 3 legacy containers listed", plan, err)
	}

	_, err = e.Apply(t.Context(), p, ApplyOptions{WaitTimeout: time.Minute})
	var le *LegacyError
	if !errors.As(err, &le) || !errors.Is(err, ErrLegacy) {
		t.Fatalf("Apply over legacy containers = %v, want a *LegacyError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "wbd apply --adopt "+f.Name) {
		t.Errorf("error %q does not tell to run `wbd apply --adopt %s`", msg, f.Name)
	}
	for name, id := range legacyIDs {
		if c := inspect(t, e, id); c.State.Status != "running" {
			t.Errorf("refused Apply touched %s: %s", name, c.State.Status)
		}
	}

	since := time.Now()
	r := apply(t, e, p, ApplyOptions{Adopt: true})
	if got := containerNames(r.Adopted); len(got) != 3 {
		t.Errorf("Report.Adopted = %v, want the 3 legacy containers", got)
	}
	ids := make([]string, 0, len(legacyIDs))
	for _, id := range legacyIDs {
		ids = append(ids, id)
	}
	dies := eventNames(t, e, since, "die", make(client.Filters).Add("container", ids...))
	if want := []string{f.Name, f.Name + "-redis", f.Name + "-postgres"}; !slices.Equal(dies, want) {
		t.Errorf("legacy stop order %v, want %v", dies, want)
	}
	for name, old := range legacyIDs {
		c := inspect(t, e, name)
		if c.ID == old || c.Config.Labels[api.ProjectLabel] != f.Name || c.State.Status != "running" {
			t.Errorf("%s after adoption: id %.12s (legacy %.12s), project %q, %s; want a running compose container",
				name, c.ID, old, c.Config.Labels[api.ProjectLabel], c.State.Status)
		}
	}
	n, err := e.api.NetworkInspect(t.Context(), f.Name, client.NetworkInspectOptions{})
	if err != nil || n.Network.Labels[api.ProjectLabel] != f.Name || !owned(n.Network.Labels) {
		t.Errorf("network %s after adoption: labels %v, %v; want compose's and wbd's", f.Name, n.Network.Labels, err)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "SET k v\n" {
		t.Errorf("redis data after adoption: %q, %v; want it intact", data, err)
	}
}
