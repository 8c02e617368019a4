// Package cacheprom exports the events of package cache's Caches as
// Prometheus metrics. It is a module of its own, so that an app that wants
// only the cache does not pull in the Prometheus client.
//
//	metrics := cacheprom.New(cacheprom.Opts{Namespace: "myapp"})
//	prometheus.MustRegister(metrics)
//	datasets := cache.New(conn, "datasets", hashes, cache.WithObserver(metrics))
//
// Every cache.Kind is a counter, labelled with the cache's prefix as
// "cache" and equal to the Counters field of the same name:
// cache_hits_total, cache_misses_total, cache_stale_misses_total,
// cache_loads_total, cache_load_errors_total, cache_deduplicated_total,
// cache_stores_total, cache_redis_errors_total and cache_oversized_total
// (with a namespace in front: myapp_cache_hits_total). Latency is in three
// histograms: cache_read_duration_seconds (the Redis read of a lookup,
// labelled result="hit" or "miss"), cache_load_duration_seconds and
// cache_store_duration_seconds.
package cacheprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wbd-dev/wbd/cache"
)

// Opts configures the metrics.
type Opts struct {
	// Namespace prefixes every metric's name, as in prometheus.Opts.
	Namespace string
}

// Metrics is a cache.Observer that counts what it observes, and the
// prometheus.Collector of those counts. One Metrics serves any number of
// Caches, told apart by their prefix.
type Metrics struct {
	counters [cacheKinds]*prometheus.CounterVec
	read     *prometheus.HistogramVec
	load     *prometheus.HistogramVec
	store    *prometheus.HistogramVec
}

// cacheKinds bounds the values of cache.Kind.
const cacheKinds = int(cache.Oversized) + 1

// counterOpts names and describes the counter of each cache.Kind.
var counterOpts = map[cache.Kind]struct{ name, help string }{
	cache.Hit:          {"hits_total", "Lookups that found the entry in Redis at the wanted version."},
	cache.Miss:         {"misses_total", "Lookups that found nothing usable, stale misses included."},
	cache.StaleMiss:    {"stale_misses_total", "Lookups that found the entry at another version."},
	cache.Load:         {"loads_total", "Loader calls."},
	cache.LoadError:    {"load_errors_total", "Loader calls that failed or panicked."},
	cache.Deduplicated: {"deduplicated_total", "Calls that joined a running read or load instead of starting one."},
	cache.Store:        {"stores_total", "Entries written to Redis."},
	cache.RedisError:   {"redis_errors_total", "Redis operations that failed, timeouts included."},
	cache.Oversized:    {"oversized_total", "Loaded values not stored for exceeding the maximum size."},
}

// New returns the metrics, to register with a prometheus.Registerer and to
// pass to cache.WithObserver.
func New(o Opts) *Metrics {
	m := &Metrics{}
	for k, c := range counterOpts {
		m.counters[k] = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: o.Namespace, Subsystem: "cache", Name: c.name, Help: c.help,
		}, []string{"cache"})
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: o.Namespace, Subsystem: "cache", Name: name, Help: help, Buckets: buckets,
		}, append([]string{"cache"}, labels...))
	}
	// A read is a Redis round trip, 100µs to the 100ms operation timeout,
	// longer for large entries; a load is the app's own work, up to the
	// 10 minute load timeout.
	m.read = histogram("read_duration_seconds", "Redis reads of lookups, by result.",
		prometheus.ExponentialBuckets(0.0001, 4, 9), "result")
	m.load = histogram("load_duration_seconds", "Loader calls.", prometheus.ExponentialBuckets(0.001, 4, 11))
	m.store = histogram("store_duration_seconds", "Writes of loaded values to Redis.", prometheus.ExponentialBuckets(0.0001, 4, 9))
	return m
}

// Observe implements cache.Observer.
func (m *Metrics) Observe(e cache.Event) {
	if int(e.Kind) <= 0 || int(e.Kind) >= cacheKinds {
		return // a kind newer than this package
	}
	m.counters[e.Kind].WithLabelValues(e.Cache).Inc()
	if e.Duration <= 0 {
		return
	}
	s := e.Duration.Seconds()
	switch e.Kind {
	case cache.Hit:
		m.read.WithLabelValues(e.Cache, "hit").Observe(s)
	case cache.Miss:
		m.read.WithLabelValues(e.Cache, "miss").Observe(s)
	case cache.Load:
		m.load.WithLabelValues(e.Cache).Observe(s)
	case cache.Store:
		m.store.WithLabelValues(e.Cache).Observe(s)
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{m.read, m.load, m.store}
	for _, c := range m.counters[cache.Hit:] {
		cs = append(cs, c)
	}
	return cs
}
