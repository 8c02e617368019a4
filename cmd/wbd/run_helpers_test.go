package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
)

// The engine tests need the local engine and the stand-in images; without
// them they skip, or fail under CI.
var standinImages = []string{"wbd.local/postgres:15", "wbd.local/redis:7", "wbd.local/app:1"}

func requireEngineForRun(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if testing.Short() {
		t.Skip("engine test skipped in -short mode")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		missing("no docker engine: %v: %s", err, out)
	}
	for _, img := range standinImages {
		if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
			missing("image %s missing: run scripts/build-images.sh", img)
		}
	}
	if _, err := exec.LookPath("wbd"); err != nil {
		t.Fatalf("wbd not in PATH (testscript.Main puts it there): %v", err)
	}
}

// unique is a name no one else on the engine uses: d-<random>.
func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	return "d-" + hex.EncodeToString(b)
}

// freeHostPort is a host port nothing listens on.
func freeHostPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemonInst is one instance of a test file.
type daemonInst struct {
	name, app, host string
	port            int
	env             map[string]string
	healthcheck     []string // the app's, in the file; the image's when nil
}

// daemonWorld is an instances file in a temporary directory, and the instances
// it ever named, which its cleanup takes down.
type daemonWorld struct {
	t     *testing.T
	dir   string
	file  string
	root  string
	names map[string]string // name -> host
	// templates, when set, is the file's own templates directory.
	templates string
}

func newDaemonWorld(t *testing.T) *daemonWorld {
	t.Helper()
	dir := t.TempDir()
	w := &daemonWorld{t: t, dir: dir, file: filepath.Join(dir, "instances.yaml"), root: filepath.Join(dir, "root"), names: map[string]string{}}
	t.Cleanup(w.down)
	return w
}

func (w *daemonWorld) yaml(ins ...daemonInst) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nroot: %s\n", w.root)
	if w.templates != "" {
		fmt.Fprintf(&b, "templates: %s\n", w.templates)
	}
	b.WriteString("instances:\n")
	for _, in := range ins {
		fmt.Fprintf(&b, "  %s:\n    port: %d\n", in.name, in.port)
		fmt.Fprintf(&b, "    images: {app: %q, postgres: %q, redis: %q}\n", in.app, standinImages[0], standinImages[1])
		if in.host != "" {
			fmt.Fprintf(&b, "    host: %s\n", in.host)
		}
		if len(in.healthcheck) > 0 {
			fmt.Fprintf(&b, "    healthcheck: [%s]\n", strings.Join(in.healthcheck, ", "))
		}
		if len(in.env) > 0 {
			b.WriteString("    env:\n")
			for k, v := range in.env {
				fmt.Fprintf(&b, "      %s: %q\n", k, v)
			}
		}
	}
	return b.String()
}

// save writes the file as editors do: a temporary file renamed over it.
func (w *daemonWorld) save(ins ...daemonInst) time.Time {
	for _, in := range ins {
		w.names[in.name] = in.host
	}
	return w.saveRaw(w.yaml(ins...))
}

func (w *daemonWorld) saveRaw(content string) time.Time {
	w.t.Helper()
	tmp := filepath.Join(w.dir, ".instances.yaml.swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	at := time.Now()
	if err := os.Rename(tmp, w.file); err != nil {
		w.t.Fatal(err)
	}
	return at
}

// down takes down, with wbd itself, every local instance the daemonWorld named.
func (w *daemonWorld) down() {
	var names []string
	for n, host := range w.names {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+n).Output()
		if host == "" && len(bytes.TrimSpace(out)) > 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	os.WriteFile(w.file, []byte(w.yaml()), 0o644)
	out, err := exec.Command("wbd", append([]string{"down", "-f", w.file, "--keep-going"}, names...)...).CombinedOutput()
	if err != nil {
		w.t.Logf("cleanup: wbd down: %v\n%s", err, out)
	}
}

// status reads the daemon's status of instance name.
func (w *daemonWorld) status(name string) *reconcile.InstanceStatus {
	s, err := reconcile.ReadStatus(w.root)
	if err != nil {
		return nil
	}
	return s.Instance(name)
}

// daemonProc is a `wbd run` process.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

func startDaemon(t *testing.T, file string, args ...string) *daemonProc {
	t.Helper()
	args = append([]string{"run", "-f", file, "--debounce", "50ms", "--log-level", "debug"}, args...)
	d := &daemonProc{t: t, cmd: exec.Command("wbd", args...), out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET=")
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		if !d.exited() {
			d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(45 * time.Second):
				d.cmd.Process.Kill()
				<-d.done
			}
		}
		if t.Failed() {
			t.Logf("wbd run log:\n%s", d.out.String())
		}
	})
	return d
}

func (d *daemonProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// waitLog waits until a log line matches pattern, and returns it.
func (d *daemonProc) waitLog(pattern string, timeout time.Duration) string {
	d.t.Helper()
	return d.waitLogSince(0, pattern, timeout)
}

// mark is where the log ends now, for waitLogSince.
func (d *daemonProc) mark() int { return len(d.out.String()) }

// waitLogSince waits until a line logged after mark matches pattern, and
// returns it.
func (d *daemonProc) waitLogSince(mark int, pattern string, timeout time.Duration) string {
	d.t.Helper()
	re := regexp.MustCompile(pattern)
	var line string
	waitUntil(d.t, timeout, "log line "+pattern, func() bool {
		line = re.FindString(d.out.String()[mark:])
		return line != ""
	})
	return line
}

// wait waits for the process to exit and returns its exit code.
func (d *daemonProc) wait(timeout time.Duration) int {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.t.Fatalf("wbd run did not exit within %v", timeout)
	}
	return d.cmd.ProcessState.ExitCode()
}

// lockedBuffer is a bytes.Buffer safe for a writing process and a reading test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ctrState is a container as `docker inspect` reports it; ID is "" when absent.
type ctrState struct {
	ID, State, Image, Health string
}

func inspectCtr(t *testing.T, host, name string) ctrState {
	t.Helper()
	args := []string{"inspect", "--type", "container", name}
	if host != "" {
		args = append([]string{"-H", host}, args...)
	}
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		return ctrState{}
	}
	var got []struct {
		ID    string `json:"Id"`
		State struct {
			Status string
			Health *struct{ Status string }
		}
		Config struct{ Image string }
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 1 {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	c := ctrState{ID: got[0].ID, State: got[0].State.Status, Image: got[0].Config.Image}
	if got[0].State.Health != nil {
		c.Health = got[0].State.Health.Status
	}
	return c
}

func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// retag gives wbd.local/app:1 a second tag for the test, removed after it.
func retagApp(t *testing.T, host string) string {
	t.Helper()
	tag := "wbd.local/app:" + uniqueName(t)
	h := func(args ...string) []string {
		if host != "" {
			return append([]string{"-H", host}, args...)
		}
		return args
	}
	dockerCLI(t, h("tag", "wbd.local/app:1", tag)...)
	t.Cleanup(func() { exec.Command("docker", h("rmi", tag)...).Run() })
	return tag
}

// running waits until the three containers of instance name run, the
// postgres and app healthy, and returns them.
func waitRunning(t *testing.T, host, name string, timeout time.Duration) (pg, redis, app ctrState) {
	t.Helper()
	waitUntil(t, timeout, name+" running and healthy", func() bool {
		pg, redis, app = inspectCtr(t, host, name+"-postgres"), inspectCtr(t, host, name+"-redis"), inspectCtr(t, host, name)
		return pg.Health == "healthy" && redis.State == "running" && app.Health == "healthy"
	})
	return pg, redis, app
}
