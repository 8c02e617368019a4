package watch

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// withPort is validYAML publishing port.
func withPort(port int) string {
	return strings.Replace(validYAML, "port: 8001", fmt.Sprintf("port: %d", port), 1)
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func wantPort(t *testing.T, u Update, port int) {
	t.Helper()
	if u.Err != nil {
		t.Fatalf("update: %v", u.Err)
	}
	if got := u.Config.Instance("testing").Port; got != port {
		t.Fatalf("port=%d, want %d", got, port)
	}
}

// logBuffer is a log destination the watcher's goroutine writes while the
// test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The layout of a Kubernetes ConfigMap volume: instances.yaml is a link
// into ..data, itself a link to a timestamped directory that every update
// replaces by renaming a new link over ..data, then removing the old
// directory. Every swap is a change, not only the first.
func TestConfigMapSwaps(t *testing.T) {
	dir := t.TempDir()
	data := func(i int) string { return fmt.Sprintf("..2026_11_29_22_00_%02d.000%d", i, i) }
	mkdir(t, filepath.Join(dir, data(0)))
	write(t, filepath.Join(dir, data(0), "instances.yaml"), withPort(8001))
	symlink(t, data(0), filepath.Join(dir, "..data"))
	symlink(t, filepath.Join("..data", "instances.yaml"), filepath.Join(dir, "instances.yaml"))
	var logs logBuffer
	next := watchReal(t, filepath.Join(dir, "instances.yaml"), slog.New(slog.NewTextHandler(&logs, nil)))
	wantPort(t, next(), 8001)

	for i := 1; i <= 3; i++ {
		mkdir(t, filepath.Join(dir, data(i)))
		write(t, filepath.Join(dir, data(i), "instances.yaml"), withPort(8001+i))
		symlink(t, data(i), filepath.Join(dir, "..data_tmp"))
		rename(t, filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data"))
		if err := os.RemoveAll(filepath.Join(dir, data(i-1))); err != nil {
			t.Fatal(err)
		}
		wantPort(t, next(), 8001+i)
	}
	want := "resolves_to=" + filepath.Join(dir, data(3), "instances.yaml")
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log does not say %q:\n%s", want, logs.String())
	}
}

// A link re-pointed to a file in another directory is followed there: a
// later edit of the new target is a change.
func TestRepointedLinkThenEditedTarget(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"etc", "a", "b"} {
		mkdir(t, filepath.Join(base, d))
	}
	path := filepath.Join(base, "etc", "instances.yaml")
	write(t, filepath.Join(base, "a", "instances.yaml"), withPort(8001))
	write(t, filepath.Join(base, "b", "instances.yaml"), withPort(8002))
	symlink(t, filepath.Join(base, "a", "instances.yaml"), path)
	next := watchReal(t, path, nil)
	wantPort(t, next(), 8001)

	symlink(t, filepath.Join(base, "b", "instances.yaml"), path+".new")
	rename(t, path+".new", path)
	wantPort(t, next(), 8002)

	write(t, filepath.Join(base, "b", "instances.yaml"), withPort(8003))
	wantPort(t, next(), 8003)
}

// The file's directory replaced by another of the same name (a deploy
// that renames a fresh directory into place) is watched again, and the
// lost watch is logged.
func TestDirectoryReplaced(t *testing.T) {
	base := t.TempDir()
	conf := filepath.Join(base, "conf")
	mkdir(t, conf)
	path := filepath.Join(conf, "instances.yaml")
	write(t, path, withPort(8001))
	var logs logBuffer
	next := watchReal(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
	wantPort(t, next(), 8001)

	mkdir(t, conf+".new")
	write(t, filepath.Join(conf+".new", "instances.yaml"), withPort(8002))
	rename(t, conf, conf+".old")
	rename(t, conf+".new", conf)
	wantPort(t, next(), 8002)

	write(t, path, withPort(8003))
	wantPort(t, next(), 8003)
	// The old directory, still on disk, is no longer watched.
	write(t, filepath.Join(conf+".old", "instances.yaml"), withPort(8004))
	write(t, path, withPort(8005))
	wantPort(t, next(), 8005)

	// Depending on when the watcher looks, conf is found replaced, or
	// missing between the two renames.
	if l := logs.String(); !strings.Contains(l, "replaced; watching the new one\" file="+path+" dir="+conf+"\n") &&
		!strings.Contains(l, "watching the nearest existing directory\" file="+path+" missing="+conf+" dirs=["+base+"]\n") {
		t.Errorf("log does not say the watch of %s was lost:\n%s", conf, l)
	}
}

// Deleting the file sends why it cannot be read; creating it again sends
// its content.
func TestDeletedAndRecreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instances.yaml")
	write(t, path, withPort(8001))
	next := watchReal(t, path, nil)
	wantPort(t, next(), 8001)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	u := next()
	if !errors.Is(u.Err, fs.ErrNotExist) {
		t.Fatalf("update after removal: %+v, want not exist", u)
	}
	if want := "read " + path + ": the file is gone"; !strings.HasPrefix(u.Err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", u.Err, want)
	}
	write(t, path, withPort(8002))
	wantPort(t, next(), 8002)
	write(t, path, withPort(8003))
	wantPort(t, next(), 8003)
}

