// Package notify tells a webhook (Slack's incoming webhooks, or anything
// that takes a JSON POST) when an instance becomes ready, fails, is rolled
// back or recovers: once per change of state, a flapping instance limited
// to a few messages an hour, delivered in the background with retries so
// that reconciling never waits for it.
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
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
	Host     string    `json:"host,omitempty"`
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
	// Burst messages per instance are sent within Window (defaults 3, 1
	// hour); past that, changes wait for a free slot and only the latest
	// state is sent, if it differs from the last one sent.
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

// instance is what the notifier remembers of one instance.
type instance struct {
	state    State       // as last observed: ready, failed or rolled_back
	revision int         // of the last observed ready state
	sent     State       // the last state sent (Recovered counts as Ready)
	sentRev  int         // its revision
	times    []time.Time // when messages were sent, within the window
	pending  *Message    // the latest change not sent yet
	changes  int         // changes of state since the last message
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
	if opts.Burst <= 0 {
		opts.Burst = 3
	}
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	if opts.Queue <= 0 {
		opts.Queue = 100
	}
	return &Notifier{url: u, opts: opts, log: opts.Logger.With("notify", redactURL(u)),
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

// classify is the state an instance whose reconcile came to res is in, or
// "" for results that say nothing new (pending, locked, unreachable...).
func classify(res reconcile.Result) State {
	switch res {
	case reconcile.ResultInSync, reconcile.ResultApplied, reconcile.ResultDegraded, reconcile.ResultPinned:
		return Ready
	case reconcile.ResultFailed, reconcile.ResultHeld:
		return Failed
	case reconcile.ResultRolledBack:
		return RolledBack
	}
	return ""
}

// Observe takes what a reconcile of an instance came to. It never blocks:
// a message to send is queued for Run.
func (n *Notifier) Observe(st reconcile.InstanceStatus) {
	state := classify(st.Result)
	if state == "" || !st.InFile {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	in, ok := n.inst[st.Instance]
	if !ok {
		in = &instance{}
		n.inst[st.Instance] = in
	}
	prev, prevRev := in.state, in.revision
	in.state, in.revision = state, st.Revision
	var kind State
	switch {
	case state == prev && (state != Ready || st.Result != reconcile.ResultApplied || st.Revision == prevRev):
		return // no change; a repair at the same revision is none either
	case state == Ready && prev == "" && st.Result != reconcile.ResultApplied:
		// Found ready at start: what it was before is not known.
		in.sent, in.sentRev = Ready, st.Revision
		return
	case state == Ready && (prev == Failed || prev == RolledBack):
		kind = Recovered
	default:
		kind = state
	}
	now := n.opts.Now()
	m := Message{Instance: st.Instance, Host: st.Host, State: kind, Previous: prev, Result: string(st.Result),
		Revision: st.Revision, Time: now.UTC(), Detail: detail(st)}
	in.pending = &m
	in.changes++
	n.flush(st.Instance, in, now)
}

func detail(st reconcile.InstanceStatus) string {
	if (st.Result == reconcile.ResultFailed || st.Result == reconcile.ResultHeld || st.Result == reconcile.ResultRolledBack) && st.LastError != "" {
		return st.LastError
	}
	return st.Detail
}

// flush queues in's pending message if its window has a free slot and it
// says something the last message did not. n.mu is held.
func (n *Notifier) flush(name string, in *instance, now time.Time) {
	m := in.pending
	if m == nil {
		return
	}
	kept := in.times[:0]
	for _, t := range in.times {
		if now.Sub(t) < n.opts.Window {
			kept = append(kept, t)
		}
	}
	in.times = kept
	sentAs := func(s State) State {
		if s == Recovered {
			return Ready
		}
		return s
	}
	if sentAs(m.State) == in.sent && (m.State != Ready || m.Revision == in.sentRev) {
		// Back where the last message left it: nothing to say.
		in.pending = nil
		return
	}
	if len(in.times) >= n.opts.Burst {
		return // held until a slot frees up; a later change replaces it
	}
	if in.sent == Ready && m.State == Recovered {
		m.State = Ready
	}
	if (in.sent == Failed || in.sent == RolledBack) && m.State == Ready {
		m.State = Recovered
	}
	m.Suppressed = max(in.changes-1, 0)
	m.Text = text(*m)
	in.times = append(in.times, now)
	in.sent, in.sentRev, in.pending, in.changes = sentAs(m.State), m.Revision, nil, 0
	select {
	case n.queue <- *m:
	default:
		n.log.Warn("notification dropped: too many waiting", "instance", name, "state", m.State)
	}
}

// next is when the earliest held message may be sent.
func (n *Notifier) next() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	var at time.Time
	for _, in := range n.inst {
		if in.pending == nil || len(in.times) == 0 {
			continue
		}
		t := in.times[0].Add(n.opts.Window)
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at
}

// Tick sends the held messages whose slot has come (Run calls it; tests
// with their own clock too).
func (n *Notifier) Tick() {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.opts.Now()
	for name, in := range n.inst {
		n.flush(name, in, now)
	}
}

// Run delivers queued messages, one at a time, until ctx ends.
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
