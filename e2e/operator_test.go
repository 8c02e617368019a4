package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// wbdTimeout bounds one wbd command: an apply waits for postgres to
// initialise and the app to turn healthy.
const wbdTimeout = 5 * time.Minute

// operator is someone with an instances.yaml on this machine, running wbd.
type operator struct {
	t         *testing.T
	dir       string // where instances.yaml is
	root      string // the file's root: instance NAME lives in root/NAME
	file      string
	instances []*instance // in file order
	// env is wbd's environment; nil is the test's own.
	env []string
}

// instance is one entry of instances.yaml as the operator writes it.
type instance struct {
	Name      string
	Port      int    // the app's host port
	AdminPort int    // 0: no admin
	Host      string // "": the local engine
	Images    images
	Pull      []string // images to pull and never run
	Edge      string   // edge's value in the file: "true", "{drain: 1s}"; "": none
}

type images struct{ App, Postgres, Redis, Admin string }

// newOperator starts an operator with an empty instances file under a
// temporary directory. It skips the test without an engine.
func newOperator(t *testing.T) *operator {
	t.Helper()
	requireEngine(t)
	dir := t.TempDir()
	return &operator{t: t, dir: dir, root: filepath.Join(dir, "srv"), file: filepath.Join(dir, "instances.yaml")}
}

// declare adds an instance with a fresh name and free ports, running the
// stand-in images, and arranges for it to be taken down after the test.
// edit adjusts it before the file is written.
func (o *operator) declare(edit func(*instance)) *instance {
	o.t.Helper()
	in := &instance{
		Name: uniqueName("e2e"),
		Port: freePort(o.t),
		Images: images{
			App: imageApp, Postgres: imagePostgres, Redis: imageRedis, Admin: imageAdmin,
		},
	}
	if edit != nil {
		edit(in)
	}
	o.instances = append(o.instances, in)
	o.writeFile()
	o.t.Cleanup(func() { o.takeDown(in) })
	return in
}

// withAdmin turns the admin container on, on a free port.
func (o *operator) withAdmin(in *instance) { in.AdminPort = freePort(o.t) }

// dirOf is the instance's directory, {root}/NAME.
func (o *operator) dirOf(in *instance, elem ...string) string {
	return filepath.Join(append([]string{o.root, in.Name}, elem...)...)
}

// writeFile writes instances.yaml as the operator would, images named per
// instance. Call it again after editing an instance.
func (o *operator) writeFile() {
	o.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nroot: %s\ndefaults:\n  env:\n    REFAPP_COMPUTE_DELAY: 300ms\ninstances:\n", o.root)
	for _, in := range o.instances {
		fmt.Fprintf(&b, "  %s:\n    port: %d\n", in.Name, in.Port)
		if in.AdminPort != 0 {
			fmt.Fprintf(&b, "    admin: {port: %d}\n", in.AdminPort)
		}
		if in.Host != "" {
			fmt.Fprintf(&b, "    host: %s\n", in.Host)
		}
		if in.Edge != "" {
			fmt.Fprintf(&b, "    edge: %s\n", in.Edge)
		}
		fmt.Fprintf(&b, "    images:\n      app: %s\n      postgres: %s\n      redis: %s\n      admin: %s\n",
			in.Images.App, in.Images.Postgres, in.Images.Redis, in.Images.Admin)
		if len(in.Pull) > 0 {
			fmt.Fprintf(&b, "    pull: [%s]\n", strings.Join(in.Pull, ", "))
		}
	}
	if err := os.WriteFile(o.file, []byte(b.String()), 0o644); err != nil {
		o.t.Fatal(err)
	}
}

// result is one run of wbd.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("wbd %s: exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// wbd runs the wbd binary on the operator's file.
func (o *operator) wbd(args ...string) result {
	o.t.Helper()
	return o.wbdTee(nil, args...)
}

