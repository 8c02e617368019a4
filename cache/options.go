package cache

import (
	"log/slog"
	"time"
)

// Defaults of a Cache, TimCacheC's: entries live 15 to 30 days after a
// write (the jitter spreads the expiry of entries written together) and 30
// days after their last read.
const (
	DefaultWriteTTL       = 15 * 24 * time.Hour
	DefaultWriteTTLJitter = 15 * 24 * time.Hour
	DefaultReadTTL        = 30 * 24 * time.Hour
	// DefaultLoadTimeout bounds a load: a hung load would otherwise hold
	// every later caller of its key until their own deadlines.
	DefaultLoadTimeout = 10 * time.Minute
	// DefaultStoreTimeout bounds the SET after a load, plus the time a
	// large entry needs to cross the connection. It runs after the callers
	// have their result, so it can afford more than a read.
	DefaultStoreTimeout = time.Second
	// DefaultMaxValueSize is the largest entry stored: Redis' own limit on
	// a string (proto-max-bulk-len, 512 MB), which would refuse a larger
	// one anyway. The TypeScript TimCacheC stores any size; so does this
	// Cache, up to what Redis takes, since the largest values are the ones
	// most worth keeping across a restart.
	DefaultMaxValueSize = 512 << 20
)

type config struct {
	writeTTL, writeJitter time.Duration
	readTTL               time.Duration
	loadTimeout           time.Duration
	storeTimeout          time.Duration
	maxValueSize          int
	// firstRead, when set, replaces the operation timeout as the budget of
	// a read whose entry's size is unknown; only tests set it, to make that
	// read run out for sure.
	firstRead time.Duration
	codec     Codec
	logger    *slog.Logger
	observer  Observer
}

func defaultConfig(conn *Conn) config {
	logger := slog.Default()
	if conn != nil && conn.logger != nil {
		logger = conn.logger
	}
	return config{
		writeTTL:     DefaultWriteTTL,
		writeJitter:  DefaultWriteTTLJitter,
		readTTL:      DefaultReadTTL,
		loadTimeout:  DefaultLoadTimeout,
		storeTimeout: DefaultStoreTimeout,
		maxValueSize: DefaultMaxValueSize,
		codec:        JSONCodec{},
		logger:       logger,
	}
}

// Option configures a Cache.
type Option func(*config)

// WithWriteTTL sets the lifetime of a written entry: base plus a random
// duration below jitter, in whole seconds.
func WithWriteTTL(base, jitter time.Duration) Option {
	return func(c *config) { c.writeTTL, c.writeJitter = base, jitter }
}

// WithReadTTL sets the lifetime an entry gets back on each read hit; 0
// leaves it as it is.
func WithReadTTL(d time.Duration) Option {
	return func(c *config) { c.readTTL = d }
}

// WithLoadTimeout bounds each load; 0 means no bound.
func WithLoadTimeout(d time.Duration) Option {
	return func(c *config) { c.loadTimeout = d }
}

// WithStoreTimeout bounds the write of a loaded value to Redis.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) { c.storeTimeout = d }
}

// WithMaxValueSize sets the largest entry, in bytes, that is stored; larger
// values are returned to the callers but not stored (default 512 MB, what
// Redis takes). 0 means no limit of the Cache's own.
func WithMaxValueSize(n int) Option {
	return func(c *config) { c.maxValueSize = n }
}

// WithCodec sets how values are encoded (default JSONCodec).
func WithCodec(codec Codec) Option {
	return func(c *config) { c.codec = codec }
}

// WithObserver has o told of every event the Cache counts, for metrics
// (see Observer).
func WithObserver(o Observer) Option {
	return func(c *config) { c.observer = o }
}

// WithLogger sets the Cache's logger (default the Conn's).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
