package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Safe rollouts: an apply that breaks the app puts back the last healthy
// revision, records what happened in the instance's history, and holds the
// bad spec until the operator asks to try it again.

// exitRolledBack is wbd's exit code when an instance's change was undone
// (rolled back, or held without being tried).
const exitRolledBack = 3

// A change to an app image that cannot start, crashes after starting or
// never turns healthy is rolled back to the healthy app:1, with postgres and
// redis left running; the next good version then rolls out.
func TestBadAppImageIsRolledBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, image string
		healthcheck string         // the instance's healthcheck: in the file, with the image
		applyArgs   []string       // beyond apply NAME
		why         *regexp.Regexp // what wbd's own lines on stderr say of the failure
		retry       bool           // also: held, then --retry-failed --json
	}{
		{name: "cannot start", image: imageAppNoStart, why: regexp.MustCompile(`refapp-missing.*no such file or directory`), retry: true},
		{name: "crash loop", image: imageAppCrash, why: regexp.MustCompile(`(?i)exit(ed|s)? (with )?(code )?1|restart`)},
		{name: "unhealthy", image: imageAppUnhealthy, applyArgs: []string{"--timeout", "15s"}, why: regexp.MustCompile(`(?i)unhealthy`)},
		// The healthcheck fails in its 60 s start period: the engine says
		// starting, never unhealthy, until --timeout ends the wait.
		{name: "not healthy within the timeout", image: imageApp, healthcheck: "[/refapp, unhealthy]", applyArgs: []string{"--timeout", "15s"}, why: regexp.MustCompile(`(?i)health|15s|time`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOperator(t)
			requireImages(t, tc.image, imageApp2)
			in := o.declare(nil)
			o.apply(in)
			waitForVersion(t, in, "1")
			if h := o.history(in); !slices.Equal(verdicts(h), []string{"healthy"}) {
				t.Fatalf("history after the first apply: verdicts %v, want [healthy]\n%s", verdicts(h), h)
			}
			if entries, err := os.ReadDir(o.dirOf(in, ".wbd", "revisions")); err != nil || len(entries) == 0 {
				t.Errorf("{root}/NAME/.wbd/revisions/ after an apply: %d entries, %v; want the revision recorded", len(entries), err)
			}
			data := dataIDs(t, in)

			in.Images.App = tc.image
			o.writeFileWith(in, "healthcheck", tc.healthcheck)
			r := o.wbd(append([]string{"apply", in.Name}, tc.applyArgs...)...)
			requireRolledBack(t, r, in, 1, tc.image, tc.why)
			waitForVersion(t, in, "1")
			if got := inspect(t, in.Name).Config.Image; got != imageApp {
				t.Errorf("after the rollback the app runs %s, want %s", got, imageApp)
			}
			requireSameIDs(t, "the rollback", data, dataIDs(t, in))
			h := o.history(in)
			if got, want := verdicts(h), []string{"rolled back", "healthy"}; !slices.Equal(got, want) {
				t.Fatalf("history: verdicts %v, want %v\n%s", got, want, h)
			}
			if bad := h[0]; bad.Restored != 1 || bad.Reason == "" || bad.Cause != "apply" || bad.SpecHash == h[1].SpecHash {
				t.Errorf("the rolled back revision: %+v; want restored 1, a reason, cause apply, another spec hash than revision 1", bad)
			}
			requireHistoryText(t, o, in, h)

			if tc.retry {
				// The same file again: held, containers untouched, until --retry-failed.
				all := takeSnapshot(t, containerNames(in)...)
				r := o.wbd("apply", in.Name)
				if r.code != exitRolledBack {
					t.Errorf("apply of the held spec: exit %d, want %d\n%s", r.code, exitRolledBack, r)
				}
				if out := r.stdout + r.stderr; !strings.Contains(out, "held") || !strings.Contains(out, "--retry-failed") {
					t.Errorf("apply of the held spec does not say it is held and that --retry-failed tries it again:\n%s", r)
				}
				requireUnchanged(t, "the apply of a held spec", all, takeSnapshot(t, containerNames(in)...))
				if got := len(o.history(in)); got != 2 {
					t.Errorf("the apply of a held spec recorded a revision: %d in history, want 2", got)
				}

				r = o.wbd("apply", in.Name, "--retry-failed", "--json")
				if r.code != exitRolledBack {
					t.Errorf("apply --retry-failed: exit %d, want %d\n%s", r.code, exitRolledBack, r)
				}
				var outs []struct{ Instance, Result string }
				if err := json.Unmarshal([]byte(r.stdout), &outs); err != nil || len(outs) != 1 || outs[0].Instance != in.Name || outs[0].Result != "rolled back" {
					t.Errorf("apply --retry-failed --json: %+v, %v; want one outcome for %s with result \"rolled back\"\n%s", outs, err, in.Name, r)
				}
				waitForVersion(t, in, "1")
				if got, want := verdicts(o.history(in)), []string{"rolled back", "rolled back", "healthy"}; !slices.Equal(got, want) {
					t.Errorf("history after --retry-failed: verdicts %v, want %v", got, want)
				}
			}

			// The next good version rolls out as usual.
			in.Images.App = imageApp2
			o.writeFile()
			if r := o.wbd("apply", in.Name); r.code != 0 {
				t.Fatalf("apply of app:2 after a rollback: want exit 0\n%s", r)
			}
			waitForVersion(t, in, "2")
			requireSameIDs(t, "the rollout of app:2", data, dataIDs(t, in))
			if h := o.history(in); len(h) == 0 || h[0].Verdict != "healthy" || h[0].Cause != "apply" {
				t.Errorf("history after app:2: newest %+v, want a healthy apply\n%s", first(h), h)
			}
		})
	}
}

