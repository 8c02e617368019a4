package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
)

// TestRunEngineRestarted stops and starts a Docker engine under the daemon.
// The engine is a second dockerd of this test's own, in its own network
// namespace (its bridges and iptables rules stay out of the host's), so the
// machine's engine and whoever uses it are not disturbed. A local instance
// beside it shows that an engine that does not answer holds back only its
// own instances.
func TestRunEngineRestarted(t *testing.T) {
	requireEngineForRun(t)
	e2 := startSecondEngine(t)
	w := newDaemonWorld(t)
	local := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	far := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t), host: e2.host}
	w.save(local, far)
	d := startDaemon(t, w.file)
	waitRunning(t, "", local.name, 2*time.Minute)
	_, _, farApp := waitRunning(t, e2.host, far.name, 2*time.Minute)
	farTag := retagApp(t, e2.host) // while it answers

	// The engine goes away: logged once; edits to both instances apply
	// to the local one at once, the far one waits.
	e2.stop()
	d.waitLog(`docker engine does not answer; its instances wait for it" host=`+regexpQuote(e2.host), 30*time.Second)
	local.app, far.app = retagApp(t, ""), farTag
	w.save(local, far)
	waitUntil(t, time.Minute, "the local instance's rollout", func() bool {
		c := inspectCtr(t, "", local.name)
		return c.Image == local.app && c.State == "running"
	})
	waitUntil(t, 30*time.Second, "the far instance to wait for its engine", func() bool {
		st := w.status(far.name)
		return st != nil && st.Result == reconcile.ResultUnreachable
	})

	// It comes back: the daemon converges the far instance.
	e2.start()
	d.waitLog(`docker engine answers again" host=`+regexpQuote(e2.host), time.Minute)
	waitUntil(t, 2*time.Minute, "the far instance's rollout", func() bool {
		c := inspectCtr(t, e2.host, far.name)
		if c.ID != farApp.ID && c.Image == far.app && c.Health == "healthy" {
			farApp = c
			return true
		}
		return false
	})
	if n := strings.Count(d.out.String(), "docker engine does not answer"); n != 1 {
		t.Errorf("the engine's absence was logged %d times, want once", n)
	}

	// The engine is down when the daemon starts: it waits, then converges.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(45 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	e2.stop()
	far.env = map[string]string{"WBD_TEST": "while down"}
	w.save(local, far)
	d = startDaemon(t, w.file)
	d.waitLog(`docker engine does not answer; its instances wait for it" host=`+regexpQuote(e2.host), 30*time.Second)
	e2.start()
	waitUntil(t, 2*time.Minute, "the far app recreated with its new environment", func() bool {
		c := inspectCtr(t, e2.host, far.name)
		return c.ID != "" && c.ID != farApp.ID && c.Health == "healthy"
	})
	waitUntil(t, time.Minute, "the far instance in sync", func() bool {
		st := w.status(far.name)
		return st != nil && st.InSync
	})
}

// secondEngine is a dockerd of the test's own.
type secondEngine struct {
	t    *testing.T
	dir  string
	host string
	cmd  *exec.Cmd
	done chan struct{}
	// ownDisk are directories the engine sees as empty disks of its own
	// (tmpfs in its mount namespace), as a Docker host on another machine
	// would: what is written there on this machine, it does not see.
	ownDisk []string
	// dockerPools leaves the engine Docker's default address pools (31
	// bridge networks), as a host whose daemon.json nobody touched.
	dockerPools bool
}

// startSecondEngine starts a second dockerd with the stand-in images. Its
// bind mounts of the paths ownDisk resolve to a disk of its own.
func startSecondEngine(t *testing.T, ownDisk ...string) *secondEngine {
	t.Helper()
	return startEngine(t, &secondEngine{ownDisk: ownDisk}, standinImages)
}

