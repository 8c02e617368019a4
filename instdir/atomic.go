package instdir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data in one step: a reader sees the old file
// or the new one, never a part, even if the machine stops half-way.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// SecretMode is the mode of secret files. Compose bind-mounts them into the
// containers as they are, and images drop root before reading them (pgAdmin
// runs as uid 5050, many app images as their own user), so they must be
// readable by all, as Docker swarm's secrets are by default. The secrets
// directory, 0700, keeps them from other users of the host.
const SecretMode fs.FileMode = 0o444

// EnsureSecret creates path holding a new random secret, mode SecretMode,
// unless it exists: a secret is never regenerated, since the database keeps
// the first. An existing secret of another mode (wbd once wrote 0600) gets
// SecretMode. Two callers racing get the same secret: the file appears
// whole, once.
func EnsureSecret(path string) (created bool, err error) {
	if fi, err := os.Stat(path); err == nil {
		if fi.Mode().Perm() != SecretMode {
			if err := os.Chmod(path, SecretMode); err != nil {
				return false, fmt.Errorf("secret %s: %w", path, err)
			}
		}
		return false, nil
	}
	tmp, err := writeTemp(path, []byte(rand.Text()), SecretMode)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	// Link, unlike rename, fails when path exists, so a secret another
	// process created a moment ago is kept.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("create secret %s: %w", path, err)
	}
	return true, syncDir(filepath.Dir(path))
}

func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
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
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
