package events

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/wbd-dev/wbd/instdir"
)

// Dir is wbd's own directory in a root; no instance can be named so.
const Dir = ".wbd"

// FileName is the events log in Dir.
const FileName = "events.jsonl"

// MaxSize is the size past which the log is rotated: it then starts anew
// and the old one is kept as events.jsonl.1, replacing the one before.
const MaxSize = 4 << 20

// Path is the events log of root.
func Path(root string) string { return filepath.Join(root, Dir, FileName) }

// Log appends events to the log of one root.
type Log struct {
	root   string
	actor  Actor
	redact func(string) string
	log    *slog.Logger
	now    func() time.Time
	limit  int64
	onErr  func(error)
	// OnRecord, when set, sees every event recorded, written or not
	// (the daemon's metrics and notifications).
	OnRecord func(Event)
}

// Options tunes a Log. Redact cleans every detail before it is written
// (an endpoint's password); Logger hears of events that could not be
// written.
type Options struct {
	Redact func(string) string
	Logger *slog.Logger
	Now    func() time.Time
	// OnError, when set, is told instead of Logger (a command's stderr).
	OnError func(error)
	// MaxSize replaces the package's MaxSize (tests).
	MaxSize int64
}

// Open returns the log of root, acting as actor. Nothing is written until
// an event is recorded.
func Open(root string, actor Actor, opts Options) *Log {
	l := &Log{root: root, actor: actor, redact: opts.Redact, log: opts.Logger, now: opts.Now, limit: opts.MaxSize, onErr: opts.OnError}
	if l.limit <= 0 {
		l.limit = MaxSize
	}
	if l.redact == nil {
		l.redact = func(s string) string { return s }
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Root is the root the log belongs to.
func (l *Log) Root() string { return l.root }

// Record appends e, its time and actor filled in when unset. A log that
// cannot be written costs the history its line, never the action: the
// failure is logged and returned.
func (l *Log) Record(e Event) error {
	if l == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	if e.Actor == (Actor{}) {
		e.Actor = l.actor
	}
	e.Detail = l.redact(oneLine(e.Detail))
	if l.OnRecord != nil {
		l.OnRecord(e)
	}
	data, err := json.Marshal(e)
	if err == nil {
		err = instdir.AppendFileIn(l.root, Path(l.root), append(data, '\n'), l.limit)
	}
	if err != nil {
		err = fmt.Errorf("events log of %s: %w", l.root, err)
		if l.onErr != nil {
			l.onErr(fmt.Errorf("%s's %s is not in the events log: %w", e.Instance, e.Action, err))
		} else {
			l.log.Warn("cannot record the event", "instance", e.Instance, "action", e.Action, "error", err)
		}
	}
	return err
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
