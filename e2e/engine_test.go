package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// What the tests see of the engine, through the docker CLI as an operator
// would look.

// dockerTry runs the docker CLI and returns its combined output.
func dockerTry(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// docker runs the docker CLI and fails the test when it fails.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerTry(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// container is what docker inspect says of a container, in part.
type container struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status    string
		StartedAt string
		Health    *struct{ Status string }
	}
	RestartCount int
	Config       struct {
		Image  string
		User   string
		Env    []string
		Labels map[string]string
	}
	Mounts []struct {
		Type, Source, Destination string
	}
	NetworkSettings struct {
		Networks map[string]json.RawMessage
	}
}

// env returns the value of an environment variable of the container.
func (c container) env(name string) (string, bool) {
	for _, kv := range c.Config.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// mountAt returns the host source of the bind mount at target.
func (c container) mountAt(target string) string {
	for _, m := range c.Mounts {
		if m.Destination == target && m.Type == "bind" {
			return m.Source
		}
	}
	return ""
}

// inspect returns the container named name; it fails the test if there is none.
func inspect(t *testing.T, name string) container {
	t.Helper()
	c, ok := lookup(t, name)
	if !ok {
		t.Fatalf("container %s does not exist", name)
	}
	return c
}

// lookup returns the container named name, if it exists.
func lookup(t *testing.T, name string) (container, bool) {
	t.Helper()
	out, err := dockerTry("container", "inspect", name)
	if err != nil {
		if strings.Contains(strings.ToLower(out), "no such") {
			return container{}, false
		}
		t.Fatalf("docker container inspect %s: %v\n%s", name, err, out)
	}
	var cs []container
	if err := json.Unmarshal([]byte(out), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("docker container inspect %s: %v\n%s", name, err, out)
	}
	return cs[0], true
}

// snapshot is the identity and state of a set of containers: a container
// recreated, restarted or stopped shows up as a difference.
type snapshot map[string]string

func takeSnapshot(t *testing.T, names ...string) snapshot {
	t.Helper()
	s := snapshot{}
	for _, n := range names {
		if c, ok := lookup(t, n); ok {
			s[n] = fmt.Sprintf("id=%.12s state=%s started=%s", c.ID, c.State.Status, c.State.StartedAt)
		} else {
			s[n] = "missing"
		}
	}
	return s
}

// requireUnchanged fails unless after is before.
func requireUnchanged(t *testing.T, step string, before, after snapshot) {
	t.Helper()
	for n, b := range before {
		if a := after[n]; a != b {
			t.Errorf("after %s: container %s changed:\n  before %s\n  after  %s", step, n, b, a)
		}
	}
}

// eventually polls cond until it returns nil or timeout passes, then fails
// the test with cond's last error.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// httpGet GETs path from the app published on 127.0.0.1:port.
func httpGet(port int, path string) (int, []byte, error) {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// appHealth is the app's /health: {"postgres":"ok","redis":"ok|down|disabled"}.
func appHealth(port int) (map[string]string, error) {
	code, body, err := httpGet(port, "/health")
	if err != nil {
		return nil, err
	}
	var h map[string]string
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("/health answered %d %q: %v", code, body, err)
	}
	return h, nil
}

// waitForHealth waits until the app's /health reports redis as want (and
// postgres ok).
func waitForHealth(t *testing.T, in *instance, redis string) {
	t.Helper()
	eventually(t, time.Minute, fmt.Sprintf("%s /health says redis %s", in.Name, redis), func() error {
		h, err := appHealth(in.Port)
		if err != nil {
			return err
		}
		if h["postgres"] != "ok" || h["redis"] != redis {
			return fmt.Errorf("/health = %v", h)
		}
		return nil
	})
}

// redisCLI runs redis-cli in the instance's redis container.
func redisCLI(t *testing.T, in *instance, args ...string) string {
	t.Helper()
	return docker(t, append([]string{"exec", in.Name + "-redis", "redis-cli"}, args...)...)
}

// psql runs one SQL statement in the instance's postgres container and
// returns its unaligned, tuples-only output.
func psql(t *testing.T, in *instance, sql string) string {
	t.Helper()
	return docker(t, "exec", in.Name+"-postgres", "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", sql)
}

// stopEvents returns, in order, the names of the instance's containers the
// engine reports stopped between since and until.
func stopEvents(t *testing.T, in *instance, since, until time.Time) []string {
	t.Helper()
	out := docker(t, "events",
		"--since", unixNano(since), "--until", unixNano(until),
		"--filter", "label=io.wbd.instance="+in.Name, "--filter", "type=container", "--filter", "event=stop",
		"--format", "{{.Actor.Attributes.name}}")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func unixNano(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }
