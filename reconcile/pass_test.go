package reconcile

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/lifecycle"
)

// many returns n instances named prefix-NN on host, ports from port.
func many(prefix, host string, port, n int) []inst {
	var out []inst
	for i := range n {
		out = append(out, inst{name: fmt.Sprintf("%s-%02d", prefix, i+1), app: "wbd.local/app:1", port: port + i, host: host})
	}
	return out
}

func TestPassReadsEachEngineOnce(t *testing.T) {
	e := newEnv(t, Config{})
	remote := newFakeEngine("tcp://box:2375")
	e.hosts.engines["tcp://box:2375"] = remote
	ins := append(many("near", "", 41000, 5), many("far", "tcp://box:2375", 41100, 4)...)
	d := desired(t, e.root, ins...)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ls, lp, _ := e.local.calls()
		rs, rp, _ := remote.calls()
		if err := e.r.Reconcile(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		ls2, lp2, _ := e.local.calls()
		rs2, rp2, _ := remote.calls()
		if ls2-ls != 1 || rs2-rs != 1 {
			t.Errorf("an unchanged pass read the local engine %d times and the remote %d, want once each", ls2-ls, rs2-rs)
		}
		if lp2 != lp || rp2 != rp {
			t.Errorf("an unchanged pass planned %d instances against the engine itself, want none: all from its snapshot", lp2-lp+rp2-rp)
		}
	}
	for _, in := range ins {
		if st := e.status(in.name); !st.InSync {
			t.Errorf("%s: %+v, want in sync", in.name, st)
		}
	}
	// A change is planned from the snapshot and applied by the rollout
	// with that plan: nothing is planned against the engine.
	changed := ins[2]
	changed.app = "wbd.local/app:2"
	ins[2] = changed
	_, lp, _ := e.local.calls()
	if err := e.r.Reconcile(t.Context(), desired(t, e.root, ins...)); err != nil {
		t.Fatal(err)
	}
	if _, lp2, _ := e.local.calls(); lp2 != lp {
		t.Errorf("a pass with one change planned %d instances against the engine, want none", lp2-lp)
	}
	if got := e.local.count(changed.name); got != 2 {
		t.Errorf("%s applied %d times, want 2", changed.name, got)
	}
}

func TestPassUnreachableHostCostsOneTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	remote := newFakeEngine("tcp://box:2375")
	e.hosts.engines["tcp://box:2375"] = remote
	e.hosts.timeout = 20 * time.Millisecond
	remote.slow = 20 * time.Millisecond
	far := many("far", "tcp://box:2375", 42000, 30)
	d := desired(t, e.root, append(far, a1)...)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}

	t.Run("it stops answering mid-way", func(t *testing.T) {
		remote.setDown(true)
		s0, plans0, p0 := remote.calls()
		err := e.r.Reconcile(t.Context(), d)
		if !errors.Is(err, lifecycle.ErrUnreachable) {
			t.Fatalf("err=%v, want unreachable", err)
		}
		s, plans, pings := remote.calls()
		if s-s0 != 1 || pings-p0 != 1 {
			t.Errorf("30 instances of a host gone: %d snapshots and %d pings, each of which takes a timeout; want 1 and 1", s-s0, pings-p0)
		}
		if plans != plans0 {
			t.Errorf("%d instances planned against a host known down", plans-plans0)
		}
		for _, in := range far {
			if st := e.status(in.name); st.Result != ResultUnreachable || st.Failures != 0 {
				t.Fatalf("%s=%+v, want unreachable, no failure counted", in.name, st)
			}
		}
		if st := e.status("alpha"); !st.InSync {
			t.Errorf("alpha, on a host that answers: %+v", st)
		}
	})

	t.Run("each pass tries it once", func(t *testing.T) {
		for range 4 {
			e.now = e.now.Add(time.Minute) // past the host's backoff
			c0 := e.hosts.connects["tcp://box:2375"]
			s0, _, p0 := remote.calls()
			e.r.Reconcile(t.Context(), d)
			s, _, p := remote.calls()
			attempts := e.hosts.connects["tcp://box:2375"] - c0 + s - s0 + p - p0
			if attempts != 1 {
				t.Errorf("a pass over 30 instances of an unreachable host made %d attempts that each wait for a timeout, want 1", attempts)
			}
		}
	})
}

func TestPassBrokenInstanceBacksOffAlone(t *testing.T) {
	e := newEnv(t, Config{Retry: RetryPolicy{Base: time.Second, Max: time.Minute, Attempts: 100, Window: time.Hour}})
	ins := many("i", "", 43000, 100)
	broken := ins[41].name
	d := desired(t, e.root, ins...)
	if err := e.r.Reconcile(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	e.local.mu.Lock()
	e.local.failPlan[broken] = errors.New("inspect image: layer does not exist")
	e.local.mu.Unlock()

	var tried []time.Time
	for pass := range 70 {
		e.now = e.now.Add(time.Second)
		s0, _, p0 := e.local.calls()
		before := e.status(broken).Failures
		e.r.Reconcile(t.Context(), d)
		s, _, p := e.local.calls()
		if after := e.status(broken).Failures; after > before {
			tried = append(tried, e.now)
			if p-p0 != 1 {
				t.Errorf("pass %d: the broken instance's failure cost %d pings, want 1", pass, p-p0)
			}
		} else if p != p0 {
			t.Errorf("pass %d: %d pings while the broken instance waits out its backoff", pass, p-p0)
		}
		if s-s0 != 1 {
			t.Errorf("pass %d: %d snapshots, want 1 however often the broken instance failed", pass, s-s0)
		}
		for _, st := range e.r.Snapshot().Instances {
			if st.Instance != broken && (!st.InSync || st.Failures != 0) {
				t.Fatalf("pass %d: %s=%+v, want in sync", pass, st.Instance, st)
			}
		}
	}
	// Backoff 1 s, 2 s, 4 s ...: 7 tries in 70 passes, not 70.
	if len(tried) < 5 || len(tried) > 8 {
		t.Fatalf("the broken instance was tried %d times in 70 passes (at %v), want its backoff's 5 to 8", len(tried), tried)
	}
	for i := 2; i < len(tried); i++ {
		if gap, prev := tried[i].Sub(tried[i-1]), tried[i-1].Sub(tried[i-2]); gap < prev {
			t.Errorf("try %d came %v after the one before, which came %v after its own: want the backoff to grow", i, gap, prev)
		}
	}
	if st := e.status(broken); st.Result != ResultFailed || st.NextAttempt == nil {
		t.Errorf("broken: %+v, want failed with a next attempt", st)
	}
}
