package instdir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// SecretMode is the mode of secret files. Compose bind-mounts them into the
// containers as they are, and images drop root before reading them (pgAdmin
// runs as uid 5050, many app images as their own user), so they must be
// readable by all, as Docker swarm's secrets are by default. The secrets
// directory, 0700, keeps them from other users of the host.
const SecretMode fs.FileMode = 0o444

// UnreadableSecretError is the warning of a secret kept as it is although
// containers that do not run as root cannot read it: wbd never widens the
// mode of a file it did not create.
type UnreadableSecretError struct {
	Path string
	Mode fs.FileMode
}

func (e *UnreadableSecretError) Error() string {
	return fmt.Sprintf("%s is mode %#o: containers that do not run as root (pgAdmin runs as uid 5050) cannot read it; "+
		"run chmod 0444 %s (the secrets directory, 0700, keeps it from other users)", e.Path, e.Mode.Perm(), e.Path)
}

// private makes d, a secrets directory, wbd's alone: owned by the user
// running wbd (whom else's could it narrow?) and mode 0700. Narrowing a
// wider mode is always safe: only the containers read the files, through
// their bind mounts, which do not need the directory's permission.
func (d *dir) private() error {
	fi, err := d.stat()
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by uid %d that runs wbd, so wbd cannot keep its secrets private: "+
			"run chown %d %s, or run wbd as its owner", d.path, st.Uid, os.Getuid(), os.Getuid(), d.path)
	}
	if fi.Mode().Perm() == 0o700 {
		return nil
	}
	return d.chmod(0o700)
}

// checkSecret reports whether name in d is a secret to keep. The error is
// fs.ErrNotExist when there is none; see CheckSecret.
func (d *dir) checkSecret(name string) error {
	p := filepath.Join(d.path, name)
	f, fi, err := d.openRegular(name, "a password file")
	if err != nil {
		return err
	}
	f.Close()
	return CheckSecret(p, fi.Mode(), fi.Size())
}

// CheckSecret reports whether the file at path, of mode and size, is a
// secret to keep: a non-empty regular file. A directory, a FIFO, an empty
// file or a link (dangling or not) is an error naming path; a secret that
// containers not running as root could not read is an
// *UnreadableSecretError, a warning: it is kept as it is.
func CheckSecret(path string, mode fs.FileMode, size int64) error {
	if !mode.IsRegular() {
		return notA(path, mode, "a password file")
	}
	if size == 0 {
		return fmt.Errorf("%s is empty, not a password file: write the password there, or remove it to have wbd generate one", path)
	}
	if mode.Perm()&0o004 == 0 {
		return &UnreadableSecretError{Path: path, Mode: mode}
	}
	return nil
}

// ensureSecret creates secret name in d unless it exists.
func (d *dir) ensureSecret(name string) (created bool, err error) {
	if err := d.checkSecret(name); !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	tmp, err := d.writeTemp(name, []byte(rand.Text()), SecretMode)
	if err != nil {
		return false, err
	}
	defer d.r.Remove(tmp)
	// Link, unlike rename, fails when name exists, so a secret another
	// process created a moment ago is kept.
	if err := d.r.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, d.checkSecret(name)
		}
		return false, fmt.Errorf("create secret %s: %w", filepath.Join(d.path, name), unwrapPath(err))
	}
	return true, d.sync()
}
