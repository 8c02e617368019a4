package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The edge in front of the app: with edge on, an image edit starts the new
// app container beside the old one, the edge sends it every new request
// once it is ready, and the old one drains.

// edgeSteady is the steady window of the edge stories' applies: short, as
// the stand-in app crashes at once or not at all.
const edgeSteady = "500ms"

// A client at a steady rate, with twenty open server-sent-event streams,
// through ten image edits alternating two good versions, one edit to an
// image that never turns healthy, and a good one again: no request fails,
// each good version answers within 2 s of being ready, a stream ends when
// it finishes or at the drain deadline, the bad image never answers.
func TestEdgeRolloutsLoseNoRequest(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	app1, app2 := edgeApps(t)
	requireImages(t, app1, app2, imageAppUnhealthy)
	const drain = 300 * time.Millisecond
	in := o.declare(func(in *instance) { in.Images.App = app2; in.Edge = "{drain: 300ms}" })
	o.mustWbd("apply", in.Name, "--steady", edgeSteady)
	waitForVersionWithin(t, in, "2", time.Minute)
	requireEvents(t, in)

	// Streams of 1.5 s: those the drain deadline catches are cut, those
	// that end within it finish.
	const events, every = 15, 100 * time.Millisecond
	l := startLoad(t, in.Port, 20, events, every)
	start := time.Now()
	l.waitFor(t, "2", start, 10*time.Second)

	rollOut := func(image, version string) {
		t.Helper()
		in.Images.App = image
		o.writeFile()
		edit := time.Now()
		r, lines := o.wbdTimed("apply", in.Name, "--steady", edgeSteady)
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
		ready := lineAt(lines, readyLine(in))
		if ready.IsZero() {
			t.Fatalf("apply of %s did not start the new app container beside the old one:\n%s", image, r)
		}
		first := l.waitFor(t, version, edit, 10*time.Second)
		if d := first.at.Sub(ready); d > 2*time.Second {
			t.Errorf("%s answered %s after its container was ready, want within 2s", image, d.Round(time.Millisecond))
		} else if d < -200*time.Millisecond {
			t.Errorf("%s answered %s before its container was ready", image, -d.Round(time.Millisecond))
		}
	}
	for i := 1; i <= 10; i++ {
		if i%2 == 1 {
			rollOut(app1, "1")
		} else {
			rollOut(app2, "2")
		}
	}

	// app-unhealthy is app:1 with a healthcheck that fails: answers as
	// version 1, which nothing else serves now.
	in.Images.App = imageAppUnhealthy
	o.writeFile()
	bad := time.Now()
	r := o.wbd("apply", in.Name, "--steady", edgeSteady, "--timeout", "30s")
	if r.code != exitRolledBack || !strings.Contains(r.stderr, "got no request, "+in.Name+" kept serving") {
		t.Errorf("apply of a bad image: want exit %d saying the new container got no request and %s kept serving\n%s", exitRolledBack, in.Name, r)
	}
	if r := o.wbd("apply", in.Name); r.code != exitRolledBack || !strings.Contains(r.stdout+r.stderr, "held") {
		t.Errorf("apply of the bad image again: want exit %d, held\n%s", exitRolledBack, r)
	}
	h := o.history(in)
	if len(h) != 12 || h[0].Verdict != "rolled back" || h[1].Verdict != "healthy" {
		t.Errorf("history: %d revisions %v, want 12, the newest rolled back\n%s", len(h), verdicts(h), h)
	}
	rollOut(app1, "1")
	answers, _ := l.snapshot()
	for _, a := range answers {
		if a.at.After(bad) && a.at.Before(l.first("1", bad).at) && a.version == "1" {
			t.Errorf("the bad image answered: %s", a)
			break
		}
	}
	// The last streams of the old container end, or are cut.
	time.Sleep(2 * drain)
	end := time.Now()
	l.stop()

	requireNoFailures(t, l, "twelve rollouts", start, end)
	answers, streams := l.snapshot()
	if rate := float64(len(answers)) / end.Sub(start).Seconds(); rate < 50 {
		t.Errorf("the client made %.0f requests a second, want at least 50", rate)
	}
	switches := edgeSwitches(t, in)
	if len(switches) != 11 {
		t.Errorf("the edge logged %d draining switches, want one per good edit (11): %v", len(switches), switchTimes(switches))
	}
	finished, cut := 0, 0
	for _, s := range streams {
		if len(s.versions) > 1 {
			t.Errorf("a stream got events of versions %v, want one app's", s.versions)
		}
		if s.finished(events) {
			finished++
			continue
		}
		if !cutAtDeadline(s, switches, drain) {
			t.Errorf("a stream of %s–%s ended after %d events (%s), neither finished nor at a drain deadline (switches %v)",
				s.start.Format("15:04:05.000"), s.end.Format("15:04:05.000"), s.events, s.err, switchTimes(switches))
		}
		cut++
	}
	t.Logf("%d requests in %s (%.0f/s), %d streams: %d finished, %d cut at the drain deadline",
		len(answers), end.Sub(start).Round(time.Second), float64(len(answers))/end.Sub(start).Seconds(), len(streams), finished, cut)
	if cut == 0 {
		t.Errorf("no stream was open at a drain deadline: the test checks nothing of the drain")
	}
	if ps := docker(t, "ps", "-a", "--filter", "label=com.docker.compose.project="+in.Name, "--filter", "label=com.docker.compose.service=app", "--format", "{{.Names}}"); ps != in.Name {
		t.Errorf("app containers after the rollouts: %q, want %s alone", ps, in.Name)
	}
}