// wbdTee is wbd that also writes stderr to tee, when not nil, as it comes.
func (o *operator) wbdTee(tee io.Writer, args ...string) result {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wbdTimeout)
	defer cancel()
	full := append([]string{"-f", o.file}, args...)
	cmd := exec.CommandContext(ctx, wbdBin, full...)
	cmd.Dir, cmd.Env = o.dir, o.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if tee != nil {
		cmd.Stderr = io.MultiWriter(&stderr, tee)
	}
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		o.t.Fatalf("run wbd %s: %v", strings.Join(full, " "), err)
	}
	return r
}

// mustWbd runs wbd and fails the test unless it exits 0.
func (o *operator) mustWbd(args ...string) result {
	o.t.Helper()
	r := o.wbd(args...)
	if r.code != 0 {
		o.t.Fatalf("%s", r)
	}
	return r
}

func (o *operator) apply(in *instance) result   { o.t.Helper(); return o.mustWbd("apply", in.Name) }
func (o *operator) restart(in *instance) result { o.t.Helper(); return o.mustWbd("restart", in.Name) }
func (o *operator) down(in *instance) result    { o.t.Helper(); return o.mustWbd("down", in.Name) }

// plan is what `wbd plan NAME --json` says apply would do, by service.
func (o *operator) plan(in *instance) (actions map[string]servicePlan, legacy []string) {
	o.t.Helper()
	r := o.mustWbd("plan", in.Name, "--json")
	var plans []struct {
		Instance string        `json:"instance"`
		Services []servicePlan `json:"services"`
		Legacy   []struct {
			Name string `json:"name"`
		} `json:"legacy"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plans); err != nil || len(plans) != 1 {
		o.t.Fatalf("wbd plan --json: want one plan, got %v\n%s", err, r)
	}
	actions = map[string]servicePlan{}
	for _, s := range plans[0].Services {
		actions[s.Service] = s
	}
	for _, c := range plans[0].Legacy {
		legacy = append(legacy, c.Name)
	}
	return actions, legacy
}

// status is what `wbd status NAME --json` says of each service.
func (o *operator) status(in *instance) map[string]serviceStatus {
	o.t.Helper()
	r := o.mustWbd("status", in.Name, "--json")
	var st []struct {
		Instance string          `json:"instance"`
		Services []serviceStatus `json:"services"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || st[0].Instance != in.Name {
		o.t.Fatalf("wbd status --json: want %s alone, got %v\n%s", in.Name, err, r)
	}
	out := map[string]serviceStatus{}
	for _, s := range st[0].Services {
		out[s.Service] = s
	}
	return out
}

type serviceStatus struct {
	Service string `json:"service"`
	State   string `json:"state"`
	Health  string `json:"health"`
	Image   string `json:"image"`
	Matches *bool  `json:"matches"`
}

type servicePlan struct {
	Service   string `json:"service"`
	Container string `json:"container"`
	Action    string `json:"action"`
	Changes   []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"changes"`
}

// takeDown is the cleanup of an instance: wbd down, then, should that
// fail (an unreachable host, a broken test), remove whatever still carries
// the instance's container names, which are unique to this test.
func (o *operator) takeDown(in *instance) {
	r := o.wbd("down", in.Name)
	if r.code != 0 && in.Host == "" {
		o.t.Logf("cleanup: %s", r)
	}
	for _, c := range containerNames(in) {
		if _, err := dockerTry("inspect", "--type", "container", c); err == nil {
			if out, err := dockerTry("rm", "-f", "-v", c); err != nil {
				o.t.Logf("cleanup: docker rm %s: %v: %s", c, err, out)
			}
		}
	}
	if _, err := dockerTry("network", "inspect", in.Name); err == nil {
		_, _ = dockerTry("network", "rm", in.Name)
	}
}

// containerNames are the plan's container names for an instance, in the
// order down stops them.
func containerNames(in *instance) []string {
	return []string{in.Name, in.Name + "-admin", in.Name + "-redis", in.Name + "-postgres"}
}

// uniqueName is prefix-<8 random hex digits>.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// freePort is a TCP port nothing listens on now, picked at random below
// the kernel's ephemeral range (32768-) so that outgoing connections do
// not take it before the engine publishes it, and never handed out twice.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 200 {
		p := 20000 + mathrand.IntN(12000)
		if portsUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		portsUsed[p] = true
		return p
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)