// The first apply of an instance has no healthy revision to go back to: it
// fails as before, with exit 1.
func TestFirstApplyThatFailsHasNothingToRollBackTo(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	requireImages(t, imageAppNoStart)
	in := o.declare(func(in *instance) { in.Images.App = imageAppNoStart })
	r := o.wbd("apply", in.Name)
	if r.code != 1 {
		t.Fatalf("first apply of an app that cannot start: exit %d, want 1\n%s", r.code, r)
	}
	if got := outcomes(r, o.instances)[in.Name]; got != "failed" {
		t.Errorf("summary says %s %q, want failed\n%s", in.Name, got, r)
	}
	if h := o.history(in); len(h) != 1 || h[0].Verdict != "failed" {
		t.Errorf("history: %v, want one failed revision\n%s", verdicts(h), h)
	}
}

// An image that cannot be pulled changes nothing: exit 1, as before safe
// rollouts, no container touched, the instance still at its revision; and it
// is not held: the next apply tries the pull again.
func TestMissingImageChangesNothing(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	o.apply(in)
	all := takeSnapshot(t, containerNames(in)...)
	in.Images.App = "wbd.local/nope:1" // not here, no registry to pull it from
	o.writeFile()
	r := o.wbd("apply", in.Name)
	if r.code != 1 {
		t.Fatalf("apply of a missing image: exit %d, want 1\n%s", r.code, r)
	}
	if !strings.Contains(r.stderr, "wbd.local/nope:1") {
		t.Errorf("the failure does not name the missing image:\n%s", r.stderr)
	}
	requireUnchanged(t, "the apply of a missing image", all, takeSnapshot(t, containerNames(in)...))
	if st := o.instanceStatus(in); st.Revision != 1 || st.Pinned {
		t.Errorf("wbd status after a failed pull: revision %d, pinned %v; want revision 1, not pinned", st.Revision, st.Pinned)
	}
	if h := o.history(in); len(h) == 0 || h[len(h)-1].Verdict != "healthy" || len(h) > 2 || len(h) == 2 && h[0].Verdict != "failed" {
		t.Errorf("history after a failed pull: verdicts %v, want [healthy], or a failed attempt above it\n%s", verdicts(h), h)
	}
	r = o.wbd("apply", in.Name)
	if r.code != 1 || !strings.Contains(r.stderr, "wbd.local/nope:1") {
		t.Errorf("a second apply of the missing image: want exit 1 naming it again (tried, not held)\n%s", r)
	}
	requireUnchanged(t, "a second apply of a missing image", all, takeSnapshot(t, containerNames(in)...))
}

