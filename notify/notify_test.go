package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
)

// receiver is a webhook that counts what it gets; it fails the first
// failFirst requests with 503, and each request waits for gate when set.
type receiver struct {
	mu        sync.Mutex
	got       []Message
	tries     int
	failFirst int
	gate      chan struct{}
	srv       *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.gate != nil {
			<-r.gate
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if r.tries <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m Message
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.NewDecoder(req.Body).Decode(&m) != nil {
			t.Errorf("a request that is no JSON POST: %s %s", req.Method, req.Header.Get("Content-Type"))
		}
		r.got = append(r.got, m)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.got...)
}

// waitFor waits until the receiver has n messages, or fails.
func (r *receiver) waitFor(t *testing.T, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.messages(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the receiver got %d messages, want %d: %+v", len(r.messages()), n, r.messages())
	return nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T, r *receiver, c *clock) *Notifier {
	n := New(r.srv.URL+"/hooks/T000/SECRET", Options{Now: c.Now, Backoff: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func st(res reconcile.Result, rev int, detail string) reconcile.InstanceStatus {
	s := reconcile.InstanceStatus{Instance: "testing", InFile: true, Result: res, Revision: rev, Detail: detail}
	if res == reconcile.ResultFailed || res == reconcile.ResultRolledBack {
		s.LastError = detail
	}
	return s
}

// An instance flapping between failed and in sync: one message for each
// change of state, none for the passes in between; the changes back to
// where it just was (flaps) are limited to 3 an hour; the state it
// settles in is sent once it has held, saying what was left out; and a
// failure after a steady ready state is sent at once, budget or not.
func TestAFlappingInstanceSendsAFewMessagesAnHour(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)

	n.Observe(st(reconcile.ResultInSync, 1, "matches the file")) // at start: known ready, no message
	n.Observe(st(reconcile.ResultInSync, 1, "matches the file"))
	n.Observe(st(reconcile.ResultApplied, 2, "app recreated")) // an edit rolled out
	n.Observe(st(reconcile.ResultInSync, 2, "matches the file"))
	r.waitFor(t, 1)
	c.add(time.Hour)
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1"))
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1")) // the retries: same state
	n.Observe(st(reconcile.ResultHeld, 2, "app exited with code 1"))
	r.waitFor(t, 2)
	n.Observe(st(reconcile.ResultApplied, 2, "app started")) // recovers
	got := r.waitFor(t, 3)
	if states := statesOf(got); !equal(states, []State{Ready, Failed, Recovered}) {
		t.Fatalf("states %v, want ready, failed, recovered", states)
	}
	if !strings.Contains(got[0].Text, "testing is ready at revision 2") || !strings.Contains(got[1].Text, "testing failed") ||
		!strings.Contains(got[1].Text, "app exited with code 1") || got[1].Previous != Ready {
		t.Errorf("texts: %q / %q", got[0].Text, got[1].Text)
	}

	// It keeps flapping, a change a minute: the recovery above was the
	// first flap, two more are sent, then nothing within the hour however
	// often it changes.
	for range 20 {
		n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1"))
		n.Observe(st(reconcile.ResultInSync, 2, "matches the file"))
		c.add(time.Minute)
	}
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1")) // and settles failed
	c.add(9 * time.Minute)
	n.Tick()
	if got := of("testing", sentinel(t, r, n, "s1", 6)); !equal(statesOf(got), []State{Ready, Failed, Recovered, Failed, Recovered}) {
		t.Fatalf("while it flaps: %v, want ready, failed, recovered and two flaps more", statesOf(got))
	}
	// Failed for 10 minutes: it settled, and that is sent, with the
	// changes left out.
	c.add(time.Minute)
	n.Tick()
	got = of("testing", r.waitFor(t, 7))
	if m := got[len(got)-1]; m.State != Failed || m.Suppressed == 0 || !strings.Contains(m.Text, "earlier changes not sent") {
		t.Errorf("once settled: %+v, want the state it settled in, failed, saying changes were left out", m)
	}
	n.Tick()

	// It recovers: no flap, since it was failed for long enough, though
	// the hour's 3 flaps are spent. Ready a while, it fails again: sent
	// at once too.
	n.Observe(st(reconcile.ResultApplied, 2, "app started"))
	c.add(15 * time.Minute)
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1"))
	got = of("testing", sentinel(t, r, n, "s2", 10))
	if states := statesOf(got[len(got)-2:]); !equal(states, []State{Recovered, Failed}) {
		t.Errorf("after it settled: %v, want recovered, failed: each after a steady state", statesOf(got))
	}
}

// An operator's day: an instance created, edited, a pull that fails, a
// fix, an edit that is rolled back and another one that is: every one is
// heard at once, none of them undoes one just made.
func TestOrdinaryRolloutsAreAllHeard(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)
	rolledBack := func(rev int, at time.Time) reconcile.InstanceStatus {
		s := st(reconcile.ResultRolledBack, rev, "revision failed and was rolled back")
		s.LastChange = &at
		return s
	}
	n.Observe(st(reconcile.ResultPending, 0, ""))
	n.Observe(st(reconcile.ResultApplied, 1, "postgres, redis, app created"))
	c.add(2 * time.Minute)
	n.Observe(st(reconcile.ResultApplied, 2, "app recreated"))
	c.add(2 * time.Minute)
	n.Observe(st(reconcile.ResultFailed, 2, "pull wbd.local/app:nope: not found"))
	c.add(time.Minute)
	n.Observe(st(reconcile.ResultApplied, 3, "app recreated"))
	c.add(2 * time.Minute)
	first := c.Now()
	n.Observe(rolledBack(3, first))
	n.Observe(st(reconcile.ResultRolledBack, 3, "held")) // held on every pass: no time, the same rollback
	n.Observe(rolledBack(3, first))
	c.add(time.Minute)
	n.Observe(rolledBack(3, c.Now())) // another edit, rolled back too
	got := r.waitFor(t, 6)
	var said []string
	for _, m := range got {
		said = append(said, fmt.Sprintf("%s %d", m.State, m.Revision))
	}
	if want := []string{"ready 1", "ready 2", "failed 2", "recovered 3", "rolled_back 3", "rolled_back 3"}; !slices.Equal(said, want) {
		t.Errorf("messages %q, want %q", said, want)
	}
	// Its engine is "local", as wbd names the default one everywhere; the
	// text names only other hosts.
	if got[0].Host != "local" || strings.Contains(got[0].Text, "(host") {
		t.Errorf("host %q, text %q: want local, and not in the text", got[0].Host, got[0].Text)
	}
	if got := sentinel(t, r, n, "s", 7); len(of("testing", got)) != 6 {
		t.Errorf("%d messages, want 6: a rollback held on every pass is one", len(of("testing", got)))
	}
}

func TestARollbackAndItsRecovery(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)
	n.Observe(st(reconcile.ResultInSync, 1, ""))
	rb := st(reconcile.ResultRolledBack, 1, "revision 2 failed and was rolled back")
	rb.Host = "ssh://box2"
	n.Observe(rb)
	n.Observe(st(reconcile.ResultRolledBack, 1, "revision 2 failed and was rolled back")) // held on every pass
	n.Observe(st(reconcile.ResultApplied, 3, "app recreated"))                            // the file fixed
	got := r.waitFor(t, 2)
	if got[0].State != RolledBack || got[1].State != Recovered || got[1].Revision != 3 {
		t.Fatalf("%+v", got)
	}
	if !strings.Contains(got[0].Text, "rolled back; it runs revision 1 again (host ssh://box2)") || got[0].Host != "ssh://box2" {
		t.Errorf("text %q", got[0].Text)
	}
}

// A daemon restarted (an upgrade, a crash) starts where the one before
// left off, as its status file says: an instance still failing or still
// rolled back is no news; what changes after the restart is.
func TestARestartSendsOnlyWhatChanged(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)
	rolledAt := c.Now().Add(-time.Hour)
	last := &reconcile.Status{Instances: []reconcile.InstanceStatus{
		{Instance: "testing", InFile: true, Result: reconcile.ResultFailed, Revision: 2, LastError: "app exited with code 1"},
		{Instance: "kenya", InFile: true, Result: reconcile.ResultRolledBack, Revision: 3, LastChange: &rolledAt},
		{Instance: "nigeria", InFile: true, Result: reconcile.ResultInSync, Revision: 4},
		{Instance: "ghana", InFile: true, Result: reconcile.ResultInterrupted, Revision: 1},
		{Instance: "gone", Result: reconcile.ResultRemoved},
	}}
	n.Seed(last)
	of := func(name string, s reconcile.InstanceStatus) reconcile.InstanceStatus { s.Instance = name; return s }
	// The first pass after the restart: as before it, and the rollback
	// held, which the new daemon knows no time of.
	n.Observe(of("testing", st(reconcile.ResultFailed, 2, "app exited with code 1")))
	n.Observe(of("kenya", st(reconcile.ResultRolledBack, 3, "revision 4 failed")))
	n.Observe(of("nigeria", st(reconcile.ResultInSync, 4, "matches the file")))
	n.Observe(of("ghana", st(reconcile.ResultApplied, 1, "app started"))) // what it was is not known: an apply is news
	// Then what changes.
	n.Observe(of("testing", st(reconcile.ResultApplied, 2, "app started")))
	n.Observe(of("nigeria", st(reconcile.ResultFailed, 4, "app exited with code 1")))
	again := c.Now()
	k := of("kenya", st(reconcile.ResultRolledBack, 3, "revision 5 failed"))
	k.LastChange = &again
	n.Observe(k)
	var said []string
	for _, m := range sentinel(t, r, n, "s", 5) {
		said = append(said, m.Instance+" "+string(m.State))
	}
	if want := []string{"ghana ready", "testing recovered", "nigeria failed", "kenya rolled_back", "s failed"}; !slices.Equal(said, want) {
		t.Errorf("after the restart: %q, want %q", said, want)
	}
}

