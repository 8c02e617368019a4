package cache

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wbd-dev/wbd/cache/cachetest"
)

func TestMain(m *testing.M) {
	// go-redis logs each failed dial itself; the outage tests count the
	// Conn's lines, not these.
	redis.SetLogger(RedisLogger{Logger: slog.New(slog.DiscardHandler)})
	// The examples log through the default logger, to stderr, which their
	// output does not include; tests give their Conns a logger of their own.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// item is the value type of most tests.
type item struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Body    string `json:"body"`
}

var itemHashes = Hashes[string, string, item]{
	UniquenessHash: func(id string) string { return id },
	VersionHash:    func(v string) string { return v },
}

// records is a slog.Handler that keeps the records it is given, so tests
// can count log lines.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// count returns how many records have a message containing msg.
func (r *records) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if strings.Contains(rec.Message, msg) {
			n++
		}
	}
	return n
}

func (r *records) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.recs {
		b.WriteString(rec.Level.String() + " " + rec.Message)
		rec.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}

// open connects to srv with a logger recording into the returned records.
func open(t testing.TB, rawURL string, opts ...ConnOption) (*Conn, *records) {
	t.Helper()
	recs := &records{}
	opts = append([]ConnOption{WithConnLogger(slog.New(recs))}, opts...)
	conn, err := Open(t.Context(), rawURL, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, recs
}

// newItems starts a redis-server and returns a Cache of items on it, and
// the raw client to inspect Redis with. The operation timeout is generous
// unless a test sets its own: only the outage tests are about timing.
func newItems(t testing.TB, opts ...Option) (*Cache[string, string, item], redis.UniversalClient, *records) {
	t.Helper()
	srv := cachetest.NewServer(t)
	conn, recs := open(t, srv.URL, WithOpTimeout(5*time.Second))
	return New(conn, "items", itemHashes, opts...), conn.Client(), recs
}

// loader returns a loader of it that counts its calls in n.
func loader(it item, n *int) func(context.Context) (item, error) {
	var mu sync.Mutex
	return func(context.Context) (item, error) {
		mu.Lock()
		defer mu.Unlock()
		*n++
		return it, nil
	}
}
