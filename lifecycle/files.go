package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/instdir"
)

// localSocket is the engine of this machine, whose bind mounts are this
// machine's paths: no need to ask it.
const localSocket = "unix:///var/run/docker.sock"

// Files returns the filesystem on which the bind mounts of instances under
// root resolve: instdir.Local when the engine sees this machine's root
// (its own socket, or a root both share), else the engine host's own,
// reached through the engine. The answer is found once per root, by a
// marker file written here and looked for there.
func (e *Engine) Files(ctx context.Context, root string) (instdir.Files, error) {
	e.filesMu.Lock()
	defer e.filesMu.Unlock()
	if f, ok := e.files[root]; ok {
		return f, nil
	}
	var f instdir.Files = instdir.Local
	if e.Host() != localSocket {
		shared, err := e.sharesRoot(ctx, root)
		if err != nil {
			return nil, err
		}
		if !shared {
			f = &hostFiles{e: e, root: root}
			e.log.Info("instance directories are on the docker host, reached through its engine", "root", root, "host", e.Host())
		}
	}
	if e.files == nil {
		e.files = map[string]instdir.Files{}
	}
	e.files[root] = f
	return f, nil
}

// sharesRoot reports whether the engine sees this machine's root.
func (e *Engine) sharesRoot(ctx context.Context, root string) (bool, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return false, nil // not writable here, so surely not what the host sees
	}
	marker, err := os.CreateTemp(root, ".wbd-probe-*")
	if err != nil {
		return false, nil
	}
	marker.Close()
	defer os.Remove(marker.Name())
	h := &hostFiles{e: e, root: root}
	return h.Exists(ctx, marker.Name())
}

// helperImage is the image of the containers through which wbd reaches a
// Docker host's files: empty, imported from a tar (no registry needed),
// never run. helperMount is where the root is bind-mounted in them.
const (
	helperImage = "wbd.local/files:1"
	helperMount = "/wbd-root"
	labelHelper = "io.wbd.helper"
)

// hostFiles is the filesystem of a Docker host under root, reached through
// a container that is created, never started, with root bind-mounted: the
// engine stats and unpacks archives in it, on the host's own disk. Docker
// creates a missing root. Each call outside a Batch sets up and removes its
// own container. Secrets are created without link(2)'s atomicity: two
// machines preparing one instance at once could race, and the instance
// lock guards only the processes of one machine.
type hostFiles struct {
	e    *Engine
	root string
}

// Batch runs fn with one helper container for all its calls.
func (h *hostFiles) Batch(ctx context.Context, fn func(instdir.Files) error) error {
	id, err := h.e.createHelper(ctx, h.root)
	if err != nil {
		return fmt.Errorf("%s on docker host %s: %w", h.root, h.e.Host(), err)
	}
	defer h.e.removeHelper(id)
	return fn(&helperFiles{e: h.e, root: h.root, id: id})
}

func (h *hostFiles) MkdirAll(ctx context.Context, p string, perm fs.FileMode) error {
	return h.Batch(ctx, func(f instdir.Files) error { return f.MkdirAll(ctx, p, perm) })
}

func (h *hostFiles) EnsureSecret(ctx context.Context, p string) (created bool, err error) {
	err = h.Batch(ctx, func(f instdir.Files) (err error) {
		created, err = f.EnsureSecret(ctx, p)
		return err
	})
	return created, err
}

func (h *hostFiles) WriteFile(ctx context.Context, p string, data []byte, perm fs.FileMode) error {
	return h.Batch(ctx, func(f instdir.Files) error { return f.WriteFile(ctx, p, data, perm) })
}

func (h *hostFiles) Exists(ctx context.Context, p string) (exists bool, err error) {
	err = h.Batch(ctx, func(f instdir.Files) (err error) {
		exists, err = f.Exists(ctx, p)
		return err
	})
	return exists, err
}

// helperFiles is hostFiles through one helper container, id. It does not
// embed hostFiles: a Batch inside a batch would set up a second container.
type helperFiles struct {
	e    *Engine
	root string
	id   string
}

func (f *helperFiles) MkdirAll(ctx context.Context, p string, perm fs.FileMode) error {
	return f.do(p, func(rel string) error {
		parts := strings.Split(rel, "/")
		var tw tarball
		missing := false // below a missing directory all are missing
		for i := range parts {
			dir := path.Join(parts[:i+1]...)
			if !missing {
				exists, err := f.e.statIn(ctx, f.id, dir)
				if err != nil {
					return err
				}
				if exists {
					continue
				}
				missing = true
			}
			mode := fs.FileMode(0o755)
			if i == len(parts)-1 {
				mode = perm
			}
			tw.dir(dir, mode)
		}
		if tw.n == 0 {
			return nil
		}
		return f.e.unpackIn(ctx, f.id, &tw)
	})
}