// A change no event announced (a watch lost where nothing tells, an
// overflow the kernel dropped) is read at the next resync, and only a
// change is sent.
func TestResyncReadsMissedChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startWith(t, validYAML, Options{Debounce: 100 * time.Millisecond, Resync: time.Minute})
		h.want(1)
		time.Sleep(time.Minute)
		h.want(0) // unchanged at the first resync
		write(t, h.path, withPort(8002))
		time.Sleep(time.Minute - time.Second)
		h.want(0)
		time.Sleep(time.Second)
		wantPort(t, h.want(1)[0], 8002)
	})
}

func TestResolve(t *testing.T) {
	base := t.TempDir()
	mkdir(t, filepath.Join(base, "..2026"))
	write(t, filepath.Join(base, "..2026", "instances.yaml"), validYAML)
	symlink(t, "..2026", filepath.Join(base, "..data"))
	symlink(t, "..data/instances.yaml", filepath.Join(base, "cm.yaml"))
	symlink(t, "nowhere/instances.yaml", filepath.Join(base, "dangling.yaml"))
	symlink(t, "loop.yaml", filepath.Join(base, "loop.yaml"))
	symlink(t, "../"+filepath.Base(base)+"/cm.yaml", filepath.Join(base, "up.yaml"))
	tests := []struct {
		path    string
		final   string
		missing bool
		dirs    []string
	}{
		{"cm.yaml", "..2026/instances.yaml", false, []string{"", "..2026"}},
		{"up.yaml", "..2026/instances.yaml", false, []string{"", "..2026"}},
		{"dangling.yaml", "nowhere", true, []string{""}},
		{"loop.yaml", "loop.yaml", true, []string{""}},
		{"gone/instances.yaml", "gone", true, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := resolve(filepath.Join(base, tt.path))
			if want := filepath.Join(base, tt.final); c.final != want || c.missing != tt.missing {
				t.Errorf("final=%s missing=%v, want %s %v", c.final, c.missing, want, tt.missing)
			}
			var want []string
			for _, d := range tt.dirs {
				want = append(want, filepath.Join(base, d))
			}
			if got := slices.Sorted(maps.Keys(c.dirs)); !slices.Equal(got, want) {
				t.Errorf("dirs=%v, want %v", got, want)
			}
		})
	}
}

// A file whose directory does not exist yet is waited for from the nearest
// directory that does: a mount or a deploy may create it after wbd starts.
func TestDirectoryCreatedLater(t *testing.T) {
	base := t.TempDir()
	conf := filepath.Join(base, "conf")
	path := filepath.Join(conf, "instances.yaml")
	var logs logBuffer
	next := watchReal(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
	if u := next(); !errors.Is(u.Err, fs.ErrNotExist) {
		t.Fatalf("first update: %+v, want not exist", u)
	}
	want := `msg="the instances file resolves to nothing; watching the nearest existing directory" file=` + path + " missing=" + conf + " dirs=[" + base + "]\n"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log does not say\n%s\nit says:\n%s", want, logs.String())
	}
	mkdir(t, conf+".tmp")
	write(t, filepath.Join(conf+".tmp", "instances.yaml"), withPort(8002))
	rename(t, conf+".tmp", conf)
	wantPort(t, next(), 8002)
	write(t, path, withPort(8003))
	wantPort(t, next(), 8003)
}
