package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestApplyWarnsWhenRedisDoesNotStart(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	imgs := buildImages(t, e)
	for _, tc := range []struct {
		name string
		edit func(*fixture)
	}{
		{"cannot start", func(f *fixture) { f.Redis = imgs.Broken }},
		{"exits at once", func(f *fixture) { f.RedisCommand = `"fail"` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, e)
			tc.edit(f)
			r := apply(t, e, f.project(t), ApplyOptions{})
			if len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "redis") {
				t.Errorf("Report.Warnings = %q, want one about redis", r.Warnings)
			}
			for _, s := range r.Services {
				if ready := s.Ready(); ready == (s.Service == "redis") {
					t.Errorf("%s: %s, want redis alone not ready", s.Service, s)
				}
			}
			if c := inspect(t, e, f.Name); c.State.Status != "running" {
				t.Errorf("app %s, want running", c.State.Status)
			}
			t.Logf("warnings: %q", r.Warnings)
		})
	}
}

func TestApplyFailsWhenARequiredServiceIsNotReady(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	for _, tc := range []struct {
		name string
		edit func(*types.Project)
		want []string // in the error
	}{
		{"app exits", func(p *types.Project) {
			app := p.Services["app"]
			app.Command = types.ShellCommand{"fail"}
			p.Services["app"] = app
		}, []string{"app (container %s): exited with code 3"}},
		{"postgres unhealthy", func(p *types.Project) {
			pg := p.Services["postgres"]
			pg.HealthCheck.Test = types.HealthCheckTest{"CMD", "/stub", "fail"}
			pg.HealthCheck.Retries = new(uint64(2))
			p.Services["postgres"] = pg
		}, []string{"postgres (container %s-postgres): running, unhealthy", "app (container %s): created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, e)
			p := f.project(t)
			tc.edit(p)
			_, err := e.Apply(t.Context(), p, ApplyOptions{WaitTimeout: 30 * time.Second})
			if !errors.Is(err, ErrNotReady) {
				t.Fatalf("Apply = %v, want ErrNotReady", err)
			}
			t.Logf("Apply: %v", err)
			for _, w := range tc.want {
				if w = fmt.Sprintf(w, f.Name); !strings.Contains(err.Error(), w) {
					t.Errorf("Apply error %q does not say %q", err, w)
				}
			}
		})
	}
}