func (f *helperFiles) EnsureSecret(ctx context.Context, p string) (created bool, err error) {
	err = f.do(p, func(rel string) error {
		exists, err := f.e.statIn(ctx, f.id, rel)
		if err != nil || exists {
			return err
		}
		var tw tarball
		tw.file(rel, []byte(rand.Text()), instdir.SecretMode)
		created = true
		return f.e.unpackIn(ctx, f.id, &tw)
	})
	return created, err
}

func (f *helperFiles) WriteFile(ctx context.Context, p string, data []byte, perm fs.FileMode) error {
	return f.do(p, func(rel string) error {
		var tw tarball
		tw.file(rel, data, perm)
		return f.e.unpackIn(ctx, f.id, &tw)
	})
}

func (f *helperFiles) Exists(ctx context.Context, p string) (exists bool, err error) {
	err = f.do(p, func(rel string) (err error) {
		exists, err = f.e.statIn(ctx, f.id, rel)
		return err
	})
	return exists, err
}

// do runs fn with p relative to root, naming p and the host in its error.
func (f *helperFiles) do(p string, fn func(rel string) error) error {
	rel, err := filepath.Rel(f.root, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%s is not under %s", p, f.root)
	}
	if err := fn(filepath.ToSlash(rel)); err != nil {
		return fmt.Errorf("%s on docker host %s: %w", p, f.e.Host(), err)
	}
	return nil
}

// createHelper creates (never starts) a container with root bind-mounted
// at helperMount, importing the empty helper image first if needed.
func (e *Engine) createHelper(ctx context.Context, root string) (string, error) {
	if _, err := e.api.ImageInspect(ctx, helperImage); errdefs.IsNotFound(err) {
		if err := e.importHelper(ctx); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	res, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: helperImage,
			Cmd:   []string{"/never-run"},
			// Not io.wbd.managed: it is no instance's, and the daemon's
			// event stream about instances should not hear of it.
			Labels: map[string]string{labelHelper: "files"},
		},
		HostConfig: &container.HostConfig{Binds: []string{root + ":" + helperMount}},
	})
	if err != nil {
		return "", fmt.Errorf("create a helper container: %w", err)
	}
	return res.ID, nil
}

// removeHelper removes a helper container, even when the caller's context
// has ended: it must not be left behind.
func (e *Engine) removeHelper(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		e.log.Warn("could not remove a helper container", "container", id, "error", err)
	}
}

func (e *Engine) importHelper(ctx context.Context) error {
	var tw tarball
	tw.dir(strings.TrimPrefix(helperMount, "/"), 0o755)
	res, err := e.api.ImageImport(ctx, client.ImageImportSource{Source: tw.reader(), SourceName: "-"}, helperImage,
		client.ImageImportOptions{Changes: []string{"LABEL " + labelHelper + "=files"}})
	if err != nil {
		return fmt.Errorf("import %s: %w", helperImage, err)
	}
	defer res.Close()
	_, err = io.Copy(io.Discard, res)
	return err
}

// statIn reports whether rel exists under the helper's root.
func (e *Engine) statIn(ctx context.Context, id, rel string) (bool, error) {
	_, err := e.api.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: path.Join(helperMount, rel)})
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// unpackIn unpacks tw under the helper's root, on the host's disk.
func (e *Engine) unpackIn(ctx context.Context, id string, tw *tarball) error {
	_, err := e.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: helperMount, Content: tw.reader()})
	return err
}

// tarball builds a small archive in memory, owned by root.
type tarball struct {
	buf bytes.Buffer
	w   *tar.Writer
	n   int
}

func (t *tarball) dir(name string, mode fs.FileMode) {
	t.add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(mode.Perm())}, nil)
}

func (t *tarball) file(name string, data []byte, mode fs.FileMode) {
	t.add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode.Perm()), Size: int64(len(data))}, data)
}

func (t *tarball) add(h *tar.Header, data []byte) {
	if t.w == nil {
		t.w = tar.NewWriter(&t.buf)
	}
	h.ModTime = time.Now()
	// Writes to a bytes.Buffer do not fail, and the headers are well formed.
	_ = t.w.WriteHeader(h)
	_, _ = t.w.Write(data)
	t.n++
}

func (t *tarball) reader() io.Reader {
	if t.w == nil {
		t.w = tar.NewWriter(&t.buf)
	}
	_ = t.w.Close()
	return &t.buf
}