// The operator rolls back a good but unwanted version: the instance runs
// the previous revision and stays pinned there, through applies of the same
// file, until --release or an edit of its part of the file.
func TestRollbackPinsUntilRelease(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	requireImages(t, imageApp2)
	in := o.declare(nil)
	o.apply(in)
	data := dataIDs(t, in)
	in.Images.App = imageApp2
	o.writeFile()
	o.apply(in)
	waitForVersion(t, in, "2")

	o.rollback(in)
	waitForVersion(t, in, "1")
	requirePinnedTo(t, o, in, 1)
	h := o.history(in)
	if len(h) == 0 || h[0].Cause != "rollback" || !h[0].Pinned {
		t.Errorf("history after rollback: newest %+v, want cause rollback, pinned", first(h))
	}

	// The file still says app:2; apply leaves the pinned instance alone.
	app := takeSnapshot(t, containerNames(in)...)
	r := o.mustWbd("apply", in.Name)
	if !strings.Contains(r.stdout+r.stderr, "pinned") {
		t.Errorf("apply of a pinned instance does not say it is pinned:\n%s", r)
	}
	requireUnchanged(t, "the apply of a pinned instance", app, takeSnapshot(t, containerNames(in)...))
	if v := appVersion(in); v != "1" {
		t.Errorf("after apply of the pinned instance the app is version %q, want 1", v)
	}

	o.rollback(in, "--release")
	waitForVersion(t, in, "2")
	if st := o.instanceStatus(in); st.Pinned {
		t.Errorf("wbd status after --release: still pinned (revision %d)", st.Revision)
	}

	// Pinned again, to revision 1 by number; an edit of the instance's part
	// of the file ends the pin.
	o.rollback(in, "--to", "1")
	waitForVersion(t, in, "1")
	requirePinnedTo(t, o, in, 1)
	retagged := "wbd.local/app:" + uniqueName("e2e")[len("e2e-"):]
	docker(t, "tag", imageApp2, retagged)
	t.Cleanup(func() { _, _ = dockerTry("rmi", retagged) }) // only the tag
	in.Images.App = retagged
	o.writeFile()
	o.mustWbd("apply", in.Name)
	waitForVersion(t, in, "2")
	if got := inspect(t, in.Name).Config.Image; got != retagged {
		t.Errorf("after an edit of the pinned instance the app runs %s, want %s", got, retagged)
	}
	if st := o.instanceStatus(in); st.Pinned {
		t.Errorf("wbd status after an edit of the file: still pinned (revision %d)", st.Revision)
	}
	requireSameIDs(t, "rollbacks and releases", data, dataIDs(t, in))
}

// requirePinnedTo checks that `wbd status NAME --json` says the instance
// is pinned and runs revision target: target itself, or the revision the
// rollback recorded (cause rollback) with target's spec.
func requirePinnedTo(t *testing.T, o *operator, in *instance, target int) {
	t.Helper()
	st := o.instanceStatus(in)
	h := o.history(in)
	byNumber := map[int]revisionEntry{}
	for _, e := range h {
		byNumber[e.Revision] = e
	}
	runs, want := byNumber[st.Revision], byNumber[target]
	if !st.Pinned || st.Revision != target && (runs.Cause != "rollback" || runs.SpecHash != want.SpecHash) {
		t.Errorf("wbd status: revision %d, pinned %v; want pinned, at revision %d or a rollback to its spec\n%s", st.Revision, st.Pinned, target, h)
	}
}

