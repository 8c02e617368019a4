// Package notify tells a webhook (Slack's incoming webhooks, or anything
// that takes a JSON POST) when an instance becomes ready, fails, is rolled
// back or recovers: once per change of state, delivered in the background
// with retries so that reconciling never waits for it.
//
// A change is sent at once, unless it is a flap: a change back to a state
// the instance left less than Options.Steady ago. Flaps are limited to a
// few an hour per instance; past that, the state a flapping instance
// settles in is sent once it has held for Steady, or once the budget has
// room again. So a failure or a rollback after a steady ready state is
// always heard at once, and ordinary rollouts never use up the budget.
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Log keys.
const (
	keyNotify   = "notify"
	keyInstance = "instance"
	keyState    = "state"
	keyAttempt  = "attempt"
	keyAttempts = "attempts"
	keyError    = "error"
)

// State is what a message says an instance became.
type State string

const (
	Ready      State = "ready"       // a change was applied and is healthy
	Failed     State = "failed"      // reconciling it fails
	RolledBack State = "rolled_back" // a change failed and was undone
	Recovered  State = "recovered"   // ready again after failing or a rollback
)

// Message is the JSON body posted. Text is what Slack (and Mattermost,
// Rocket.Chat...) show; the other fields are for machines.
type Message struct {
	Text     string    `json:"text"`
	Instance string    `json:"instance"`
	Host     string    `json:"host"` // as wbd names engines: "local" for the default one
	State    State     `json:"state"`
	Previous State     `json:"previous,omitempty"`
	Result   string    `json:"result"`
	Revision int       `json:"revision,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Time     time.Time `json:"time"`
	// Suppressed counts the changes of state not sent before this one,
	// because the instance changed state too often.
	Suppressed int `json:"suppressed,omitempty"`
}

// Options tunes a Notifier; zero fields take their defaults.
type Options struct {
	Logger *slog.Logger
	Client *http.Client // default: 10 s timeout
	Now    func() time.Time
	// Attempts is how many times a message is tried (default 4), waiting
	// Backoff, doubling, in between (default 2 s).
	Attempts int
	Backoff  time.Duration
	// Steady is how long an instance must stay in a state for a change
	// back to it to be news rather than a flap (default 10 min), and how
	// long a state held back must last to be sent as the one it settled in.
	Steady time.Duration
	// Burst flaps per instance are sent within Window (defaults 3, 1
	// hour); past that, flaps are held and only the latest state is sent,
	// if it differs from the last one sent, once it has held for Steady or
	// a slot frees up. A change that is no flap is sent at once anyway.
	Burst  int
	Window time.Duration
	// Queue is how many messages may wait for delivery (default 100);
	// past that a message is dropped, and logged.
	Queue int
}

// Notifier decides what to send and sends it.
type Notifier struct {
	url  string
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	inst  map[string]*instance
	queue chan Message
	wake  chan struct{}
}

// New returns a Notifier posting to u; Run delivers.
func New(u string, opts Options) *Notifier {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.Steady <= 0 {
		opts.Steady = 10 * time.Minute
	}
	if opts.Burst <= 0 {
		opts.Burst = 3
	}
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	if opts.Queue <= 0 {
		opts.Queue = 100
	}
	return &Notifier{url: u, opts: opts, log: opts.Logger.With(keyNotify, redactURL(u)),
		inst: map[string]*instance{}, queue: make(chan Message, opts.Queue), wake: make(chan struct{}, 1)}
}

// redactURL is u without its path and query: a webhook's URL is its
// secret.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	return p.Scheme + "://" + p.Host + "/…"
}

// CheckURL refuses what cannot be a webhook's URL.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return &urlError{}
	}
	return nil
}

type urlError struct{}

func (*urlError) Error() string { return "want an http:// or https:// URL" }

// Run delivers queued messages, one at a time, and sends held ones when
// their time comes, until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		wait := time.Minute
		if at := n.next(); !at.IsZero() {
			wait = min(wait, max(at.Sub(n.opts.Now()), time.Second))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case m := <-n.queue:
			n.deliver(ctx, m)
		case <-t.C:
			n.Tick()
		}
	}
}
