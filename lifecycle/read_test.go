package lifecycle

import (
	"bytes"
	"strings"
	"testing"
)

func TestStatusLogsAndPull(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	f := newFixture(t, e)
	p := f.project(t)
	apply(t, e, p, ApplyOptions{})

	t.Run("status", func(t *testing.T) {
		got, err := e.Status(t.Context(), f.Name, p)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		var services []string
		for _, s := range got {
			services = append(services, s.Service)
			if !s.Ready() || s.UpToDate == nil || !*s.UpToDate || s.StartedAt.IsZero() || s.Image != f.App {
				t.Errorf("Status %s = %+v, want ready, up to date, started, image %s", s.Service, s, f.App)
			}
		}
		if got, want := strings.Join(services, " "), "postgres redis app"; got != want {
			t.Errorf("Status services %q, want %q", got, want)
		}
		if got[0].Health != "healthy" {
			t.Errorf("postgres health %q, want healthy", got[0].Health)
		}

		f.AppExtra = "changed"
		edited := f.project(t)
		got, err = e.Status(t.Context(), f.Name, edited)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		for _, s := range got {
			if want := s.Service != "app"; *s.UpToDate != want {
				t.Errorf("Status %s after an app edit: up to date %v, want %v", s.Service, *s.UpToDate, want)
			}
		}
		got, err = e.Status(t.Context(), f.Name, nil)
		if err != nil || len(got) != 3 || got[2].UpToDate != nil {
			t.Errorf("Status without project = %+v, %v; want 3 services, UpToDate unset", got, err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		var buf bytes.Buffer
		if err := e.Logs(t.Context(), f.Name, "postgres", false, "all", &buf); err != nil {
			t.Fatalf("Logs: %v", err)
		}
		if out := buf.String(); !strings.Contains(out, f.Name+"-postgres") || !strings.Contains(out, "stub started: postgres") {
			t.Errorf("Logs postgres = %q, want the container's first line, prefixed", out)
		}
		if err := e.Logs(t.Context(), f.Name, "nosuch", false, "", &buf); err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Errorf("Logs of an unknown service = %v, want an error naming it", err)
		}
	})

	t.Run("pull", func(t *testing.T) {
		// a registry on a closed loopback port: the pull fails without
		// traffic leaving the machine
		missing := "127.0.0.1:9/wbdtest/missing:1"
		var buf bytes.Buffer
		err := e.Pull(t.Context(), []string{missing, missing}, &buf)
		if err == nil {
			t.Fatalf("Pull(%s) succeeded", missing)
		}
		if msg := err.Error(); strings.Count(msg, "pull "+missing) != 1 || strings.Count(msg, "connection refused") != 1 {
			t.Errorf("Pull error %q, want it to name %s once, with its cause once", msg, missing)
		}
		t.Logf("pull error: %v\nprogress:\n%s", err, buf.String())

		g := newFixture(t, e)
		g.App = missing
		_, err = e.Apply(t.Context(), g.project(t), ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), "pull "+missing) {
			t.Errorf("Apply with a missing image = %v, want an error naming it", err)
		}
	})
}
