package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
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
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/instdir"
)

// localSocket is the engine of this machine, whose bind mounts are this
// machine's paths: no need to ask it.
const localSocket = "unix:///var/run/docker.sock"

// Files returns the filesystem on which the bind mounts of instances under
// root resolve: instdir.LocalAt(root) when the engine sees this machine's root
// (its own socket, or a root both share), else the engine host's own,
// reached through the engine. The answer is found once per root, by a
// marker file written here and looked for there.
func (e *Engine) Files(ctx context.Context, root string) (instdir.Files, error) {
	e.filesMu.Lock()
	defer e.filesMu.Unlock()
	if f, ok := e.files[root]; ok {
		return f, nil
	}
	f := instdir.LocalAt(root)
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
	f := &helperFiles{e: h.e, root: h.root, id: id}
	if err := f.checkRoot(ctx); err != nil {
		return err
	}
	return fn(f)
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

func (h *hostFiles) PrivateDir(ctx context.Context, p string) error {
	return h.Batch(ctx, func(f instdir.Files) error { return f.PrivateDir(ctx, p) })
}

func (h *hostFiles) ReadFile(ctx context.Context, p string) (data []byte, err error) {
	err = h.Batch(ctx, func(f instdir.Files) (err error) {
		data, err = f.ReadFile(ctx, p)
		return err
	})
	return data, err
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
//
// The engine resolves links inside the helper (never to the host's other
// files), but a link below root would still lead elsewhere in the tree or
// into the helper's own layer, gone with it: helperFiles refuses links as
// instdir.LocalAt does. The engine's API stats one path at a time, so each
// directory is checked from root down; unlike the local filesystem, a link
// swapped in between a check and the copy is not caught.
type helperFiles struct {
	e    *Engine
	root string
	id   string
}

func (f *helperFiles) MkdirAll(ctx context.Context, p string, perm fs.FileMode) error {
	return f.do(p, func(rel string) error {
		var tw tarball
		if err := f.walk(ctx, rel, &tw, perm); err != nil {
			return err
		}
		return f.unpack(ctx, &tw)
	})
}

// PrivateDir narrows an existing directory by unpacking a directory entry
// over it: the engine sets an existing directory's mode (and owner, root)
// from the archive, as it does for a new one.
func (f *helperFiles) PrivateDir(ctx context.Context, p string) error {
	return f.do(p, func(rel string) error {
		var tw tarball
		if err := f.walk(ctx, path.Dir(rel), &tw, 0o755); err != nil {
			return err
		}
		st, err := f.stat(ctx, rel)
		if err != nil {
			return err
		}
		switch {
		case st == nil:
			tw.dir(rel, 0o700)
		case !st.Mode.IsDir():
			return instdir.CheckDir(f.hostPath(rel), st.Mode)
		case st.Mode.Perm() != 0o700:
			tw.dir(rel, 0o700)
		}
		return f.unpack(ctx, &tw)
	})
}

func (f *helperFiles) EnsureSecret(ctx context.Context, p string) (created bool, err error) {
	err = f.do(p, func(rel string) error {
		if err := f.walk(ctx, path.Dir(rel), nil, 0); err != nil {
			return err
		}
		st, err := f.stat(ctx, rel)
		if err != nil {
			return err
		}
		if st != nil {
			return instdir.CheckSecret(f.hostPath(rel), st.Mode, st.Size)
		}
		var tw tarball
		tw.file(rel, []byte(rand.Text()), instdir.SecretMode)
		created = true
		return f.unpack(ctx, &tw)
	})
	return created, err
}

func (f *helperFiles) WriteFile(ctx context.Context, p string, data []byte, perm fs.FileMode) error {
	return f.do(p, func(rel string) error {
		if err := f.walk(ctx, path.Dir(rel), nil, 0); err != nil {
			return err
		}
		st, err := f.stat(ctx, rel)
		if err != nil {
			return err
		}
		if st != nil && st.Mode.IsDir() {
			return fmt.Errorf("%s is a directory, not a regular file", f.hostPath(rel))
		}
		var tw tarball
		tw.file(rel, data, perm)
		return f.unpack(ctx, &tw)
	})
}

func (f *helperFiles) ReadFile(ctx context.Context, p string) (data []byte, err error) {
	err = f.do(p, func(rel string) error {
		if err := f.walk(ctx, path.Dir(rel), nil, 0); err != nil {
			return err
		}
		st, err := f.stat(ctx, rel)
		if err != nil {
			return err
		}
		if st == nil {
			return &fs.PathError{Op: "stat", Path: f.hostPath(rel), Err: fs.ErrNotExist}
		}
		if err := instdir.CheckFile(f.hostPath(rel), st.Mode, st.Size); err != nil {
			return err
		}
		data, err = f.e.readIn(ctx, f.id, rel)
		if err != nil {
			return fmt.Errorf("read %s: %w", f.hostPath(rel), err)
		}
		return nil
	})
	return data, err
}

func (f *helperFiles) Exists(ctx context.Context, p string) (exists bool, err error) {
	err = f.do(p, func(rel string) error {
		if err := f.walk(ctx, path.Dir(rel), nil, 0); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st, err := f.stat(ctx, rel)
		exists = st != nil
		return err
	})
	return exists, err
}

// checkRoot refuses a root other users of the host may write. The
// engine does not say who owns it, so a sticky one counts as the engine
// user's (root's), whose files wbd writes there.
func (f *helperFiles) checkRoot(ctx context.Context) error {
	st, err := f.stat(ctx, ".")
	if err != nil {
		return fmt.Errorf("docker host %s: %w", f.e.Host(), err)
	}
	if st == nil {
		return fmt.Errorf("docker host %s: root %s is missing", f.e.Host(), f.root)
	}
	if err := instdir.CheckRoot(f.root, st.Mode, true); err != nil {
		return fmt.Errorf("docker host %s: %w", f.e.Host(), err)
	}
	return nil
}

// walk checks the directories from root down to rel, each a directory and
// not a link. Missing ones are added to tw, mode 0755 and perm for rel
// itself; with no tw, a missing one is an fs.ErrNotExist.
func (f *helperFiles) walk(ctx context.Context, rel string, tw *tarball, perm fs.FileMode) error {
	if rel == "." {
		return nil
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		dir := path.Join(parts[:i+1]...)
		st, err := f.stat(ctx, dir)
		if err != nil {
			return err
		}
		if st != nil {
			if err := instdir.CheckDir(f.hostPath(dir), st.Mode); err != nil {
				return err
			}
			continue
		}
		if tw == nil {
			return &fs.PathError{Op: "stat", Path: f.hostPath(dir), Err: fs.ErrNotExist}
		}
		for j := i; j < len(parts); j++ {
			mode := fs.FileMode(0o755)
			if j == len(parts)-1 {
				mode = perm
			}
			tw.dir(path.Join(parts[:j+1]...), mode)
		}
		return nil
	}
	return nil
}

// stat describes rel under root, without following a link there; nil when
// nothing is there.
func (f *helperFiles) stat(ctx context.Context, rel string) (*container.PathStat, error) {
	st, err := f.e.statIn(ctx, f.id, rel)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.hostPath(rel), err)
	}
	return st, nil
}

