package metrics

import (
	"maps"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/events"
)

// rollouts is the value of wbd_rollouts_total for instance and result, and
// whether that series is exposed at all.
func rollouts(t *testing.T, m *Metrics, instance, result string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "wbd_rollouts_total" {
			continue
		}
		for _, s := range f.Metric {
			labels := map[string]string{}
			for _, l := range s.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["instance"] == instance && labels["result"] == result {
				return s.Counter.GetValue(), true
			}
		}
	}
	return 0, false
}

// An instance the daemon reconciled is exposed with no rollback yet, at 0,
// so that its first rollback is an increase an alert sees.
func TestRolloutsStartAtZero(t *testing.T) {
	m := New(func() View { return View{} })
	if _, ok := rollouts(t, m, "testing", "rolled_back"); ok {
		t.Fatal("a series for an instance never reconciled")
	}
	m.Reconciled("testing", "in_sync", 50*time.Millisecond)
	for _, res := range []string{"ok", "rolled_back", "failed"} {
		if v, ok := rollouts(t, m, "testing", res); !ok || v != 0 {
			t.Errorf("wbd_rollouts_total{result=%q} after a reconcile = %v (exposed %v), want 0", res, v, ok)
		}
	}
	m.Event(events.Event{Instance: "testing", Action: events.Apply, Result: events.RolledBack})
	m.Event(events.Event{Instance: "testing", Action: events.Restart, Result: events.OK}) // no rollout
	m.Reconciled("testing", "rolled_back", time.Second)
	if v, _ := rollouts(t, m, "testing", "rolled_back"); v != 1 {
		t.Errorf("rolled_back = %v, want 1", v)
	}
	if v, _ := rollouts(t, m, "testing", "ok"); v != 0 {
		t.Errorf("ok = %v after a restart, want 0: a restart is no rollout", v)
	}
}

// wbd_build_info names the running wbd, at 1, as exporters do.
func TestBuildInfo(t *testing.T) {
	m := New(func() View { return View{} })
	m.SetBuild(Build{Version: "v1.2.3", Revision: "0123abc", GoVersion: "go1.26.8", GoOS: "linux", GoArch: "amd64", Compose: "v5.6.0"})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "wbd_build_info" {
			continue
		}
		if len(f.Metric) != 1 || f.Metric[0].Gauge.GetValue() != 1 {
			t.Fatalf("wbd_build_info: %v, want one series at 1", f.Metric)
		}
		got := map[string]string{}
		for _, l := range f.Metric[0].Label {
			got[l.GetName()] = l.GetValue()
		}
		want := map[string]string{"version": "v1.2.3", "revision": "0123abc", "goversion": "go1.26.8", "goos": "linux", "goarch": "amd64", "compose": "v5.6.0"}
		if !maps.Equal(got, want) {
			t.Errorf("labels %v, want %v", got, want)
		}
		return
	}
	t.Fatal("no wbd_build_info")
}
