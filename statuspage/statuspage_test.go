package statuspage

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/reconcile"
)

func TestPageAndJSONShowTheSameView(t *testing.T) {
	root := filepath.Join(t.TempDir(), "srv")
	os.Mkdir(root, 0o755)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	log := events.Open(root, events.DaemonActor(), events.Options{Now: func() time.Time { return now.Add(-time.Minute) }})
	log.Record(events.Event{Instance: "testing", Action: events.Apply, From: 1, To: 1, Failed: 2, Result: events.RolledBack, Detail: "app <exited>"})
	since := now.Add(-42 * time.Second)
	next := now.Add(18 * time.Second)
	st := &reconcile.Status{PID: 99, File: "/etc/wbd/instances.yaml", Root: root, Started: now.Add(-time.Hour),
		Hosts:  []reconcile.HostStatus{{Host: "", Known: true, Up: true}, {Host: "ssh://box2", Known: true, Up: true}},
		Config: reconcile.ConfigStatus{Loaded: now.Add(-time.Hour), Error: "instances.yaml:3:1: oops", ErrorSince: &since},
		Instances: []reconcile.InstanceStatus{
			{Instance: "testing", InFile: true, Result: reconcile.ResultRolledBack, Ready: true, Revision: 1, LastError: "revision 2 failed"},
			{Instance: "nigeria", InFile: true, Result: reconcile.ResultInSync, InSync: true, Revision: 4,
				InProgress: &reconcile.Progress{Step: "applying", Since: since, StepSince: since, Detail: "Container nigeria Starting"}},
			{Instance: "kenya", InFile: true, Host: "ssh://box2", Result: reconcile.ResultFailed, LastError: "port 8003 is taken", NextAttempt: &next},
		}}
	srv := httptest.NewServer(Handler(func() *reconcile.Status { return st }, Options{Refresh: 2 * time.Second, Now: func() time.Time { return now }}))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	html := string(body)
	for _, want := range []string{
		`<meta http-equiv="refresh" content="2; url=?refresh=2">`,
		`id="instance-testing" data-result="rolled-back" data-ready="true"`,
		`revision 2 failed`,
		`applying since 42s ago`,
		`next attempt in 18s`,
		`Container nigeria Starting`,
		`<span class="progress">in progress</span>`,
		`The file is invalid since 42s ago`,
		`app &lt;exited&gt;`, // escaped
		`daemon (pid `,
		`<td><b>testing</b></td>
<td>local</td>`,
		`<td><b>kenya</b></td>
<td>ssh://box2</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://"} {
		if strings.Contains(html, banned) {
			t.Errorf("the page has %q: it must work offline, without scripts", banned)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}

	res, err = http.Get(srv.URL + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p Page
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Daemon.Instance("nigeria").InProgress.Step != "applying" || len(p.Events) != 1 || p.Events[0].Result != events.RolledBack || p.Daemon.Config.Error == "" {
		t.Errorf("status.json = %+v", p)
	}
	// The default engine is "local" there, as on the page and in the
	// metrics; the status file's "" is left as it is.
	if h := p.Daemon.Hosts; len(h) != 2 || h[0].Host != "local" || h[1].Host != "ssh://box2" ||
		p.Daemon.Instance("testing").Host != "local" || p.Daemon.Instance("kenya").Host != "ssh://box2" {
		t.Errorf("status.json names the engines %+v and the instances' %q, %q; want local and ssh://box2",
			h, p.Daemon.Instance("testing").Host, p.Daemon.Instance("kenya").Host)
	}
	if st.Hosts[0].Host != "" || st.Instances[0].Host != "" {
		t.Error("the daemon's own view was changed")
	}
	if res, _ := http.Get(srv.URL + "/?refresh=7"); res != nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), `content="7; url=?refresh=7"`) {
			t.Error("?refresh=7 is not kept")
		}
	}
	if res, _ := http.Post(srv.URL+"/", "text/plain", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d: the page is read-only", res.StatusCode)
	}
	if res, _ := http.Get(srv.URL + "/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %d", res.StatusCode)
	}
}

func TestTimesReadAsAPersonReadsThem(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, c := range []struct {
		f    func(time.Time, *time.Time) string
		t    *time.Time
		want string
	}{
		{Until, at(18 * time.Second), "in 18s"},
		{Until, at(90 * time.Minute), "in 1h30m0s"},
		{Until, at(-time.Second), "now"}, // due: the daemon is at it
		{Until, at(400 * time.Millisecond), "now"},
		{Until, nil, "-"},
		{func(now time.Time, t *time.Time) string { return ago(now, t) }, at(-42 * time.Second), "42s ago"},
		{func(now time.Time, t *time.Time) string { return ago(now, t) }, nil, "-"},
	} {
		if got := c.f(now, c.t); got != c.want {
			t.Errorf("%v: %q, want %q", c.t, got, c.want)
		}
	}
}