// edgeApps are the two good app images the edge stories alternate:
// wbd.local/app:1 and app:2, or those WBD_E2E_EDGE_APPS names ("a,b"), for
// a machine whose shared app images predate GET /events and cannot be
// rebuilt under others' feet.
func edgeApps(t *testing.T) (string, string) {
	t.Helper()
	if v := os.Getenv("WBD_E2E_EDGE_APPS"); v != "" {
		a, b, ok := strings.Cut(v, ",")
		if !ok {
			t.Fatalf("WBD_E2E_EDGE_APPS=%q: want two images, a,b", v)
		}
		return a, b
	}
	return imageApp, imageApp2
}

// requireEvents fails the test unless the instance's app streams events.
func requireEvents(t *testing.T, in *instance) {
	t.Helper()
	code, body, err := httpGet(in.Port, "/events?n=1&every=10ms")
	if err != nil || code != 200 || !strings.Contains(string(body), "data: ") {
		t.Fatalf("GET /events: %d %q %v; the app image predates it: rebuild it with scripts/build-images.sh app app2", code, body, err)
	}
}

// readyLine matches the progress line of a start-first rollout saying the
// new app container, under compose's temporary name, is ready.
func readyLine(in *instance) func(string) bool {
	re := regexp.MustCompile(`^Container [0-9a-f]{12}_` + regexp.QuoteMeta(in.Name) + `\s+Ready$`)
	return re.MatchString
}

// edgeSwitch is a switch of the edge's target, as its log says.
type edgeSwitch struct {
	at       time.Time
	target   string
	inFlight int
}

// edgeSwitches reads from the edge container's log the switches that
// drain: those between two names of one container (keep) have no deadline.
func edgeSwitches(t *testing.T, in *instance) []edgeSwitch {
	t.Helper()
	var out []edgeSwitch
	sc := bufio.NewScanner(strings.NewReader(docker(t, "logs", in.Name+"-edge")))
	for sc.Scan() {
		var l struct {
			Time     time.Time `json:"time"`
			Msg      string    `json:"msg"`
			Target   string    `json:"target"`
			InFlight int       `json:"in_flight"`
			Keep     bool      `json:"keep"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "switched" && !l.Keep {
			out = append(out, edgeSwitch{l.Time, l.Target, l.InFlight})
		}
	}
	return out
}

func switchTimes(ss []edgeSwitch) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.at.Format("15:04:05.000"))
	}
	return out
}

// cutAtDeadline reports whether s, which did not finish, ended at the
// drain deadline of a switch made while it was open.
func cutAtDeadline(s stream, switches []edgeSwitch, drain time.Duration) bool {
	for _, sw := range switches {
		deadline := sw.at.Add(drain)
		if s.start.Before(sw.at) && !s.end.Before(deadline.Add(-100*time.Millisecond)) && s.end.Before(deadline.Add(1500*time.Millisecond)) {
			return true
		}
	}
	return false
}
