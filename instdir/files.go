package instdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Files is the filesystem an instance directory lives on: the bind mounts of
// its project resolve on its Docker host, so that is where its directories
// and secrets must be. Local is this machine's; package lifecycle reaches a
// Docker host's through its engine.
type Files interface {
	// MkdirAll creates path and its missing parents, path with perm. An
	// existing directory is left as it is: postgres owns databases/.
	MkdirAll(ctx context.Context, path string, perm fs.FileMode) error
	// EnsureSecret creates path holding a new random secret, mode
	// SecretMode, unless it exists; it reports whether it created it.
	EnsureSecret(ctx context.Context, path string) (created bool, err error)
	// WriteFile replaces path with data.
	WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error
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

// Local is the filesystem of the machine wbd runs on.
var Local Files = localFiles{}

type localFiles struct{}

func (localFiles) MkdirAll(_ context.Context, path string, perm fs.FileMode) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(path, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm) // whatever the umask
}

func (localFiles) EnsureSecret(_ context.Context, path string) (bool, error) {
	return EnsureSecret(path)
}

func (localFiles) WriteFile(_ context.Context, path string, data []byte, perm fs.FileMode) error {
	return WriteFile(path, data, perm)
}

func (localFiles) Exists(_ context.Context, path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
}
