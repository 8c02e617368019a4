package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/events"
)

// wbd events --follow prints what is appended after it started, the
// daemon's and the commands' alike, until it is stopped.
func TestEventsFollow(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	os.Mkdir(root, 0o755)
	file := filepath.Join(dir, "instances.yaml")
	os.WriteFile(file, []byte("version: 1\nroot: "+root+"\ndefaults: {images: {app: \"wbd.local/app:1\"}}\ninstances:\n  testing: {port: 8001}\n"), 0o644)
	log := events.Open(root, events.DaemonActor(), events.Options{})
	log.Record(events.Event{Instance: "testing", Action: events.Apply, Result: events.OK, Detail: "before"})

	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-f", file, "events", "testing", "--follow"}, out, io.Discard) }()
	waitUntil(t, 10*time.Second, "the events so far", func() bool { return strings.Contains(out.String(), "before") })
	log.Record(events.Event{Instance: "other", Action: events.Down, Result: events.OK, Detail: "not this one"})
	events.Open(root, events.CommandActor("wbd restart"), events.Options{}).Record(
		events.Event{Instance: "testing", Action: events.Restart, From: 2, To: 2, Result: events.Failed, Detail: "after"})
	waitUntil(t, 10*time.Second, "the new event", func() bool { return strings.Contains(out.String(), "after") })
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after the stop", code)
	}
	got := out.String()
	if strings.Contains(got, "not this one") || strings.Count(got, "TIME") != 1 || !strings.Contains(got, "restart   2 ") {
		t.Errorf("wbd events --follow printed:\n%s", got)
	}
	// What came later lines up with the table above it, though its
	// action and result are longer than any before.
	lines := strings.Split(got, "\n")
	at := func(column, want string) bool {
		i := strings.Index(lines[0], column)
		return i >= 0 && i < len(lines[2]) && strings.HasPrefix(lines[2][i:], want+" ")
	}
	if len(lines) < 3 || !at("REVISION", "2") || !at("RESULT", "failed") || !at("TOOK", "0s") {
		t.Errorf("the followed event is not in the table's columns:\n%s", got)
	}
}