// startEngine starts e, a second dockerd, with images from the machine's
// engine.
func startEngine(t *testing.T, e *secondEngine, images []string) *secondEngine {
	t.Helper()
	for _, bin := range []string{"dockerd", "unshare", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("a second engine needs %s: %v", bin, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("a second engine needs root")
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "wbd2-")
	if err != nil {
		t.Fatal(err)
	}
	e.t, e.dir, e.host = t, dir, "unix://"+filepath.Join(dir, "docker.sock")
	t.Cleanup(func() {
		e.stop()
		os.RemoveAll(dir)
	})
	e.start()
	// The stand-in images, from the machine's engine.
	save := exec.Command("docker", append([]string{"save"}, images...)...)
	load := exec.Command("docker", "-H", e.host, "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	if err := save.Wait(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	return e
}

// start runs dockerd in new network and mount namespaces and waits until
// it answers.
func (e *secondEngine) start() {
	e.t.Helper()
	script := "ip link set lo up"
	for _, d := range e.ownDisk {
		if err := os.MkdirAll(d, 0o755); err != nil {
			e.t.Fatal(err)
		}
		script += " && mount -t tmpfs wbd-own-disk " + d
	}
	script += " && exec dockerd" +
		" --data-root " + filepath.Join(e.dir, "data") +
		" --exec-root " + filepath.Join(e.dir, "exec") +
		" --pidfile " + filepath.Join(e.dir, "docker.pid") +
		" -H " + e.host
	if !e.dockerPools {
		script += " --default-address-pool base=10.213.0.0/16,size=24"
	}
	script += " --containerd-namespace wbdtest2 --containerd-plugins-namespace wbdtest2-plugins"
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	// unshare -m makes the mounts private: the tmpfs stays the engine's.
	e.cmd = exec.Command("unshare", "-n", "-m", "sh", "-c", script)
	e.cmd.Stdout, e.cmd.Stderr = log, log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		log.Close()
		close(done)
	}(e.cmd, e.done)
	waitUntil(e.t, time.Minute, "the second engine to answer", func() bool {
		return exec.Command("docker", "-H", e.host, "version").Run() == nil
	})
}

// stop stops dockerd as a shutdown would: its containers stop with it.
func (e *secondEngine) stop() {
	e.t.Helper()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(time.Minute):
		e.cmd.Process.Kill()
		<-e.done
	}
	e.cmd = nil
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(".", `\.`, "/", "/", "+", `\+`, "(", `\(`, ")", `\)`)
	return r.Replace(s)
}

// TestApplyOnAHostWithItsOwnDisk: an instance whose host is a Docker
// engine on another machine gets its directories and secrets on that
// machine, where its bind mounts resolve, made through its engine; this
// machine keeps only the lock and the rendered compose.yaml.
func TestApplyOnAHostWithItsOwnDisk(t *testing.T) {
	requireEngineForRun(t)
	w := newDaemonWorld(t)
	e2 := startSecondEngine(t, w.root)
	far := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t), host: e2.host}
	w.save(far)
	apply := func() {
		t.Helper()
		if out, err := exec.Command("wbd", "-f", w.file, "apply", far.name).CombinedOutput(); err != nil {
			t.Fatalf("wbd apply %s: %v\n%s", far.name, err, out)
		}
	}
	apply()
	waitRunning(t, e2.host, far.name, 2*time.Minute)

	here := filepath.Join(w.root, far.name)
	for _, sub := range []string{"secrets", "databases", "redis"} {
		if _, err := os.Stat(filepath.Join(here, sub)); !os.IsNotExist(err) {
			t.Errorf("%s made on this machine (%v), want it on the docker host only", sub, err)
		}
	}
	if _, err := os.Stat(filepath.Join(here, "compose.yaml")); err != nil {
		t.Errorf("the rendered compose.yaml is not kept here: %v", err)
	}
	secret := func() string {
		t.Helper()
		out, err := exec.Command("docker", "-H", e2.host, "exec", far.name+"-postgres", "cat", "/run/secrets/postgres_password").CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) < 20 {
			t.Fatalf("the postgres secret on the docker host: %v\n%s", err, out)
		}
		return string(out)
	}
	first := secret()

	// A second apply after a change keeps the host's secret: postgres,
	// initialised with it, still lets the app in.
	far.env = map[string]string{"WBD_TEST": "again"}
	w.save(far)
	apply()
	_, _, app := waitRunning(t, e2.host, far.name, 2*time.Minute)
	if app.Health != "healthy" {
		t.Errorf("app %s after the second apply, want healthy", app.Health)
	}
	if again := secret(); again != first {
		t.Error("the secret on the docker host was regenerated")
	}

	// The daemon prepares a new instance there the same way.
	more := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t), host: e2.host}
	w.save(far, more)
	startDaemon(t, w.file)
	waitRunning(t, e2.host, more.name, 2*time.Minute)
	if _, err := os.Stat(filepath.Join(w.root, more.name, "secrets")); !os.IsNotExist(err) {
		t.Errorf("the daemon made %s's secrets on this machine (%v), want them on the docker host only", more.name, err)
	}
}
