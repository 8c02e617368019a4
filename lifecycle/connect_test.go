package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

func TestConnectUnreachable(t *testing.T) {
	for _, host := range []string{
		"tcp://127.0.0.1:1",
		"unix:///nonexistent/docker.sock",
	} {
		t.Run(host, func(t *testing.T) {
			start := time.Now()
			e, err := Connect(t.Context(), host)
			if err == nil {
				e.Close()
				t.Fatalf("Connect(%q) succeeded, want an error", host)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Connect(%q) took %v, want it to fail fast", host, took)
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("Connect(%q) = %v, want ErrUnreachable", host, err)
			}
			if msg := err.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, "does not answer") {
				t.Errorf("Connect(%q) error = %q, want it to name the host and say it does not answer", host, msg)
			}
		})
	}
}

func TestConnectNamesDockerHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/from-env.sock")
	t.Setenv("DOCKER_CONTEXT", "")
	_, err := Connect(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "local default (unix:///nonexistent/from-env.sock)") {
		t.Fatalf("Connect(\"\") with DOCKER_HOST set = %v, want an error naming that host", err)
	}
}

func TestConnectNegotiatesAPIVersion(t *testing.T) {
	e := testEngine(t)
	info, err := e.api.ServerVersion(t.Context(), client.ServerVersionOptions{})
	if err != nil {
		t.Fatalf("ServerVersion: %v", err)
	}
	want := info.APIVersion
	if versions.LessThan(client.MaxAPIVersion, want) {
		want = client.MaxAPIVersion
	}
	if got := e.APIVersion(); got != want {
		t.Errorf("APIVersion() = %s, want %s (engine speaks %s)", got, want, info.APIVersion)
	}
}
