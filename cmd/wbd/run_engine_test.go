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
}

func startSecondEngine(t *testing.T) *secondEngine {
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
	e := &secondEngine{t: t, dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock")}
	t.Cleanup(func() {
		e.stop()
		os.RemoveAll(dir)
	})
	e.start()
	// The stand-in images, from the machine's engine.
	save := exec.Command("docker", append([]string{"save"}, standinImages...)...)
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

// start runs dockerd in a new network namespace and waits until it answers.
func (e *secondEngine) start() {
	e.t.Helper()
	script := "ip link set lo up && exec dockerd" +
		" --data-root " + filepath.Join(e.dir, "data") +
		" --exec-root " + filepath.Join(e.dir, "exec") +
		" --pidfile " + filepath.Join(e.dir, "docker.pid") +
		" -H " + e.host +
		" --default-address-pool base=10.213.0.0/16,size=24" +
		" --containerd-namespace wbdtest2 --containerd-plugins-namespace wbdtest2-plugins"
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cmd = exec.Command("unshare", "-n", "sh", "-c", script)
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
