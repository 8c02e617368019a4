// Package metrics is wbd run's Prometheus metrics: what each instance runs
// and whether it is ready and in sync, read from the daemon's view at each
// scrape, and counts of reconciles and rollouts kept as they happen, with
// the Go runtime's and the process's own.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wbd-dev/wbd/events"
)

// View is the daemon's state as the gauges show it.
type View struct {
	ConfigValid bool      // the file as it is now is in force
	Loaded      time.Time // when the configuration in force was read
	Instances   []Instance
	Hosts       []Host
}

// Instance is one instance of the configuration in force.
type Instance struct {
	Name     string
	Host     string // as the file names it, without userinfo; "local" for the default
	Revision int
	Ready    bool
	InSync   bool
}

// Host is a Docker engine the daemon tried to reach.
type Host struct {
	Host string
	Up   bool
}

// Build is the running binary, as wbd_build_info labels it.
type Build struct {
	Version   string // wbd's
	Revision  string // the commit it was built from
	GoVersion string
	GoOS      string
	GoArch    string
	Compose   string // the version of the compose library it links
}

// Metrics holds wbd's metrics in a registry of its own.
type Metrics struct {
	reg        *prometheus.Registry
	reconciles *prometheus.CounterVec
	duration   prometheus.Histogram
	rollouts   *prometheus.CounterVec
	build      *prometheus.GaugeVec
}

const namespace = "wbd"

// New returns the metrics; view is called at every scrape.
func New(view func() View) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reconcile_total",
			Help: "Reconciles of an instance by the daemon, by what came of them (in_sync, applied, failed, rolled_back...).",
		}, []string{"instance", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "reconcile_duration_seconds",
			Help:    "How long a reconcile of one instance took, from its plan to its outcome.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rollouts_total",
			Help: "Changes the daemon made to an instance (its events log's apply events), by result: ok, rolled_back or failed.",
		}, []string{"instance", "result"}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "The wbd that runs: its version, commit, Go and compose library; always 1.",
		}, []string{"version", "revision", "goversion", "goos", "goarch", "compose"}),
	}
	m.reg.MustRegister(m.reconciles, m.duration, m.rollouts, m.build,
		&viewCollector{view: view},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// SetBuild says which wbd runs: wbd_build_info with b's labels, at 1, as
// Prometheus' exporters have it, so that a query or a dashboard can tell
// which version runs where (and join it to any other series).
func (m *Metrics) SetBuild(b Build) {
	m.build.Reset()
	m.build.WithLabelValues(b.Version, b.Revision, b.GoVersion, b.GoOS, b.GoArch, b.Compose).Set(1)
}

// Handler serves the metrics in the text or protobuf exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics are registered, to gather them in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// rolloutResults are the results wbd_rollouts_total counts.
var rolloutResults = []events.Result{events.OK, events.RolledBack, events.Failed}

// Reconciled counts one reconcile of instance that came to result (a
// closed set: the daemon's results) after took. From its first reconcile
// on, an instance's rollouts are counted from 0 for every result: a
// series that first appears at 1 is no increase to Prometheus, and an
// alert on increase(wbd_rollouts_total{result="rolled_back"}[1h]) would
// miss the first rollback.
func (m *Metrics) Reconciled(instance, result string, took time.Duration) {
	m.reconciles.WithLabelValues(instance, result).Inc()
	for _, r := range rolloutResults {
		m.rollouts.WithLabelValues(instance, string(r))
	}
	if took > 0 {
		m.duration.Observe(took.Seconds())
	}
}

// Event counts an event of the daemon's log: an apply is a rollout. The
// counts of wbd_rollouts_total are so those of the log's apply events.
func (m *Metrics) Event(e events.Event) {
	if e.Action == events.Apply {
		m.rollouts.WithLabelValues(e.Instance, string(e.Result)).Inc()
	}
}

// viewCollector turns the daemon's view into gauges at each scrape, so
// that an instance that left the file, or a revision replaced, leaves no
// series behind.
type viewCollector struct{ view func() View }

var (
	descInfo = prometheus.NewDesc(namespace+"_instance_info",
		"An instance of the file, with its Docker host and the revision it runs; always 1.", []string{"instance", "host", "revision"}, nil)
	descReady = prometheus.NewDesc(namespace+"_instance_ready",
		"1 when the instance's containers ran and were healthy at the last reconcile and no change is in progress.", []string{"instance"}, nil)
	descInSync = prometheus.NewDesc(namespace+"_instance_in_sync",
		"1 when the engine matched the file at the last reconcile.", []string{"instance"}, nil)
	descValid = prometheus.NewDesc(namespace+"_config_valid",
		"1 when the instances file as it is now is the configuration in force; 0 when it is invalid and the last valid one stays.", nil, nil)
	descLoaded = prometheus.NewDesc(namespace+"_config_last_load_timestamp_seconds",
		"When the configuration in force was read, in seconds since the epoch.", nil, nil)
	descEngine = prometheus.NewDesc(namespace+"_engine_up",
		"1 when the Docker engine answers.", []string{"host"}, nil)
)

func (c *viewCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descReady, descInSync, descValid, descLoaded, descEngine} {
		ch <- d
	}
}

func (c *viewCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.view()
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	for _, in := range v.Instances {
		gauge(descInfo, 1, in.Name, in.Host, strconv.Itoa(in.Revision))
		gauge(descReady, b2f(in.Ready), in.Name)
		gauge(descInSync, b2f(in.InSync), in.Name)
	}
	gauge(descValid, b2f(v.ConfigValid))
	if !v.Loaded.IsZero() {
		gauge(descLoaded, float64(v.Loaded.UnixNano())/1e9)
	}
	for _, h := range v.Hosts {
		gauge(descEngine, b2f(h.Up), h.Host)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
