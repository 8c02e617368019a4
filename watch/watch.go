// Package watch produces wbd's desired state from instances.yaml: it watches
// the file and sends every new content, parsed, or the reason it is not
// valid, on a channel. It decides nothing else.
//
// Editors save by writing a temporary file and renaming it over the old one,
// so the watcher watches the file's directory, not the file, and debounces
// the burst of events a save makes. It starts watching before it first
// reads, so no save is missed, and skips empty and unchanged content.
//
// The path is followed to whatever it resolves to, again after every event
// that matters: a link re-pointed, a ConfigMap's ..data swapped, the file's
// directory replaced. What no event tells is found by the resync, which
// reads the file and compares its content with what was last sent.
//
// A file that names its own templates directory makes the templates part of
// the content: a saved *.tmpl there is a change like a saved file.
package watch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/wbd-dev/wbd/spec"
)

// DefaultDebounce is how long the file must be quiet before it is read:
// long enough for the writes of one save (an editor's rename is one event,
// a write in place a few within a millisecond), short enough not to be
// what a rollout waits for. A file read while half written fails to
// parse and is read again at the next event.
const DefaultDebounce = 50 * time.Millisecond

// Update is one new state of the file.
type Update struct {
	// Config is the parsed file; nil when Err is set.
	Config *spec.Config
	// Err says why the file is not a configuration: it cannot be read, or
	// is invalid (a spec.ErrorList whose entries print as FILE:LINE:COL).
	Err error
	// Reload is set when Reload asked for this read, whether or not the
	// content changed.
	Reload bool
}

// Options tune a Watcher.
type Options struct {
	// Debounce is how long the file must be quiet before it is read;
	// zero means DefaultDebounce.
	Debounce time.Duration
	// Logger receives what the watcher skips and what it watches; nil
	// discards it.
	Logger *slog.Logger
	// Resync is how often the file is read even without an event, so that
	// a change no event announced costs at most one period; zero never.
	Resync time.Duration
}

// Log keys.
const (
	keyFile  = "file"
	keyDir   = "dir"
	keyError = "error"
)

// Watcher watches one instances file.
type Watcher struct {
	name     string // as given: messages show it
	abs      string // name made absolute, not resolved
	chain    chain  // what abs resolves to, as last looked
	debounce time.Duration
	resync   time.Duration
	log      *slog.Logger
	fsw      *fsnotify.Watcher // nil in tests that feed events themselves
	watched  map[string]dirID  // the directories fsw watches
	// unwatched are directories that could not be watched, logged once.
	unwatched map[string]bool
	tmplDir   string // the templates directory, or ""
	reload    chan struct{}
	last      [sha256.Size]byte
	read      bool // last holds a content
}

// New starts watching the directories of path and of everything it
// resolves to, so that a change made once New has returned is seen by Run.
func New(path string, opts Options) (*Watcher, error) {
	w, err := newWatcher(path, opts)
	if err != nil {
		return nil, err
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	w.fsw = fsw
	w.follow()
	if len(w.watched) == 0 {
		fsw.Close()
		return nil, fmt.Errorf("watch %s: no directory of it can be watched", path)
	}
	return w, nil
}

func newWatcher(path string, opts Options) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	w := &Watcher{
		name:      path,
		abs:       abs,
		debounce:  opts.Debounce,
		resync:    opts.Resync,
		log:       opts.Logger,
		watched:   map[string]dirID{},
		unwatched: map[string]bool{},
		reload:    make(chan struct{}, 1),
	}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.chain = resolve(abs)
	return w, nil
}

// Reload asks Run to read the file again and send it even if it did not
// change (SIGHUP). It does not wait.
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default: // one is already pending
	}
}

// Run reads the file, sends it on out, then sends every change until ctx
// ends. It returns nil when ctx ends, or why watching failed.
func (w *Watcher) Run(ctx context.Context, out chan<- Update) error {
	defer w.fsw.Close()
	return w.loop(ctx, w.fsw.Events, w.fsw.Errors, out)
}

// loop is Run over any event source.
func (w *Watcher) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, out chan<- Update) error {
	quiet := time.NewTimer(w.debounce)
	quiet.Stop()
	defer quiet.Stop()
	var resync <-chan time.Time
	if w.resync > 0 {
		t := time.NewTicker(w.resync)
		defer t.Stop()
		resync = t.C
	}
	if u, news := w.next(false); !w.send(ctx, out, u, news) {
		return nil
	}
	for {
		var u Update
		var news bool
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("watch %s: event stream closed", w.name)
			}
			if w.matters(ev.Name) {
				// A link re-pointed or a directory replaced: watch what
				// the path resolves to now, before its next step.
				w.follow()
				quiet.Reset(w.debounce)
			}
			continue
		case err, ok := <-errs:
			if !ok {
				return fmt.Errorf("watch %s: event stream closed", w.name)
			}
			// Events may have been lost (queue overflow): read again.
			w.log.Warn("watching the instances file", keyFile, w.name, keyError, err)
			w.follow()
			quiet.Reset(w.debounce)
			continue
		case <-w.reload:
			w.follow()
			u, news = w.next(true)
		case <-quiet.C:
			w.follow()
			u, news = w.next(false)
		case <-resync:
			w.follow()
			if u, news = w.next(false); news {
				w.log.Warn("instances file changed without a watch event; read at resync", keyFile, w.name)
			}
		}
		if !w.send(ctx, out, u, news) {
			return nil
		}
	}
}

// matters reports whether an event on name may change the content: a name
// on the way from the path to the file, or a template of the templates
// directory.
func (w *Watcher) matters(name string) bool {
	name = filepath.Clean(name)
	if w.chain.names[name] {
		return true
	}
	return w.tmplDir != "" && filepath.Dir(name) == w.tmplDir && filepath.Ext(name) == templateExt
}

// send sends u when it is news. It returns false when ctx ended before out
// took it.
func (w *Watcher) send(ctx context.Context, out chan<- Update, u Update, news bool) bool {
	if !news {
		return true
	}
	select {
	case out <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// next reads the file and says whether it is news. It reads it as every
// command does: only a regular file, at most spec.MaxFileSize of it, and
// without blocking on a FIFO put in its place.
func (w *Watcher) next(force bool) (Update, bool) {
	data, err := spec.ReadFile(w.name)
	if err != nil {
		// An unreadable file is news once, like any content.
		sum := sha256.Sum256([]byte("\x00" + err.Error()))
		if w.read && sum == w.last && !force {
			return Update{}, false
		}
		w.last, w.read = sum, true
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("read %s: the file is gone: %w", w.name, fs.ErrNotExist)
		}
		return Update{Err: err, Reload: force}, true
	}
	if len(data) == 0 || isBlank(data) {
		w.log.Debug("instances file is empty; waiting for its content", "file", w.name)
		return Update{}, false
	}
	cfg, perr := spec.ParseFile(w.name, data)
	tmplDir := ""
	if perr == nil {
		tmplDir = cfg.Templates
	}
	w.watchTemplates(tmplDir)
	h := sha256.New()
	h.Write(data)
	writeTemplates(h, tmplDir)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if w.read && sum == w.last && !force {
		w.log.Debug("instances file and templates unchanged", "file", w.name)
		return Update{}, false
	}
	w.last, w.read = sum, true
	return Update{Config: cfg, Err: perr, Reload: force}, true
}

func isBlank(data []byte) bool {
	for _, b := range data {
		switch b {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
