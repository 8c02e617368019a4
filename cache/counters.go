package cache

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Counters are a Cache's running totals since it was made.
type Counters struct {
	Hits         uint64 // entries found in Redis at the wanted version
	Misses       uint64 // lookups that found nothing usable, StaleMisses included
	StaleMisses  uint64 // entries found at another version
	Loads        uint64 // loader calls, counted as each returns
	LoadErrors   uint64 // loader calls that failed or panicked
	Deduplicated uint64 // calls that joined a running read or load instead of starting one
	Stores       uint64 // entries written
	RedisErrors  uint64 // Redis operations that failed, timeouts included
	Oversized    uint64 // loaded values not stored for exceeding the maximum size
}

// An Observer is told of every event a Cache counts, as it happens: the
// hook for metrics (package cacheprom exports them to Prometheus) or
// tracing. Observe runs on the goroutine of the call, on the path of every
// lookup, so it must be quick and must not block; calls are concurrent.
type Observer interface {
	Observe(Event)
}

// Event is one event of a Cache: one more in the Counters field its Kind
// is named for. A stale miss is therefore two events, StaleMiss then Miss,
// and a failed load two, Load then LoadError.
type Event struct {
	Cache string // the Cache's prefix
	Kind  Kind
	// Duration is the Redis read of a Hit or Miss (0 when caching is
	// disabled), the loader's run of a Load or LoadError, the write of a
	// Store; 0 for the other kinds.
	Duration time.Duration
	Err      error // the loader's error of a LoadError, the failure of a RedisError
}

// Kind says what an Event counts.
type Kind uint8

// The kinds of Event, one per field of Counters.
const (
	Hit Kind = iota + 1
	Miss
	StaleMiss
	Load
	LoadError
	Deduplicated
	Store
	RedisError
	Oversized
	numKinds
)

var kindNames = [numKinds]string{"", "hit", "miss", "stale_miss", "load", "load_error", "deduplicated", "store", "redis_error", "oversized"}

// String returns the kind's name in snake case, "stale_miss" say, fit for a
// metric's name or label.
func (k Kind) String() string {
	if k > 0 && k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

type counters [numKinds]atomic.Uint64

func (c *counters) snapshot() Counters {
	return Counters{
		Hits:         c[Hit].Load(),
		Misses:       c[Miss].Load(),
		StaleMisses:  c[StaleMiss].Load(),
		Loads:        c[Load].Load(),
		LoadErrors:   c[LoadError].Load(),
		Deduplicated: c[Deduplicated].Load(),
		Stores:       c[Store].Load(),
		RedisErrors:  c[RedisError].Load(),
		Oversized:    c[Oversized].Load(),
	}
}

// record counts an event of kind k and tells the Observer.
func (c *Cache[U, V, T]) record(k Kind, d time.Duration, err error) {
	c.n[k].Add(1)
	if o := c.cfg.observer; o != nil {
		o.Observe(Event{Cache: c.prefix, Kind: k, Duration: d, Err: err})
	}
}

// ObserverFunc is an Observer made of a function.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }
