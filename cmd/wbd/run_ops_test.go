package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/notify"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/statuspage"
)

// TestRunOperatorsView is what an operator watching the daemon sees, on
// the real engine, one instance shared by every check: the status page in
// a real browser turning from in progress to ready after an edit, then a
// failed apply and a rolled back one shown as such; the metrics, parsed as
// Prometheus parses them, the events log and a webhook's messages, after
// the same story, agree.
func TestRunOperatorsView(t *testing.T) {
	requireEngineForRun(t)
	browser := newBrowser(t)
	hook := newWebhook(t)
	w := newDaemonWorld(t)
	x := daemonInst{name: uniqueName(t), app: "wbd.local/app:1", port: freeHostPort(t)}
	w.save(x)
	addr := fmt.Sprintf("127.0.0.1:%d", freeHostPort(t))
	d := startDaemon(t, w.file, "--metrics-addr", addr, "--notify-url", hook.url+"/hooks/SECRET")
	base := "http://" + addr
	page := base + "/?refresh=1"
	row := "#instance-" + x.name

	waitPage(t, d, base, time.Minute, x.name+" ready at revision 1", func(p statuspage.Page) bool {
		in := p.Daemon.Instance(x.name)
		return in != nil && in.Ready && in.Revision == 1
	})
	browser.navigate(page)
	// .ready: the text "ready" is in "not ready" too.
	browser.waitText(row+" .state .ready", "ready", time.Minute)

	// An edit: the page shows the apply in progress, then the instance
	// ready at its new revision.
	good := retagApp(t, "")
	x.app = good
	w.save(x)
	browser.waitText(row+" .state", "in progress", time.Minute)
	progress := browser.text(row + " .inprogress")
	if !strings.Contains(progress, "applying since") {
		t.Errorf("in progress cell %q, want the step and since when", progress)
	}
	browser.waitText(row+" .state .ready", "ready", 2*time.Minute)
	if rev := browser.text(row + " .revision"); rev != "2" {
		t.Errorf("revision shown after the edit: %q, want 2", rev)
	}
	// The newest event's result: the table's header has "ok" in "Took".
	browser.waitText("#events tbody tr:first-child td.state", "ok", time.Minute)

	// An image that cannot be pulled: failed, before touching anything.
	x.app = "wbd.local/app:" + uniqueName(t)
	w.save(x)
	browser.waitText(row+" .state", "failed", 2*time.Minute)
	browser.waitText("#events tbody", "failed", time.Minute)

	// An app that never starts: rolled back to revision 2, shown as such.
	x.app = "wbd.local/app-nostart:1"
	w.save(x)
	browser.waitText(row+" .state", "rolled-back", 3*time.Minute)
	browser.waitText("#events tbody tr:first-child", "rolled_back", time.Minute)
	if cells := browser.text(row); !strings.Contains(cells, "failed") {
		t.Errorf("the rolled back instance's row does not say why: %q", cells)
	}
	browser.screenshot(filepath.Join(os.TempDir(), "wbd-status-page.png"))

	// The metrics, after the same story, and the events log agree.
	fams := scrapeMetrics(t, base+"/metrics")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wbd_instance_info", []string{"instance", x.name, "host", "local", "revision", "2"}, 1},
		{"wbd_instance_ready", []string{"instance", x.name}, 1},
		{"wbd_instance_in_sync", []string{"instance", x.name}, 0},
		{"wbd_rollouts_total", []string{"instance", x.name, "result", "ok"}, 2},
		{"wbd_rollouts_total", []string{"instance", x.name, "result", "rolled_back"}, 1},
		{"wbd_config_valid", nil, 1},
		{"wbd_engine_up", []string{"host", "local"}, 1},
		{"wbd_build_info", []string{"goversion", runtime.Version(), "goos", runtime.GOOS, "goarch", runtime.GOARCH}, 1},
	} {
		if got := metricValue(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricValue(fams, "wbd_rollouts_total", "instance", x.name, "result", "failed"); got < 1 {
		t.Errorf("failed rollouts = %v, want at least 1", got)
	}
	if fams["process_resident_memory_bytes"] == nil || fams["go_goroutines"] == nil || fams["wbd_reconcile_duration_seconds"] == nil {
		t.Error("the process, Go or duration metrics are missing")
	}
	evs, err := events.Read(w.root, events.Filter{Instance: x.name}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	counts := map[events.Result]float64{}
	var story []string
	for _, e := range evs {
		if !e.Actor.Daemon || e.Action != events.Apply {
			t.Errorf("event %+v: want the daemon's applies only", e)
			continue
		}
		counts[e.Result]++
		story = append(story, fmt.Sprintf("%s %d>%d", e.Result, e.From, e.To))
	}
	for _, res := range []events.Result{events.OK, events.Failed, events.RolledBack} {
		if got := metricValue(fams, "wbd_rollouts_total", "instance", x.name, "result", string(res)); got != counts[res] {
			t.Errorf("%s: metrics count %v, the events log %v (%q)", res, got, counts[res], story)
		}
	}
	if len(story) < 4 || story[0] != "ok 0>1" || story[1] != "ok 1>2" || story[len(story)-1] != "rolled_back 2>2" {
		t.Errorf("events %q, want ok 0>1, ok 1>2, failed 2>2..., rolled_back 2>2", story)
	}
	// The engine is "local" wherever an operator reads it: the metrics
	// above, /status.json and wbd status --json.
	waitPage(t, d, base, 10*time.Second, "the engine named local in /status.json", func(p statuspage.Page) bool {
		in := p.Daemon.Instance(x.name)
		return in != nil && in.Host == "local" && len(p.Daemon.Hosts) == 1 && p.Daemon.Hosts[0].Host == "local"
	})
	out, _ := exec.Command("wbd", "-f", w.file, "status", x.name, "--json").Output()
	var sts []struct {
		Host   string `json:"host"`
		Engine struct {
			Host string `json:"host"`
		} `json:"engine"`
	}
	if err := json.Unmarshal(out, &sts); err != nil || len(sts) != 1 || sts[0].Host != "local" || sts[0].Engine.Host != "local" {
		t.Errorf("wbd status --json names the engine %+v (%v), want local:\n%s", sts, err, out)
	}
	// wbd events reads the same.
	out, err = exec.Command("wbd", "-f", w.file, "events", x.name).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rolled_back") || !strings.Contains(string(out), "daemon (pid") {
		t.Errorf("wbd events: %v\n%s", err, out)
	}

	// The webhook heard of each change once, none of the passes between:
	// created, the edit, the failed pull, the rollback. The rollback is
	// the fourth message within minutes: none of them was a flap, so the
	// budget held none back.
	var said []string
	for _, m := range hook.wait(t, 4) {
		said = append(said, fmt.Sprintf("%s %d", m.State, m.Revision))
	}
	if want := []string{"ready 1", "ready 2", "failed 2", "rolled_back 2"}; !slices.Equal(said, want) {
		t.Errorf("notifications %q, want %q", said, want)
	}

	// A restarted daemon finds the instance still rolled back: no news.
	// The edit that fixes it is, and it is the next message: a rollback
	// told again would have come first.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(time.Minute); code != 0 {
		t.Fatalf("wbd run exited %d on SIGTERM", code)
	}
	d = startDaemon(t, w.file, "--metrics-addr", addr, "--notify-url", hook.url+"/hooks/SECRET")
	waitPage(t, d, base, time.Minute, "the restarted daemon's first pass", func(p statuspage.Page) bool {
		in := p.Daemon.Instance(x.name)
		return p.Daemon.PID == d.cmd.Process.Pid && in != nil && in.Result == reconcile.ResultRolledBack
	})
	x.app = good
	w.save(x)
	waitPage(t, d, base, 2*time.Minute, x.name+" in sync again", func(p statuspage.Page) bool {
		in := p.Daemon.Instance(x.name)
		return in != nil && in.InSync && in.Ready
	})
	said = said[:0]
	for _, m := range hook.wait(t, 5) {
		said = append(said, fmt.Sprintf("%s %d", m.State, m.Revision))
	}
	if want := []string{"ready 1", "ready 2", "failed 2", "rolled_back 2", "recovered 2"}; !slices.Equal(said, want) {
		t.Errorf("notifications after a restart and a fix: %q, want %q", said, want)
	}
}

// webhook receives wbd run's notifications.
type webhook struct {
	url string
	mu  sync.Mutex
	got []notify.Message
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Method != http.MethodPost || r.URL.Path != "/hooks/SECRET" {
			t.Errorf("a notification that is no JSON POST to the hook: %s %s: %v", r.Method, r.URL.Path, err)
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// wait returns the messages once there are n, or fails.
func (h *webhook) wait(t *testing.T, n int) []notify.Message {
	t.Helper()
	var got []notify.Message
	waitUntil(t, time.Minute, fmt.Sprintf("%d notifications", n), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		got = slices.Clone(h.got)
		return len(got) >= n
	})
	return got
}

// waitPage polls /status.json until cond holds.
func waitPage(t *testing.T, d *daemonProc, base string, timeout time.Duration, what string, cond func(statuspage.Page) bool) {
	t.Helper()
	waitUntil(t, timeout, what, func() bool {
		res, err := http.Get(base + "/status.json")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var p statuspage.Page
		return json.NewDecoder(res.Body).Decode(&p) == nil && p.Daemon != nil && cond(p)
	})
}

func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v", err)
	}
	return fams
}

// metricValue is the value of the series of name whose labels include the
// given pairs, -1 when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && have[labels[i]] == labels[i+1]
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// browser is a headless Chromium driven through its DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Debian's chromium with a profile of its own and
// nothing that reaches out to the network.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (scripts/test.sh installs it)")
		}
		t.Skip("chromium is not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

// text is what the page shows in the first element sel matches now, or ""
// (the page may be reloading).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		return ""
	}
	return s
}

// waitText waits until sel shows want, as the page refreshes itself.
func (b *browser) waitText(sel, want string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = b.text(sel); strings.Contains(last, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("the page's %s never showed %q; last %q", sel, want, last)
}

func (b *browser) screenshot(path string) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(path, png, 0o644)
		b.t.Logf("status page: %s", path)
	}
}