// writeFileWith writes the file with one more field for the instance,
// unless value is "".
func (o *operator) writeFileWith(in *instance, field, value string) {
	o.t.Helper()
	o.writeFile()
	if value == "" {
		return
	}
	data, err := os.ReadFile(o.file)
	if err != nil {
		o.t.Fatal(err)
	}
	head := "\n  " + in.Name + ":\n"
	text := strings.Replace(string(data), head, head+"    "+field+": "+value+"\n", 1)
	if text == string(data) {
		o.t.Fatalf("writeFileWith: no %q in the file:\n%s", head, data)
	}
	if err := os.WriteFile(o.file, []byte(text), 0o644); err != nil {
		o.t.Fatal(err)
	}
}

// rollback runs `wbd rollback NAME ARGS...`, which must exit 0; the test
// goes on after another exit code, unless it is 1 (it failed) or 2.
func (o *operator) rollback(in *instance, args ...string) result {
	o.t.Helper()
	r := o.wbd(append([]string{"rollback", in.Name}, args...)...)
	switch r.code {
	case 0:
	case 1, 2:
		o.t.Fatalf("%s", r)
	default:
		o.t.Errorf("want exit 0: %s", r)
	}
	return r
}

// wbd history of a name the file does not have fails and lists the known ones.
func TestHistoryOfAnUnknownInstance(t *testing.T) {
	t.Parallel()
	o := newOperator(t)
	in := o.declare(nil)
	r := o.wbd("history", "e2e-nosuchinstance")
	if r.code != 1 {
		t.Fatalf("history of an unknown instance: exit %d, want 1\n%s", r.code, r)
	}
	if !strings.Contains(r.stderr, in.Name) {
		t.Errorf("stderr does not list the known instance %s:\n%s", in.Name, r.stderr)
	}
}

// revisionEntry is one element of `wbd history NAME --json`.
type revisionEntry struct {
	Revision int    `json:"revision"`
	Time     string `json:"time"`
	By       string `json:"by"`
	SpecHash string `json:"spec_hash"`
	Changes  string `json:"changes"`
	Verdict  string `json:"verdict"`
	Reason   string `json:"reason"`
	Restored int    `json:"restored"`
	Pinned   bool   `json:"pinned"`
	Cause    string `json:"cause"`
}

type history []revisionEntry

func (h history) String() string {
	var b strings.Builder
	for _, r := range h {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

func first(h history) revisionEntry {
	if len(h) == 0 {
		return revisionEntry{}
	}
	return h[0]
}

// history is `wbd history NAME --json`, newest first; it checks the fields
// every revision has.
func (o *operator) history(in *instance) history {
	o.t.Helper()
	r := o.mustWbd("history", in.Name, "--json")
	var h history
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		o.t.Fatalf("wbd history --json: %v\n%s", err, r)
	}
	for i, e := range h {
		if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
			o.t.Errorf("history: revision %d: time %q: %v", e.Revision, e.Time, err)
		}
		if e.By == "" || e.SpecHash == "" || e.Cause == "" || e.Verdict == "" {
			o.t.Errorf("history: revision %d lacks by, spec_hash, cause or verdict: %+v", e.Revision, e)
		}
		if i > 0 && e.Revision >= h[i-1].Revision {
			o.t.Errorf("history: revision %d after %d: want newest first", e.Revision, h[i-1].Revision)
		}
	}
	return h
}

func verdicts(h history) []string {
	var v []string
	for _, r := range h {
		v = append(v, r.Verdict)
	}
	return v
}

// requireHistoryText checks that `wbd history NAME` prints one line per
// revision (a header line aside), each starting with its number (the
// current one marked).
func requireHistoryText(t *testing.T, o *operator, in *instance, h history) {
	t.Helper()
	out := o.mustWbd("history", in.Name).stdout
	var got []int
	for _, line := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^\s*[*#]?(\d+)\b`).FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got = append(got, n)
		}
	}
	var want []int
	for _, r := range h {
		want = append(want, r.Revision)
	}
	if !slices.Equal(got, want) {
		t.Errorf("wbd history: lines for revisions %v, want %v\n%s", got, want, out)
	}
}

