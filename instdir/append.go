package instdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// AppendFileIn appends data to regular file path under root, creating it
// and its directories if missing, in one write made under an exclusive
// flock of the file, so that several processes appending at once never
// interleave their records. When the file already holds limit bytes or more
// (limit > 0), it is first renamed to path.1, replacing the older one, and
// data starts a new file. As everywhere below root, no link is followed.
func AppendFileIn(root, path string, data []byte, limit int64) error {
	t, err := openTree(root, true)
	if err != nil {
		return err
	}
	defer t.Close()
	d, err := t.openDir(filepath.Dir(path), true, 0o755)
	if err != nil {
		return err
	}
	defer d.Close()
	name := filepath.Base(path)
	// Another process may rotate the file between the open and the lock:
	// the lock is then on the old file, and the new one is opened again.
	for range 20 {
		done, err := d.appendOnce(name, data, limit)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("append %s: the file kept being replaced", path)
}

// appendOnce appends data to name under its lock, or reports false when
// name is no longer the file it locked, or was just rotated.
func (d *dir) appendOnce(name string, data []byte, limit int64) (bool, error) {
	p := filepath.Join(d.path, name)
	f, err := d.openAppend(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // rotated between the two steps of the open
	}
	if err != nil {
		return false, err
	}
	defer f.Close() // and with it the lock
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", p, err)
	}
	got, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("append %s: %w", p, err)
	}
	if now, err := d.r.Lstat(name); err != nil || !os.SameFile(got, now) {
		return false, nil
	}
	if limit > 0 && got.Size() >= limit {
		if err := d.r.Rename(name, name+".1"); err != nil {
			return false, fmt.Errorf("rotate %s: %w", p, unwrapPath(err))
		}
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return false, fmt.Errorf("append %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		return false, fmt.Errorf("append %s: %w", p, err)
	}
	return true, nil
}

// openAppend opens name in d for writing, creating it if missing, never
// through a link and only if it is a regular file. Whether it is still
// name once locked is for the caller to check.
func (d *dir) openAppend(name string) (*os.File, error) {
	p := filepath.Join(d.path, name)
	// O_EXCL creates name itself, never a link's target.
	f, err := d.r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		f, err = d.r.OpenFile(name, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		if fi, lerr := d.r.Lstat(name); lerr == nil && !fi.Mode().IsRegular() {
			return nil, notA(p, fi.Mode(), "a regular file")
		}
		return nil, fmt.Errorf("append %s: %w", p, unwrapPath(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notA(p, fi.Mode(), "a regular file")
		}
		return nil, err
	}
	return f, nil
}

// OpenIn opens regular file path under root for reading, following no
// link. The caller closes it.
func OpenIn(root, path string) (*os.File, error) {
	t, err := openTree(root, false)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	d, err := t.openDir(filepath.Dir(path), false, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, _, err := d.openRegular(filepath.Base(path), "a regular file")
	return f, err
}
