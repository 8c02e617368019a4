package instdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// Files is the filesystem an instance directory lives on: the bind mounts of
// its project resolve on its Docker host, so that is where its directories
// and secrets must be. LocalAt is this machine's; package lifecycle reaches
// a Docker host's through its engine. Paths are absolute and under the
// root; no implementation follows a symbolic link below the root.
type Files interface {
	// MkdirAll creates path and its missing parents, path with perm. An
	// existing directory is left as it is: postgres owns databases/.
	MkdirAll(ctx context.Context, path string, perm fs.FileMode) error
	// PrivateDir creates directory path mode 0700, or narrows an existing
	// one to 0700: the secrets directory is wbd's alone.
	PrivateDir(ctx context.Context, path string) error
	// EnsureSecret creates path holding a new random secret, mode
	// SecretMode, unless it exists; it reports whether it created it. An
	// existing secret is checked (see checkSecret), never changed.
	EnsureSecret(ctx context.Context, path string) (created bool, err error)
	// WriteFile replaces path with data.
	WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error
	// ReadFile reads regular file path, at most MaxFileSize bytes.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Exists reports whether path exists.
	Exists(ctx context.Context, path string) (bool, error)
}

// Batch runs fn on files, with all its calls in one batch when files sets
// each call up at a cost (a Docker host's: a container per call).
func Batch(ctx context.Context, files Files, fn func(Files) error) error {
	if b, ok := files.(interface {
		Batch(context.Context, func(Files) error) error
	}); ok {
		return b.Batch(ctx, fn)
	}
	return fn(files)
}

// LocalAt is the filesystem of the machine wbd runs on, below root.
func LocalAt(root string) Files { return localFiles{root: filepath.Clean(root)} }

// Local is the filesystem of the machine wbd runs on, without a root: each
// call is confined to the directory of its path only. Prepare confines it
// to the instance's root; prefer LocalAt.
var Local Files = localFiles{}

type localFiles struct {
	root string // "": the directory of each call's path
}

// at confines l to root when it has none.
func (l localFiles) at(root string) localFiles {
	if l.root == "" {
		l.root = filepath.Clean(root)
	}
	return l
}

// tree opens l's root for p; create makes a missing root.
func (l localFiles) tree(p string, create bool) (*tree, error) {
	root := l.root
	if root == "" {
		root = filepath.Dir(p)
	}
	return openTree(root, create)
}

// inDir runs fn on p's directory, opened below the root; create makes
// the missing ones, and a missing root.
func (l localFiles) inDir(p string, create bool, fn func(d *dir, name string) error) error {
	return l.inDirOf(p, create, create, fn)
}

func (l localFiles) inDirOf(p string, mkroot, create bool, fn func(d *dir, name string) error) error {
	t, err := l.tree(p, mkroot)
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := t.rel(p); err != nil {
		return err
	}
	d, err := t.openDir(filepath.Dir(p), create, 0o755)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d, filepath.Base(p))
}

func (l localFiles) MkdirAll(_ context.Context, p string, perm fs.FileMode) error {
	return l.inDir(p, true, func(d *dir, name string) error { return d.mkdir(name, perm) })
}

func (l localFiles) PrivateDir(_ context.Context, p string) error {
	return l.inDir(p, true, func(parent *dir, name string) error {
		d, err := parent.sub(name, true, 0o700)
		if err != nil {
			return err
		}
		defer d.Close()
		return d.private()
	})
}

func (l localFiles) EnsureSecret(_ context.Context, p string) (created bool, err error) {
	err = l.inDir(p, false, func(d *dir, name string) (err error) {
		created, err = d.ensureSecret(name)
		return err
	})
	return created, err
}

func (l localFiles) WriteFile(_ context.Context, p string, data []byte, perm fs.FileMode) error {
	return l.inDirOf(p, true, false, func(d *dir, name string) error { return d.writeFile(name, data, perm) })
}

func (l localFiles) ReadFile(_ context.Context, p string) (data []byte, err error) {
	err = l.inDir(p, false, func(d *dir, name string) (err error) {
		data, err = d.readFile(name)
		return err
	})
	return data, err
}

func (l localFiles) Exists(_ context.Context, p string) (exists bool, err error) {
	err = l.inDir(p, false, func(d *dir, name string) error {
		_, err := d.r.Lstat(name)
		switch {
		case err == nil:
			exists = true
			return nil
		case errors.Is(err, fs.ErrNotExist):
			return nil
		default:
			return fmt.Errorf("stat %s: %w", p, unwrapPath(err))
		}
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // a missing directory on the way
	}
	return exists, err
}

// WriteFileIn replaces path, under root, with data: no link below root is
// followed, and a link at path is itself replaced.
func WriteFileIn(root, path string, data []byte, perm fs.FileMode) error {
	return LocalAt(root).WriteFile(context.Background(), path, data, perm)
}

// ReadFileIn reads path, under root, if it is a regular file reached
// without links, of at most MaxFileSize bytes.
func ReadFileIn(root, path string) ([]byte, error) {
	return LocalAt(root).ReadFile(context.Background(), path)
}

// MkdirAllIn creates directory path under root and its missing parents,
// path with perm, following no link below root.
func MkdirAllIn(root, path string, perm fs.FileMode) error {
	return LocalAt(root).MkdirAll(context.Background(), path, perm)
}

// ReadDirIn lists directory path under root, reached without links.
func ReadDirIn(root, path string) ([]fs.DirEntry, error) {
	t, err := openTree(root, false)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	d, err := t.openDir(path, false, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, err := d.r.Open(".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ents, nil
}

// RemoveIn removes file path under root: a link there is removed itself,
// and no link on the way is followed.
func RemoveIn(root, path string) error {
	return LocalAt(root).(localFiles).inDir(path, false, func(d *dir, name string) error {
		if err := d.r.Remove(name); err != nil {
			return fmt.Errorf("remove %s: %w", path, unwrapPath(err))
		}
		return nil
	})
}