// instanceLevel is the instance-level part of `wbd status NAME --json`.
type instanceLevel struct {
	Instance string `json:"instance"`
	Revision int    `json:"revision"`
	Pinned   bool   `json:"pinned"`
	Daemon   *struct {
		Result        string     `json:"result"`
		Detail        string     `json:"detail"`
		LastError     string     `json:"last_error"`
		LastReconcile *time.Time `json:"last_reconcile"`
	} `json:"daemon"`
}

func (o *operator) instanceStatus(in *instance) instanceLevel {
	o.t.Helper()
	r := o.mustWbd("status", in.Name, "--json")
	var st []instanceLevel
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || st[0].Instance != in.Name {
		o.t.Fatalf("wbd status --json: want %s alone, got %v\n%s", in.Name, err, r)
	}
	return st[0]
}

// requireRolledBack checks what apply says of a change it rolled back to
// revision restored: exit 3, the summary line, the reason on stderr.
func requireRolledBack(t *testing.T, r result, in *instance, restored int, image string, why *regexp.Regexp) {
	t.Helper()
	if r.code != exitRolledBack {
		t.Fatalf("apply of %s: exit %d, want %d (rolled back)\n%s", image, r.code, exitRolledBack, r)
	}
	line := summaryLine(r, in)
	if !strings.Contains(line, "rolled back") || !regexp.MustCompile(fmt.Sprintf(`\brevision %d\b`, restored)).MatchString(line) {
		t.Errorf("summary line %q: want result \"rolled back\" and that it runs revision %d again\n%s", line, restored, r)
	}
	// wbd's own lines, not the compose library's progress ("Container X  Started").
	var own []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(line, "wbd: ") && strings.Contains(line, in.Name) {
			own = append(own, line)
		}
	}
	if text := strings.Join(own, "\n"); !why.MatchString(text) {
		t.Errorf("wbd's lines on stderr do not say what failed in %s and why (want %v):\n%s\n%s", in.Name, why, text, r)
	}
}

// summaryLine is the line of apply's stdout summary for the instance.
func summaryLine(r result, in *instance) string {
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == in.Name {
			return line
		}
	}
	return ""
}

// appVersion is the version the app's /health names, "" if it does not answer.
func appVersion(in *instance) string {
	h, err := appHealth(in.Port)
	if err != nil {
		return ""
	}
	return h["version"]
}

// waitForVersion waits until the instance's app answers /health healthy as
// the given version (the stand-in images: "1" for app:1, "2" for app:2).
func waitForVersion(t *testing.T, in *instance, version string) {
	t.Helper()
	waitForVersionWithin(t, in, version, time.Minute)
}

// dataIDs are the container IDs of the instance's postgres and redis.
func dataIDs(t *testing.T, in *instance) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, n := range []string{in.Name + "-postgres", in.Name + "-redis"} {
		ids[n] = inspect(t, n).ID
	}
	return ids
}

func requireSameIDs(t *testing.T, step string, before, after map[string]string) {
	t.Helper()
	for n, id := range before {
		if after[n] != id {
			t.Errorf("after %s: %s was recreated (%.12s -> %.12s), want the same container", step, n, id, after[n])
		}
	}
}

// requireImages skips the test (fails it under CI) unless the images exist.
func requireImages(t *testing.T, images ...string) {
	t.Helper()
	var missing []string
	for _, img := range images {
		if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
			missing = append(missing, img)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("stand-in images missing: %s; %s", strings.Join(missing, ", "), setUpHint)
	}
	t.Skipf("stand-in images missing: %s; %s", strings.Join(missing, ", "), setUpHint)
}