// A receiver that fails is tried again; one that hangs does not hold up
// whoever observes.
func TestDeliveryIsRetriedAndNeverBlocks(t *testing.T) {
	r := newReceiver(t)
	r.failFirst = 2
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)
	n.Observe(st(reconcile.ResultFailed, 1, "boom"))
	got := r.waitFor(t, 1)
	if got[0].State != Failed || r.tries != 3 {
		t.Errorf("got %+v after %d tries, want it on the third", got, r.tries)
	}

	hung := newReceiver(t)
	hung.gate = make(chan struct{})
	defer close(hung.gate)
	n2 := start(t, hung, c)
	done := make(chan struct{})
	go func() {
		for i := range 500 {
			res := reconcile.ResultFailed
			if i%2 == 1 {
				res = reconcile.ResultApplied
			}
			s := st(res, 1, "x")
			s.Instance = "i" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			n2.Observe(s)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Observe blocked while the receiver hangs")
	}
}

func TestTheURLIsKeptOutOfLogs(t *testing.T) {
	if got := redactURL("https://hooks.slack.com/services/T0/B0/SECRET"); strings.Contains(got, "SECRET") || !strings.Contains(got, "hooks.slack.com") {
		t.Errorf("redactURL = %q", got)
	}
	for _, bad := range []string{"", "hooks.slack.com/x", "ftp://x/y", "http://"} {
		if CheckURL(bad) == nil {
			t.Errorf("CheckURL(%q) accepted", bad)
		}
	}
	if CheckURL("https://hooks.slack.com/services/x") != nil {
		t.Error("CheckURL refused a webhook")
	}
}

// sentinel has another instance fail and waits for its message, the
// total'th: messages go out in order, so whatever was queued before it has
// arrived too.
func sentinel(t *testing.T, r *receiver, n *Notifier, name string, total int) []Message {
	t.Helper()
	s := st(reconcile.ResultFailed, 1, "sentinel")
	s.Instance = name
	n.Observe(s)
	got := r.waitFor(t, total)
	if last := got[len(got)-1]; last.Instance != name {
		t.Fatalf("the last message is %+v, want %s's", last, name)
	}
	return got
}

func of(name string, ms []Message) []Message {
	var out []Message
	for _, m := range ms {
		if m.Instance == name {
			out = append(out, m)
		}
	}
	return out
}

func statesOf(ms []Message) []State {
	var states []State
	for _, m := range ms {
		states = append(states, m.State)
	}
	return states
}

func equal(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
