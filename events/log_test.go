package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "srv")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestRecordReadBack(t *testing.T) {
	root := newRoot(t)
	l := Open(root, Actor{User: "ops", PID: 42, Command: "wbd apply"}, Options{
		Redact: func(s string) string { return "[" + s + "]" },
	})
	evs := []Event{
		{Instance: "testing", Action: Apply, From: 1, To: 2, Result: OK, Duration: 1.5, Detail: "app recreated"},
		{Instance: "nigeria", Action: Apply, From: 3, To: 3, Failed: 4, Result: RolledBack, Detail: "app exited\nwith 1"},
		{Instance: "testing", Action: Down, Result: OK},
	}
	for _, e := range evs {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(root, Filter{}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3: %+v", len(got), got)
	}
	if got[1].Detail != "[app exited; with 1]" || got[1].Failed != 4 || got[1].Result != RolledBack {
		t.Errorf("second event = %+v", got[1])
	}
	if got[0].Actor.User != "ops" || got[0].Actor.PID != 42 || got[0].Time.IsZero() || got[0].Took() != 1500*time.Millisecond {
		t.Errorf("first event = %+v", got[0])
	}
	only, _ := Read(root, Filter{Instance: "testing"}, nil)
	if len(only) != 2 || only[1].Action != Down {
		t.Errorf("testing's events = %+v", only)
	}
	fi, err := os.Stat(Path(root))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("events file: %v, %v", fi, err)
	}
}

// Several writers at once (the daemon and CLI commands, each with its own
// open file) never interleave or lose lines, across rotations.
func TestConcurrentWritersAndRotation(t *testing.T) {
	root := newRoot(t)
	const writers, each = 8, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			l := Open(root, Actor{PID: w}, Options{MaxSize: 8 << 10})
			for i := range each {
				if err := l.Record(Event{Instance: fmt.Sprintf("w%d", w), Action: Apply, Result: OK, Detail: fmt.Sprintf("%d", i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := os.Stat(Path(root) + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	got, err := Read(root, Filter{}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{Path(root), Path(root) + ".1"} {
		if fi, _ := os.Stat(p); fi.Size() > 8<<10+512 {
			t.Errorf("%s is %d bytes, past the limit", p, fi.Size())
		}
	}
	// Older generations are dropped; what is kept is whole and in order
	// per writer.
	last := map[string]int{}
	for _, e := range got {
		var i int
		fmt.Sscan(e.Detail, &i)
		if prev, ok := last[e.Instance]; ok && i <= prev {
			t.Errorf("%s: event %d after %d", e.Instance, i, prev)
		}
		last[e.Instance] = i
	}
	if len(got) == 0 {
		t.Fatal("no events kept")
	}
}

func TestNoLinkFollowed(t *testing.T) {
	root := newRoot(t)
	outside := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(outside, nil, 0o644)
	os.Mkdir(filepath.Join(root, Dir), 0o755)
	if err := os.Symlink(outside, Path(root)); err != nil {
		t.Fatal(err)
	}
	var told error
	err := Open(root, DaemonActor(), Options{OnError: func(err error) { told = err }}).Record(Event{Instance: "x", Action: Apply, Result: OK})
	if err == nil {
		t.Fatal("recorded through a link")
	}
	if told == nil || !strings.Contains(told.Error(), "x's apply is not in the events log") {
		t.Errorf("OnError told %v", told)
	}
	if data, _ := os.ReadFile(outside); len(data) != 0 {
		t.Errorf("the link's target was written: %q", data)
	}
	linkedDir := newRoot(t)
	root2 := newRoot(t)
	os.Symlink(linkedDir, filepath.Join(root2, Dir))
	if err := Open(root2, DaemonActor(), Options{}).Record(Event{Instance: "x", Action: Apply, Result: OK}); err == nil {
		t.Error("recorded into a linked .wbd directory")
	}
}

func TestBadLinesAreSkippedAndNamed(t *testing.T) {
	root := newRoot(t)
	l := Open(root, DaemonActor(), Options{})
	l.Record(Event{Instance: "a", Action: Apply, Result: OK})
	f, _ := os.OpenFile(Path(root), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("not json\n")
	f.Close()
	l.Record(Event{Instance: "b", Action: Apply, Result: OK})
	var bad []error
	got, err := Read(root, Filter{}, func(err error) { bad = append(bad, err) })
	if err != nil || len(got) != 2 {
		t.Fatalf("Read = %v, %v", got, err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), "events.jsonl:2: not an event") {
		t.Errorf("bad lines reported: %v", bad)
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	root := newRoot(t)
	l := Open(root, DaemonActor(), Options{MaxSize: 600})
	l.Record(Event{Instance: "before", Action: Apply, Result: OK})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Event, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, root, 10*time.Millisecond, Filter{Instance: "x"}, func(err error) { t.Error(err) }, func(e Event) { got <- e })
	}()
	time.Sleep(50 * time.Millisecond) // Follow starts at the end
	// Each event is awaited before the next is written, so that a poll
	// late under load sees one rotation at most: a log rotated twice
	// between two looks (a few hundred bytes here, 4 MiB in use) would
	// lose the generation in between.
	const n = 20
	deadline := time.After(20 * time.Second)
	for i := range n {
		l.Record(Event{Instance: "x", Action: Apply, Result: OK, Detail: fmt.Sprint(i)})
		select {
		case e := <-got:
			if e.Detail != fmt.Sprint(i) {
				t.Fatalf("event %d: got %q", i, e.Detail)
			}
		case <-deadline:
			t.Fatalf("followed %d events of %d", i, n)
		}
		l.Record(Event{Instance: "other", Action: Apply, Result: OK})
	}
	if _, err := os.Stat(Path(root) + ".1"); err != nil {
		t.Fatal("the log was not rotated")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Last reads the log from its end, across the rotated file when the
// current one holds fewer.
func TestLast(t *testing.T) {
	root := newRoot(t)
	l := Open(root, DaemonActor(), Options{MaxSize: 100 << 10})
	const total = 1500 // rotates once, past 100 KiB
	for i := range total {
		l.Record(Event{Instance: fmt.Sprintf("i%d", i%3), Action: Apply, Result: OK, Detail: fmt.Sprint(i)})
	}
	all, _ := Read(root, Filter{}, nil)
	for _, tc := range []struct {
		n int
		f Filter
	}{{1, Filter{}}, {20, Filter{}}, {len(all), Filter{}}, {len(all) + 5, Filter{}}, {7, Filter{Instance: "i1"}}, {500, Filter{Instance: "i2"}}} {
		want, _ := Read(root, tc.f, nil)
		if len(want) > tc.n {
			want = want[len(want)-tc.n:]
		}
		got, err := Last(root, tc.n, tc.f)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Last(%d, %+v): %d events (%v), want %d", tc.n, tc.f, len(got), err, len(want))
		}
	}
	if _, err := os.Stat(Path(root) + ".1"); err != nil {
		t.Error("the log was not rotated")
	}
}
