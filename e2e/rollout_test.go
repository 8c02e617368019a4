package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// A rollout stops at the instance that fails, says which were done, which
// failed and which were left untouched; --keep-going goes past it.
func TestRolloutStopsAtTheFailingInstance(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	first := o.declare(nil)
	broken := o.declare(func(in *instance) { in.Images.App = "wbd.local/nope:1" }) // not here, no registry to pull it from
	last := o.declare(nil)

	r := o.wbd("apply", "--all")
	if r.code != 1 {
		t.Fatalf("apply --all with a failing instance: want exit 1\n%s", r)
	}
	got := outcomes(r, o.instances)
	for in, want := range map[*instance]string{first: "applied", broken: "failed", last: "untouched"} {
		if got[in.Name] != want {
			t.Errorf("summary says %s %q, want %q\n%s", in.Name, got[in.Name], want, r)
		}
	}
	if want := fmt.Sprintf("1 done, 1 failed (%s), 1 untouched (%s)", broken.Name, last.Name); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not sum up %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "wbd.local/nope:1") {
		t.Errorf("the failure does not name the missing image:\n%s", r.stderr)
	}
	runs(t, first)
	for _, name := range containerNames(last) {
		if _, ok := lookup(t, name); ok {
			t.Errorf("untouched instance has container %s", name)
		}
	}
	firstBefore := takeSnapshot(t, containerNames(first)[0], first.Name+"-redis", first.Name+"-postgres")

	r = o.wbd("apply", "--all", "--keep-going")
	if r.code != 1 {
		t.Fatalf("apply --all --keep-going with a failing instance: want exit 1\n%s", r)
	}
	got = outcomes(r, o.instances)
	for in, want := range map[*instance]string{first: "applied", broken: "failed", last: "applied"} {
		if got[in.Name] != want {
			t.Errorf("--keep-going: summary says %s %q, want %q\n%s", in.Name, got[in.Name], want, r)
		}
	}
	runs(t, last)
	requireUnchanged(t, "a second apply --all", firstBefore, takeSnapshot(t, containerNames(first)[0], first.Name+"-redis", first.Name+"-postgres"))
}

// An instance on another Docker endpoint is applied through it; one whose
// endpoint does not answer fails alone, naming its host.
func TestInstancesFollowTheirHost(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	proxy := startDockerProxy(t)
	closed := closedPort(t)
	unreachableHost := fmt.Sprintf("tcp://127.0.0.1:%d", closed)

	viaProxy := o.declare(func(in *instance) { in.Host = "tcp://" + proxy.addr() })
	unreachable := o.declare(func(in *instance) { in.Host = unreachableHost })
	local := o.declare(nil)

	r := o.wbd("apply", "--all", "--keep-going")
	if r.code != 1 {
		t.Fatalf("apply --all --keep-going with an unreachable host: want exit 1\n%s", r)
	}
	got := outcomes(r, o.instances)
	for in, want := range map[*instance]string{viaProxy: "applied", unreachable: "failed", local: "applied"} {
		if got[in.Name] != want {
			t.Errorf("summary says %s %q, want %q\n%s", in.Name, got[in.Name], want, r)
		}
	}
	if n := proxy.connections(); n == 0 {
		t.Errorf("no connection went through %s: %s was not applied through its host", viaProxy.Host, viaProxy.Name)
	}
	runs(t, viaProxy)
	runs(t, local)
	if !strings.Contains(r.stderr, unreachable.Name+": ") || !strings.Contains(r.stderr, unreachableHost) {
		t.Errorf("the failure of %s does not name its host %s:\n%s", unreachable.Name, unreachableHost, r.stderr)
	}
	for _, name := range containerNames(unreachable) {
		if _, ok := lookup(t, name); ok {
			t.Errorf("container %s of the unreachable host's instance exists on the local engine", name)
		}
	}

	// Commands on that instance go through its host too.
	n := proxy.connections()
	o.mustWbd("down", viaProxy.Name)
	if proxy.connections() == n {
		t.Errorf("wbd down %s did not go through its host", viaProxy.Name)
	}
}

// runs fails the test unless the instance's app, redis and postgres run.
func runs(t *testing.T, in *instance) {
	t.Helper()
	for _, name := range []string{in.Name, in.Name + "-redis", in.Name + "-postgres"} {
		c, ok := lookup(t, name)
		if !ok || c.State.Status != "running" {
			t.Errorf("%s: %s, want running", name, c.State.Status)
		}
	}
}

// outcomes reads the summary wbd prints on stdout, one line per instance:
// NAME RESULT [DURATION] DETAIL.
func outcomes(r result, ins []*instance) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, in := range ins {
			if f[0] == in.Name {
				out[in.Name] = f[1]
			}
		}
	}
	return out
}

// dockerProxy is another endpoint for the local engine: a TCP listener on
// loopback whose connections are spliced to the engine's unix socket.
type dockerProxy struct {
	ln    net.Listener
	count atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

const dockerSocket = "/var/run/docker.sock"

func startDockerProxy(t *testing.T) *dockerProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dockerProxy{ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *dockerProxy) addr() string     { return p.ln.Addr().String() }
func (p *dockerProxy) connections() int { return int(p.count.Load()) }

func (p *dockerProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.count.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.splice(c.(*net.TCPConn))
		}()
	}
}

// splice copies both ways until both sides are done, passing half-closes on
// (the engine's attach and hijacked streams rely on them).
func (p *dockerProxy) splice(c *net.TCPConn) {
	defer c.Close()
	up, err := net.Dial("unix", dockerSocket)
	if err != nil {
		return
	}
	defer up.Close()
	p.track(c, up)
	defer p.untrack(c, up)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(up, c)
		up.(*net.UnixConn).CloseWrite()
		done <- struct{}{}
	}()
	io.Copy(c, up)
	c.CloseWrite()
	<-done
}

func (p *dockerProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *dockerProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *dockerProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
