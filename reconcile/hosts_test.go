package reconcile

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// An engine of a host that left the file is closed (an ssh:// engine keeps
// an ssh process otherwise), once its instances are taken down and its
// event stream has stopped; the engines of the other hosts stay open.
func TestRunClosesTheEngineOfAHostThatLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{})
		remote := newFakeEngine("ssh://box")
		l.hosts.engines["ssh://deploy@box"] = remote
		far := inst{name: "far", app: "wbd.local/app:1", port: 40009, host: "ssh://deploy@box"}
		l.send(l.config(a1, far))
		l.wantApplies("alpha", 1)
		if got := remote.count("far"); got != 1 {
			t.Fatalf("far applied %d times, want 1", got)
		}
		// The status file, readable by all, never holds a user or password.
		s := l.r.Snapshot()
		if got := s.Instance("far").Host; got != "ssh://box" {
			t.Errorf("status of far: host %q, want ssh://box", got)
		}
		if got := s.Hosts[len(s.Hosts)-1].Host; got != "ssh://box" {
			t.Errorf("status of the host: %q, want ssh://box", got)
		}

		l.send(l.config(a1))
		if got, want := strings.Join(remote.downed(), ","), "far"; got != want {
			t.Fatalf("taken down on the host that left=%q, want %q", got, want)
		}
		if n, inUse := remote.closed(); n != 1 || inUse {
			t.Fatalf("engine of the host that left closed %d times (in use: %v), want once, unused", n, inUse)
		}
		if n, _ := l.local.closed(); n != 0 {
			t.Fatalf("local engine closed %d times while in the file", n)
		}
		if got := l.logs.grep(`host left the file; its engine is closed" host=ssh://box`); len(got) != 1 {
			t.Errorf("log=%q", l.logs.lines)
		}
		for _, h := range l.r.Snapshot().Hosts {
			if strings.Contains(h.Host, "box") {
				t.Errorf("status still lists the host that left: %+v", h)
			}
		}

		// Later passes neither close it again nor reconnect.
		a2 := a1
		a2.app = "wbd.local/app:2"
		l.send(l.config(a2))
		l.wantApplies("alpha", 2)
		if n, _ := remote.closed(); n != 1 {
			t.Fatalf("closed %d times, want 1", n)
		}
		if got := l.hosts.connects["ssh://deploy@box"]; got != 1 {
			t.Fatalf("connections to the host that left=%d, want 1", got)
		}
		l.cancel()
		err := <-l.done
		l.done <- err
		l.r.Close()
		if n, _ := remote.closed(); n != 1 {
			t.Fatalf("closed %d times after Close, want 1", n)
		}
		if n, _ := l.local.closed(); n != 1 {
			t.Fatalf("local engine closed %d times by Close, want 1", n)
		}
	})
}

// An engine that still holds an instance of the root that left the file
// (down failed, or the host did not answer) stays open to take it down.
func TestRunKeepsTheEngineOfAHostThatLeftUntilPruned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLoop(t, Config{})
		remote := newFakeEngine("tcp://box:2375")
		l.hosts.engines["tcp://box:2375"] = remote
		far := inst{name: "far", app: "wbd.local/app:1", port: 40009, host: "tcp://box"}
		l.send(l.config(a1, far))
		if got := remote.count("far"); got != 1 {
			t.Fatalf("far applied %d times, want 1", got)
		}
		remote.setDown(true)
		l.send(l.config(a1))
		if n, _ := remote.closed(); n != 0 {
			t.Fatalf("closed %d times while far is still on it", n)
		}
		remote.setDown(false)
		time.Sleep(time.Minute) // past the host's backoff
		l.tick <- time.Now()    // a resync prunes again
		synctest.Wait()
		if got, want := strings.Join(remote.downed(), ","), "far"; got != want {
			t.Fatalf("taken down=%q, want %q", got, want)
		}
		l.tick <- time.Now()
		synctest.Wait()
		if n, _ := remote.closed(); n != 1 {
			t.Fatalf("closed %d times once far is down, want 1", n)
		}
	})
}

// One engine written two ways is one connection.
func TestHostsKeyedByCanonicalForm(t *testing.T) {
	e := newEnv(t, Config{})
	remote := newFakeEngine("tcp://box:2375")
	e.hosts.engines["tcp://box:2375"] = remote
	x := inst{name: "xx", app: "wbd.local/app:1", port: 40011, host: "tcp://Box"}
	y := inst{name: "yy", app: "wbd.local/app:1", port: 40012, host: "tcp://box:2375/"}
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, x, y)); err != nil {
		t.Fatal(err)
	}
	if got := e.hosts.connects["tcp://box:2375"]; got != 1 || len(e.hosts.connects) != 1 {
		t.Fatalf("connections=%v, want one to tcp://box:2375", e.hosts.connects)
	}
	if got := len(e.r.Snapshot().Hosts); got != 1 {
		t.Fatalf("hosts in the status=%d, want 1", got)
	}
}
