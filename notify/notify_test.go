package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
// change of state, none for the passes in between, until the hourly
// budget is spent; then the state it settles in, once a slot frees up.
func TestOneMessagePerChangeOfStateOverAFlappingInstance(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)

	n.Observe(st(reconcile.ResultInSync, 1, "matches the file")) // at start: known ready, no message
	n.Observe(st(reconcile.ResultInSync, 1, "matches the file"))
	n.Observe(st(reconcile.ResultApplied, 2, "app recreated")) // an edit rolled out
	n.Observe(st(reconcile.ResultInSync, 2, "matches the file"))
	got := r.waitFor(t, 1)
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1"))
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1")) // the retries: same state
	n.Observe(st(reconcile.ResultHeld, 2, "app exited with code 1"))
	got = r.waitFor(t, 2)
	n.Observe(st(reconcile.ResultApplied, 2, "app started")) // recovers
	got = r.waitFor(t, 3)
	var states []State
	for _, m := range got {
		states = append(states, m.State)
	}
	if want := []State{Ready, Failed, Recovered}; !equal(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	if !strings.Contains(got[0].Text, "testing is ready at revision 2") || !strings.Contains(got[1].Text, "testing failed") ||
		!strings.Contains(got[1].Text, "app exited with code 1") || got[1].Previous != Ready {
		t.Errorf("texts: %q / %q", got[0].Text, got[1].Text)
	}

	// It keeps flapping: the budget (3 an hour) is spent, nothing more is
	// sent within the hour however often it changes.
	for range 20 {
		n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1"))
		n.Observe(st(reconcile.ResultInSync, 2, "matches the file"))
		c.add(time.Minute)
	}
	n.Observe(st(reconcile.ResultFailed, 2, "app exited with code 1")) // and settles failed
	n.Tick()
	if got := of("testing", sentinel(t, r, n, "s1", 4)); len(got) != 3 {
		t.Fatalf("within the hour: %d messages, want still 3: %+v", len(got), got)
	}
	c.add(time.Hour)
	n.Tick()
	got = of("testing", r.waitFor(t, 5))
	if m := got[3]; m.State != Failed || m.Suppressed == 0 || !strings.Contains(m.Text, "earlier changes not sent") {
		t.Errorf("after the hour: %+v, want the state it settled in, failed, saying changes were left out", m)
	}
	n.Tick()
	if got := of("testing", sentinel(t, r, n, "s2", 6)); len(got) != 4 {
		t.Errorf("%d messages, want 4", len(got))
	}
}

func TestARollbackAndItsRecovery(t *testing.T) {
	r := newReceiver(t)
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	n := start(t, r, c)
	n.Observe(st(reconcile.ResultInSync, 1, ""))
	n.Observe(st(reconcile.ResultRolledBack, 1, "revision 2 failed and was rolled back"))
	n.Observe(st(reconcile.ResultRolledBack, 1, "revision 2 failed and was rolled back")) // held on every pass
	n.Observe(st(reconcile.ResultApplied, 3, "app recreated"))                            // the file fixed
	got := r.waitFor(t, 2)
	if got[0].State != RolledBack || got[1].State != Recovered || got[1].Revision != 3 {
		t.Fatalf("%+v", got)
	}
	if !strings.Contains(got[0].Text, "rolled back; it runs revision 1 again") {
		t.Errorf("text %q", got[0].Text)
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
