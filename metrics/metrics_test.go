package metrics

import (
	"maps"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/wbd-dev/wbd/events"
)

// series is every series of the metric name, each with its labels.
func series(t *testing.T, m *Metrics, name string) map[*dto.Metric]map[string]string {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[*dto.Metric]map[string]string{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.Metric {
			labels := map[string]string{}
			for _, l := range s.Label {
				labels[l.GetName()] = l.GetValue()
			}
			out[s] = labels
		}
	}
	return out
}

// rollouts is the value of wbd_rollouts_total for instance and result, and
// whether that series is exposed at all.
func rollouts(t *testing.T, m *Metrics, instance, result string) (float64, bool) {
	t.Helper()
	for s, labels := range series(t, m, "wbd_rollouts_total") {
		if labels["instance"] == instance && labels["result"] == result {
			return s.Counter.GetValue(), true
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
	got := series(t, m, "wbd_build_info")
	if len(got) != 1 {
		t.Fatalf("wbd_build_info: %v, want one series", got)
	}
	want := map[string]string{"version": "v1.2.3", "revision": "0123abc", "goversion": "go1.26.8", "goos": "linux", "goarch": "amd64", "compose": "v5.6.0"}
	for s, labels := range got {
		if s.Gauge.GetValue() != 1 || !maps.Equal(labels, want) {
			t.Errorf("wbd_build_info%v = %v, want %v at 1", labels, s.Gauge.GetValue(), want)
		}
	}
}
