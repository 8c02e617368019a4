package lifecycle

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// hostFiles does through the engine what instdir.LocalAt does here. The
// engine of this test is this machine's, so what it writes is checked on
// the local disk.
func TestHostFiles(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	root := t.TempDir()
	h := &hostFiles{e: e, root: root}
	ctx := t.Context()
	in := filepath.Join(root, "inst")

	// postgres's data directory exists, 0700: it must stay so.
	if err := os.MkdirAll(filepath.Join(in, "databases"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		path string
		perm fs.FileMode
	}{{"databases", 0o755}, {"redis", 0o755}, {"secrets", 0o700}, {"a/b/c", 0o750}} {
		if err := h.MkdirAll(ctx, filepath.Join(in, d.path), d.perm); err != nil {
			t.Fatalf("MkdirAll(%s): %v", d.path, err)
		}
	}
	for path, want := range map[string]fs.FileMode{"databases": 0o700, "redis": 0o755, "secrets": 0o700, "a": 0o755, "a/b/c": 0o750} {
		if fi, err := os.Stat(filepath.Join(in, path)); err != nil || !fi.IsDir() || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want a directory of mode %v", path, fi.Mode(), err, want)
		}
	}

	secret := filepath.Join(in, "secrets", "pw")
	created, err := h.EnsureSecret(ctx, secret)
	if err != nil || !created {
		t.Fatalf("EnsureSecret = %v, %v; want created", created, err)
	}
	first, err := os.ReadFile(secret)
	if err != nil || len(first) < 20 {
		t.Fatalf("secret %q, %v: want a generated one", first, err)
	}
	if fi, _ := os.Stat(secret); fi.Mode().Perm() != instdir.SecretMode {
		t.Errorf("secret mode %v, want %v", fi.Mode().Perm(), instdir.SecretMode)
	}
	if created, err := h.EnsureSecret(ctx, secret); err != nil || created {
		t.Errorf("second EnsureSecret = %v, %v; want kept", created, err)
	}
	if again, _ := os.ReadFile(secret); !bytes.Equal(again, first) {
		t.Errorf("secret regenerated")
	}

	file := filepath.Join(in, "compose.yaml")
	for _, data := range []string{"name: one\n", "name: two\n"} {
		if err := h.WriteFile(ctx, file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(file); err != nil || string(got) != data {
			t.Errorf("WriteFile(%q): read back %q, %v", data, got, err)
		}
	}
	for path, want := range map[string]bool{file: true, filepath.Join(in, "nope"): false} {
		if got, err := h.Exists(ctx, path); err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
	if err := h.WriteFile(ctx, "/etc/elsewhere", nil, 0o644); err == nil {
		t.Error("WriteFile outside the root succeeded")
	}

	// A batch, with Prepare's own inside it, sets up one helper container
	// for all its calls; none is left behind.
	in2 := &spec.Instance{Name: "inst2", Dir: filepath.Join(root, "inst2")}
	err = instdir.Batch(ctx, h, func(f instdir.Files) error {
		// Prepare batches too: inside a batch that must reuse this one.
		if _, ok := f.(interface {
			Batch(context.Context, func(instdir.Files) error) error
		}); ok {
			t.Error("the files of a batch batch again: a nested batch would set up a second container")
		}
		if err := instdir.Prepare(ctx, f, in2); err != nil {
			return err
		}
		if n := helpersOf(t, e, root); n != 1 {
			t.Errorf("%d helper containers during a batch, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Exists(ctx, instdir.SecretPath(in2, instdir.PostgresPassword)); err != nil || !ok {
		t.Errorf("Prepare in a batch: secret %v, %v", ok, err)
	}
	if n := helpersOf(t, e, root); n != 0 {
		t.Errorf("%d helper containers left", n)
	}
}

// helpersOf counts the helper containers with root bind-mounted.
func helpersOf(t *testing.T, e *Engine, root string) int {
	t.Helper()
	cs, err := e.api.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelHelper+"=files")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs.Items {
		for _, m := range c.Mounts {
			if m.Source == root {
				n++
			}
		}
	}
	return n
}

// The engine of this machine's socket, and this machine's engine reached
// another way, see this machine's files: Files is instdir.LocalAt(root) for both.
func TestFilesOfThisMachinesEngineAreLocal(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	root := t.TempDir()
	if f, err := e.Files(t.Context(), root); err != nil || f != instdir.LocalAt(root) {
		t.Errorf("Files through %s = %T, %v; want instdir.LocalAt(root)", e.Host(), f, err)
	}

	// The same engine through a loopback TCP proxy: the marker file
	// written here is seen there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go proxyTo(ln, "/var/run/docker.sock")
	far, err := Connect(t.Context(), "tcp://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	if f, err := far.Files(t.Context(), root); err != nil || f != instdir.LocalAt(root) {
		t.Errorf("Files through %s = %T, %v; want instdir.LocalAt(root)", far.Host(), f, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, ".wbd-probe-*")); len(leftovers) != 0 {
		t.Errorf("probe files left: %v", leftovers)
	}
}

// proxyTo forwards every connection of ln to the unix socket sock.
func proxyTo(ln net.Listener, sock string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			d, err := net.Dial("unix", sock)
			if err != nil {
				return
			}
			defer d.Close()
			go func() { _, _ = io.Copy(d, c) }()
			_, _ = io.Copy(c, d)
		}()
	}
}

// A root may hold ':', which the short bind syntax cannot carry.
func TestHostFilesRootWithColon(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	root := filepath.Join(t.TempDir(), "a:b")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &hostFiles{e: e, root: root}
	if err := h.MkdirAll(t.Context(), filepath.Join(root, "inst", "redis"), 0o755); err != nil {
		t.Fatalf("MkdirAll under %s: %v", root, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "inst", "redis")); err != nil || !fi.IsDir() {
		t.Fatalf("redis: %v, %v; want a directory made through the engine", fi, err)
	}
}
