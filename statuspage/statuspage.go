// Package statuspage serves the daemon's view to a browser: one read-only
// HTML page that refreshes itself (no script, no external asset: it works
// offline and behind any proxy), and the same data as /status.json.
package statuspage

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/reconcile"
)

// Page is what the page shows, and what /status.json holds.
type Page struct {
	// Daemon is the daemon's view, its engines named as Shown names them.
	Daemon *reconcile.Status `json:"daemon"`
	// Events are the newest of the root's events log, newest first.
	Events []events.Event `json:"events"`
	// EventsError says why the events could not be read.
	EventsError string `json:"events_error,omitempty"`
}

// Options tunes the page.
type Options struct {
	// Refresh is how often the page reloads itself (default 5 s).
	Refresh time.Duration
	// Events is how many of the last events are shown (default 20).
	Events int
	Logger *slog.Logger
	Now    func() time.Time
}

const keyError = "error" // the log key of an error

//go:embed page.html.tmpl
var files embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"ago":   ago,
	"until": Until,
	"since": since,
	"rev":   rev,
	"dur":   dur,
	"bad":   bad,
}).ParseFS(files, "page.html.tmpl"))

// Handler serves the page at / and the data at /status.json. snapshot is
// the daemon's view at the time of the request.
func Handler(snapshot func() *reconcile.Status, opts Options) http.Handler {
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Second
	}
	if opts.Events <= 0 {
		opts.Events = 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{snapshot: snapshot, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.html)
	mux.HandleFunc("GET /status.json", h.json)
	return mux
}

type handler struct {
	snapshot func() *reconcile.Status
	opts     Options
}

func (h *handler) data() Page {
	p := Page{Daemon: Shown(h.snapshot()), Events: []events.Event{}}
	if p.Daemon.Root == "" {
		return p
	}
	evs, err := events.Last(p.Daemon.Root, h.opts.Events, events.Filter{})
	if err != nil {
		p.EventsError = reconcile.RedactHost(err.Error())
	}
	for i := len(evs) - 1; i >= 0; i-- {
		p.Events = append(p.Events, evs[i])
	}
	return p
}

func (h *handler) json(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h.data()); err != nil {
		h.opts.Logger.Debug("status page: writing /status.json", keyError, err)
	}
}

// view is the template's data.
type view struct {
	Page
	Now     time.Time
	Refresh int // seconds
}

func (h *handler) html(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Nothing on the page comes from elsewhere, nor may it be framed.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	v := view{Page: h.data(), Now: h.opts.Now(), Refresh: max(1, int(h.opts.Refresh/time.Second))}
	// ?refresh=N (seconds, 1 to 3600) for a closer look, or a wall screen.
	if n, err := strconv.Atoi(req.URL.Query().Get("refresh")); err == nil && n >= 1 && n <= 3600 {
		v.Refresh = n
	}
	if err := page.Execute(w, v); err != nil {
		h.opts.Logger.Debug("status page: rendering", keyError, err)
	}
}

// Ago is how long before now t was, as the page and wbd status read it:
// "12s ago", minutes past an hour ("2h5m0s ago"); "-" for none.
func Ago(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return since(now, *t) + " ago"
}

// Until is how long after now t comes: "in 12s"; "now" once it is due;
// "-" for none.
func Until(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	if t.Sub(now).Round(time.Second) <= 0 {
		return "now"
	}
	return "in " + since(*t, now)
}

// ago is Ago for the template, which has times and pointers to them.
func ago(now time.Time, t any) string {
	switch t := t.(type) {
	case time.Time:
		return Ago(now, &t)
	case *time.Time:
		return Ago(now, t)
	}
	return "-"
}

// since is now - t, rounded to what a person reads.
func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		d = 0
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func rev(n int) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// dur is d as a person reads it: 53ms, 4.1s, 2m3s.
func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// bad reports whether a result is one an operator must look at.
func bad(r reconcile.Result) bool {
	switch r {
	case reconcile.ResultFailed, reconcile.ResultHeld, reconcile.ResultRolledBack, reconcile.ResultUnreachable, reconcile.ResultDegraded:
		return true
	}
	return false
}
