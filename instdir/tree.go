package instdir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MaxFileSize is the most wbd reads of a file under root (a compose.yaml, a
// revision, the status file, an env file): anything bigger was not written
// by wbd.
const MaxFileSize = 4 << 20

// ErrSymlink is matched by the errors of a path under root that is a
// symbolic link. wbd follows none below root: a link there could lead
// anywhere (a password written into another user's directory, a chmod of
// /etc/shadow), and whoever can plant one is not who runs wbd.
var ErrSymlink = errors.New("symbolic link")

// linkError is a link where wbd wants a file or a directory.
type linkError struct{ path, want string }

func (e *linkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link, not %s: wbd follows no links under its root", e.path, e.want)
}

func (e *linkError) Is(target error) bool { return target == ErrSymlink }

// tree is root, opened once, and the walks below it. Every directory below
// root is opened without following a link, then checked on the opened
// handle, so that nothing can swap a link in between a check and its use.
type tree struct {
	root string
	r    *os.Root
}

// openTree opens root, creating it if missing and asked to. root itself
// may be reached through links: it is the operator's choice. It must not
// be writable by other users (see checkRoot).
func openTree(root string, create bool) (*tree, error) {
	root = filepath.Clean(root)
	if create {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("root %s: %w", root, err)
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	if err := checkRoot(root, r); err != nil {
		r.Close()
		return nil, err
	}
	return &tree{root: root, r: r}, nil
}

func (t *tree) Close() error { return t.r.Close() }

// checkRoot refuses a root other users may write: they could plant a link
// or a file where wbd is about to write one. A sticky directory the
// running user owns is safe: others can add names, never replace ours.
func checkRoot(root string, r *os.Root) error {
	fi, err := r.Stat(".")
	if err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("root %s is not a directory", root)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return CheckRoot(root, fi.Mode(), ok && int(st.Uid) == os.Getuid())
}

// CheckRoot refuses root, of mode m, if other users may write it, unless
// it is sticky and owned by the user running wbd (ours).
func CheckRoot(root string, m fs.FileMode, ours bool) error {
	if m.Perm()&0o022 == 0 || m&fs.ModeSticky != 0 && ours {
		return nil
	}
	return fmt.Errorf("root %s is writable by other users (mode %#o): they could replace what wbd writes there; run chmod go-w %s",
		root, m.Perm(), root)
}

// rel returns p relative to the tree's root, refusing paths outside it.
func (t *tree) rel(p string) (string, error) {
	rel, err := filepath.Rel(t.root, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s is not under %s", p, t.root)
	}
	return rel, nil
}

// dir is a directory below root, opened without following links.
type dir struct {
	path string // for messages
	r    *os.Root
}

func (d *dir) Close() error { return d.r.Close() }

// openDir opens directory p, which may be root itself. With create, missing
// directories are made, mode 0755 and perm for p itself; only those wbd made
// get a chmod (the umask would narrow them).
func (t *tree) openDir(p string, create bool, perm fs.FileMode) (*dir, error) {
	rel, err := t.rel(p)
	if err != nil {
		return nil, err
	}
	cur := &dir{path: t.root, r: t.r}
	if rel == "." {
		r, err := t.r.OpenRoot(".")
		if err != nil {
			return nil, err
		}
		return &dir{path: t.root, r: r}, nil
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for i, name := range parts {
		mode := fs.FileMode(0o755)
		if i == len(parts)-1 {
			mode = perm
		}
		next, err := cur.sub(name, create, mode)
		if cur.r != t.r {
			cur.Close()
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// sub opens directory name in d, creating it with mode if asked.
func (d *dir) sub(name string, create bool, mode fs.FileMode) (*dir, error) {
	p := filepath.Join(d.path, name)
	made := false
	fi, err := d.r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) && create {
		err = d.r.Mkdir(name, mode)
		made = err == nil
		if err == nil || errors.Is(err, fs.ErrExist) {
			fi, err = d.r.Lstat(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	if err := CheckDir(p, fi.Mode()); err != nil {
		return nil, err
	}
	r, err := d.r.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	// The handle must be the directory just looked at, not a link swapped
	// in since: OpenRoot follows links that stay below the root.
	if got, err := r.Stat("."); err != nil || !os.SameFile(fi, got) {
		r.Close()
		return nil, fmt.Errorf("%s changed while wbd opened it", p)
	}
	sub := &dir{path: p, r: r}
	if made {
		if err := sub.chmod(mode); err != nil {
			sub.Close()
			return nil, err
		}
	}
	return sub, nil
}

// mkdir makes directory name in d with mode, unless it exists. An existing
// one is not opened, only looked at: postgres keeps its data directory
// 0700, to itself.
func (d *dir) mkdir(name string, mode fs.FileMode) error {
	p := filepath.Join(d.path, name)
	fi, err := d.r.Lstat(name)
	if err == nil {
		return CheckDir(p, fi.Mode())
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	sub, err := d.sub(name, true, mode)
	if err != nil {
		return err
	}
	return sub.Close()
}

// stat describes d itself, from its handle.
func (d *dir) stat() (fs.FileInfo, error) {
	fi, err := d.r.Stat(".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.path, unwrapPath(err))
	}
	return fi, nil
}

// chmod sets d's mode through its handle.
func (d *dir) chmod(mode fs.FileMode) error {
	f, err := d.r.Open(".")
	if err != nil {
		return fmt.Errorf("%s: %w", d.path, unwrapPath(err))
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("%s: %w", d.path, unwrapPath(err))
	}
	return nil
}

// CheckDir refuses path, of mode m, unless it is a directory: a link to
// one would be followed by the bind mounts of the containers.
func CheckDir(path string, m fs.FileMode) error {
	if m.IsDir() {
		return nil
	}
	return notA(path, m, "a directory")
}

// CheckFile refuses path, of mode m and size bytes, unless it is a regular
// file wbd may read whole.
func CheckFile(path string, m fs.FileMode, size int64) error {
	if !m.IsRegular() {
		return notA(path, m, "a regular file")
	}
	if size > MaxFileSize {
		return fmt.Errorf("%s is %d bytes, more than the %d wbd reads", path, size, MaxFileSize)
	}
	return nil
}

// notA says that p, of mode m, is not what it should be.
func notA(p string, m fs.FileMode, want string) error {
	if m&fs.ModeSymlink != 0 {
		return &linkError{path: p, want: want}
	}
	return fmt.Errorf("%s is %s, not %s", p, kind(m), want)
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a file"
	default:
		return "not a regular file"
	}
}

// unwrapPath drops the *fs.PathError of an os.Root call, whose path is
// relative: callers name the full path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openRegular opens file name in d for reading, only if it is a regular
// file (a FIFO would block, a device never end), checked on the opened
// handle. want names what it should be, for messages.
func (d *dir) openRegular(name, want string) (*os.File, fs.FileInfo, error) {
	p := filepath.Join(d.path, name)
	fi, err := d.r.Lstat(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, notA(p, fi.Mode(), want)
	}
	f, err := d.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	got, err := f.Stat()
	if err != nil || !os.SameFile(fi, got) || !got.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s changed while wbd opened it", p)
	}
	return f, got, nil
}

// readFile reads regular file name in d, at most MaxFileSize bytes.
func (d *dir) readFile(name string) ([]byte, error) {
	f, fi, err := d.openRegular(name, "a regular file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := filepath.Join(d.path, name)
	if err := CheckFile(p, fi.Mode(), fi.Size()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is more than the %d bytes wbd reads", p, MaxFileSize)
	}
	return data, nil
}

// writeTemp writes data to a new file in d, mode perm, synced, and returns
// its name. Created with O_EXCL, it is never a link.
func (d *dir) writeTemp(name string, data []byte, perm fs.FileMode) (string, error) {
	p := filepath.Join(d.path, name)
	tmp := "." + name + ".tmp" + rand.Text()[:10]
	f, err := d.r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write %s: %w", p, unwrapPath(err))
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.r.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	return tmp, nil
}

// writeFile replaces name in d with data, in one step. Rename replaces a
// link at name itself, never what it points to.
func (d *dir) writeFile(name string, data []byte, perm fs.FileMode) error {
	tmp, err := d.writeTemp(name, data, perm)
	if err != nil {
		return err
	}
	if err := d.r.Rename(tmp, name); err != nil {
		d.r.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(d.path, name), unwrapPath(err))
	}
	return d.sync()
}

func (d *dir) sync() error {
	f, err := d.r.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
