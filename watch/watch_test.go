package watch

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/wbd-dev/wbd/spec"
)

const validYAML = `version: 1
root: /srv/wbd
instances:
  testing:
    port: 8001
    images: {app: "wbd.local/app:1"}
`

// harness runs loop in a synctest bubble on a file in a temporary
// directory, with events fed by the test.
type harness struct {
	t      *testing.T
	path   string
	w      *Watcher
	events chan fsnotify.Event
	errs   chan error
	out    chan Update
	reads  int
}

func start(t *testing.T, content string) *harness {
	t.Helper()
	return startWith(t, content, Options{Debounce: 100 * time.Millisecond})
}

func startWith(t *testing.T, content string, opts Options) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "instances.yaml")
	if content != "" {
		write(t, path, content)
	}
	w, err := newWatcher(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, path: path, w: w, events: make(chan fsnotify.Event), errs: make(chan error), out: make(chan Update, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.loop(ctx, h.events, h.errs, h.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop: %v", err)
		}
	})
	return h
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// event tells the loop that name (absolute, or relative to the file's
// directory) changed.
func (h *harness) event(name string, op fsnotify.Op) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(h.path), name)
	}
	h.events <- fsnotify.Event{Name: name, Op: op}
}

// saved tells the loop that name was written, and lets the debounce pass.
func (h *harness) saved(name string) {
	h.event(name, fsnotify.Write)
	time.Sleep(time.Second)
}

// updates waits until the loop is idle and returns what it sent.
func (h *harness) updates() []Update {
	synctest.Wait()
	var us []Update
	for {
		select {
		case u := <-h.out:
			us = append(us, u)
		default:
			return us
		}
	}
}

func (h *harness) want(n int) []Update {
	h.t.Helper()
	us := h.updates()
	if len(us) != n {
		h.t.Fatalf("got %d updates %+v, want %d", len(us), us, n)
	}
	return us
}

func TestFirstRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		u := h.want(1)[0]
		if u.Err != nil {
			t.Fatalf("first update: %v", u.Err)
		}
		if got, want := u.Config.Names(), []string{"testing"}; !equal(got, want) {
			t.Fatalf("instances=%v, want %v", got, want)
		}
	})
}

func TestDebounceBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		// An editor's save: write a temporary file, then rename it over.
		write(t, h.path+".tmp", strings.Replace(validYAML, "8001", "8002", 1))
		h.event("instances.yaml.tmp", fsnotify.Create)
		h.event("instances.yaml.tmp", fsnotify.Write)
		time.Sleep(50 * time.Millisecond)
		if err := os.Rename(h.path+".tmp", h.path); err != nil {
			t.Fatal(err)
		}
		h.event("instances.yaml.tmp", fsnotify.Rename)
		h.event("instances.yaml", fsnotify.Create)
		time.Sleep(99 * time.Millisecond)
		h.want(0) // still within the quiet period of the last event
		time.Sleep(time.Millisecond)
		u := h.want(1)[0]
		if got, want := u.Config.Instance("testing").Port, 8002; got != want {
			t.Fatalf("port=%d, want %d", got, want)
		}
	})
}

func TestSkipsEmptyAndUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		write(t, h.path, "")
		h.saved("instances.yaml")
		h.want(0)
		write(t, h.path, "  \n")
		h.saved("instances.yaml")
		h.want(0)
		write(t, h.path, validYAML)
		h.saved("instances.yaml")
		h.want(0) // the same content as last sent
		write(t, h.path, validYAML+"# a comment\n")
		h.saved("instances.yaml")
		h.want(1)
	})
}

func TestOtherFilesIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		write(t, h.path, validYAML+"# changed\n")
		h.saved("other.yaml")
		h.want(0)
	})
}

func TestInvalidSendsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		write(t, h.path, strings.Replace(validYAML, "port: 8001", "port: [", 1))
		h.saved("instances.yaml")
		u := h.want(1)[0]
		if u.Config != nil || u.Err == nil {
			t.Fatalf("got %+v, want an error", u)
		}
		if !errors.Is(u.Err, spec.ErrSyntax) {
			t.Errorf("error %v is not spec.ErrSyntax", u.Err)
		}
		if want := h.path + ":"; !strings.HasPrefix(u.Err.Error(), want) {
			t.Errorf("error %q does not start with %q", u.Err, want)
		}
		var list spec.ErrorList
		if !errors.As(u.Err, &list) || list[0].Line == 0 {
			t.Errorf("error %v has no line", u.Err)
		}
	})
}

func TestMissingFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, "")
		u := h.want(1)[0]
		if !errors.Is(u.Err, os.ErrNotExist) {
			t.Fatalf("err=%v, want not exist", u.Err)
		}
		h.event("instances.yaml", fsnotify.Chmod)
		time.Sleep(time.Second)
		h.want(0) // still missing: no news
		write(t, h.path, validYAML)
		h.event("instances.yaml", fsnotify.Create)
		time.Sleep(time.Second)
		if u := h.want(1)[0]; u.Err != nil {
			t.Fatalf("after create: %v", u.Err)
		}
	})
}

func TestReloadSendsUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		h.w.Reload()
		u := h.want(1)[0]
		if !u.Reload || u.Config == nil {
			t.Fatalf("got %+v, want a reloaded config", u)
		}
	})
}

func TestQueueOverflowRereads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		write(t, h.path, validYAML+"# changed\n")
		h.errs <- fsnotify.ErrEventOverflow
		time.Sleep(time.Second)
		h.want(1)
	})
}

// TestRenameOnRealFilesystem saves the file the way editors do, through
// inotify, and waits for the update with a deadline.
func TestRenameOnRealFilesystem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "instances.yaml")
	write(t, path, validYAML)
	next := watchReal(t, path, nil)
	if u := next(); u.Err != nil {
		t.Fatal(u.Err)
	}
	tmp := filepath.Join(dir, ".instances.yaml.swp")
	write(t, tmp, strings.Replace(validYAML, "8001", "8003", 1))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	u := next()
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if got, want := u.Config.Instance("testing").Port, 8003; got != want {
		t.Fatalf("port=%d, want %d", got, want)
	}
}

// watchReal runs a Watcher of path on the real filesystem until the test
// ends, logging to log (nil discards), and returns a function that waits
// for its next update.
func watchReal(t *testing.T, path string, log *slog.Logger) (next func() Update) {
	t.Helper()
	w, err := New(path, Options{Debounce: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan Update)
	done := make(chan error, 1)
	ctx := t.Context()
	go func() { done <- w.Run(ctx, out) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return func() Update {
		t.Helper()
		select {
		case u := <-out:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("no update within 10s")
		}
		return Update{}
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// A FIFO or a device in place of the file is reported, not read: reading
// would block the watcher, or fill its memory.
func TestNotARegularFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, validYAML)
		h.want(1)
		if err := os.Remove(h.path); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(h.path, 0o644); err != nil {
			t.Fatal(err)
		}
		h.saved("instances.yaml")
		u := h.want(1)[0]
		if want := h.path + ": is a named pipe (FIFO), not a regular file"; u.Err == nil || u.Err.Error() != want {
			t.Fatalf("err=%v, want %q", u.Err, want)
		}
		if !errors.Is(u.Err, spec.ErrFile) {
			t.Errorf("err=%v is not spec.ErrFile", u.Err)
		}
	})
}