func (f *helperFiles) unpack(ctx context.Context, tw *tarball) error {
	if tw.n == 0 {
		return nil
	}
	return f.e.unpackIn(ctx, f.id, tw)
}

func (f *helperFiles) hostPath(rel string) string { return path.Join(f.root, rel) }

// do runs fn with p relative to root, naming the host in its error; fn's
// errors name the path.
func (f *helperFiles) do(p string, fn func(rel string) error) error {
	rel, err := filepath.Rel(f.root, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%s is not under %s", p, f.root)
	}
	if err := fn(filepath.ToSlash(rel)); err != nil {
		return fmt.Errorf("docker host %s: %w", f.e.Host(), err)
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
		HostConfig: helperHostConfig(root),
	})
	if err != nil {
		return "", fmt.Errorf("create a helper container: %w", err)
	}
	return res.ID, nil
}

// helperHostConfig bind-mounts root at helperMount. The short form lets
// the engine create a missing root, as compose's bind mounts do not; a root
// holding ':' cannot be written in it, and must then exist on the host.
func helperHostConfig(root string) *container.HostConfig {
	if !strings.Contains(root, ":") {
		return &container.HostConfig{Binds: []string{root + ":" + helperMount}}
	}
	return &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeBind, Source: root, Target: helperMount}}}
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

// statIn describes rel under the helper's root, nil when nothing is
// there. The engine looks at rel itself, not at what a link there points
// to: Mode says a link is one.
func (e *Engine) statIn(ctx context.Context, id, rel string) (*container.PathStat, error) {
	res, err := e.api.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: path.Join(helperMount, rel)})
	switch {
	case err == nil:
		return &res.Stat, nil
	case errdefs.IsNotFound(err):
		return nil, nil
	default:
		return nil, err
	}
}

// readIn reads regular file rel under the helper's root, at most
// instdir.MaxFileSize bytes.
func (e *Engine) readIn(ctx context.Context, id, rel string) ([]byte, error) {
	res, err := e.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path.Join(helperMount, rel)})
	if err != nil {
		return nil, err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	h, err := tr.Next()
	if err != nil {
		return nil, err
	}
	if h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(tr, instdir.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > instdir.MaxFileSize {
		return nil, fmt.Errorf("more than the %d bytes wbd reads", instdir.MaxFileSize)
	}
	return data, nil
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
