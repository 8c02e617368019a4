package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/metrics"
)

// scrape gathers m as a scraper would and parses the text with
// Prometheus' own parser.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, rec.Body.String())
	}
	return fams
}

// value is the metric of fams named name whose labels include labels
// (pairs), or -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// A good apply, a failed one and one rolled back: the metrics say so, the
// events log says the same, and their counts agree.
func TestMetricsAndEventsOfAStory(t *testing.T) {
	var m *metrics.Metrics
	var e *env
	e = newEnv(t, Config{
		OnEvent: func(ev events.Event) { m.Event(ev) },
		OnReconciled: func(st InstanceStatus, took time.Duration) {
			m.Reconciled(st.Instance, st.Result.Label(), took)
		},
	})
	m = metrics.New(func() metrics.View { return e.r.Snapshot().Metrics() })
	e.local.failImage["app:nopull"] = fakeFailure{err: errors.New("pull app:nopull: not found")}
	e.local.failImage["app:bad"] = fakeFailure{err: errors.New("app exited with code 1"), touched: true}

	e.r.Reconcile(t.Context(), desired(t, e.root, inst{name: "alpha", app: "app:1", port: 40001}))
	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wbd_instance_info", []string{"instance", "alpha", "host", "local", "revision", "1"}, 1},
		{"wbd_instance_ready", []string{"instance", "alpha"}, 1},
		{"wbd_instance_in_sync", []string{"instance", "alpha"}, 1},
		{"wbd_reconcile_total", []string{"instance", "alpha", "result", "applied"}, 1},
		{"wbd_rollouts_total", []string{"instance", "alpha", "result", "ok"}, 1},
		{"wbd_config_valid", nil, 1},
		{"wbd_engine_up", []string{"host", "local"}, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("after a good apply: %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if value(fams, "wbd_config_last_load_timestamp_seconds") != float64(e.now.Unix()) {
		t.Errorf("last load = %v, want %d", value(fams, "wbd_config_last_load_timestamp_seconds"), e.now.Unix())
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "wbd_reconcile_duration_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	e.r.Reconcile(t.Context(), desired(t, e.root, inst{name: "alpha", app: "app:nopull", port: 40001}))
	fams = scrape(t, m)
	if v := value(fams, "wbd_rollouts_total", "instance", "alpha", "result", "failed"); v != 1 {
		t.Errorf("after a failed apply: rollouts failed = %v", v)
	}
	if v := value(fams, "wbd_instance_in_sync", "instance", "alpha"); v != 0 {
		t.Errorf("after a failed apply: in sync = %v", v)
	}
	if v := value(fams, "wbd_reconcile_total", "instance", "alpha", "result", "failed"); v != 1 {
		t.Errorf("after a failed apply: reconciles failed = %v", v)
	}

	e.now = e.now.Add(time.Hour) // past the backoff
	e.r.Reconcile(t.Context(), desired(t, e.root, inst{name: "alpha", app: "app:bad", port: 40001}))
	fams = scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wbd_rollouts_total", []string{"instance", "alpha", "result", "rolled_back"}, 1},
		{"wbd_reconcile_total", []string{"instance", "alpha", "result", "rolled_back"}, 1},
		// It runs revision 1 again: ready, not what the file says.
		{"wbd_instance_info", []string{"instance", "alpha", "revision", "1"}, 1},
		{"wbd_instance_ready", []string{"instance", "alpha"}, 1},
		{"wbd_instance_in_sync", []string{"instance", "alpha"}, 0},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("after a rollback: %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := len(fams["wbd_instance_info"].GetMetric()); n != 1 {
		t.Errorf("%d wbd_instance_info series, want 1 (no stale revision)", n)
	}

	// The events log: the same three, and the counts agree.
	evs, err := events.Read(e.root, events.Filter{}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	counts := map[string]float64{}
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %s %s %d>%d", ev.Instance, ev.Action, ev.Result, ev.From, ev.To))
		if !ev.Actor.Daemon || ev.Actor.PID == 0 {
			t.Errorf("actor %+v, want the daemon", ev.Actor)
		}
		counts[string(ev.Result)]++
	}
	want := []string{"alpha apply ok 0>1", "alpha apply failed 1>1", "alpha apply rolled_back 1>1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
	for _, res := range []events.Result{events.OK, events.Failed, events.RolledBack} {
		if m := value(fams, "wbd_rollouts_total", "result", string(res)); m != counts[string(res)] {
			t.Errorf("rollouts %s: metric %v, events %v", res, m, counts[string(res)])
		}
	}
	if evs[2].Failed != 3 { // 2 is the one that failed before touching anything
		t.Errorf("rolled back event names revision %d as failed, want 3", evs[2].Failed)
	}
}
