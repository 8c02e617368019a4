package instdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// HeldError is LockFile's answer while another process holds the lock.
type HeldError struct {
	Path   string
	Holder string // what the holder wrote: its command, pid and start time
}

func (e *HeldError) Error() string { return fmt.Sprintf("%s is held by %s", e.Path, e.Holder) }

// LockFile takes an exclusive flock on path, a file under root, creating it
// and its directories if missing, without waiting. It writes who into the
// file, for whoever is refused (a *HeldError). The lock goes with the
// process that holds it, however that process ends. path must be a regular
// file reached without links: wbd truncates it, and a link could make that
// any file of the user's (or root's).
func LockFile(root, path, who string) (unlock func(), err error) {
	t, err := openTree(root, true)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	d, err := t.openDir(filepath.Dir(path), true, 0o755)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.lockFile(filepath.Base(path), who)
}

func (d *dir) lockFile(name, who string) (unlock func(), err error) {
	p := filepath.Join(d.path, name)
	f, err := d.openLockFile(name)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			buf := make([]byte, 1024)
			n, _ := f.ReadAt(buf, 0)
			h := strings.TrimSpace(string(buf[:n]))
			if h == "" {
				h = "another wbd"
			}
			return nil, &HeldError{Path: p, Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	f.Truncate(0)
	f.WriteAt(fmt.Appendf(nil, "%s (pid %d, since %s)\n", who, os.Getpid(), time.Now().Format(time.RFC3339)), 0)
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// openLockFile opens name in d for writing, creating it if missing, only
// if it is a regular file and not a link, checked on the opened handle
// before anything is written.
func (d *dir) openLockFile(name string) (*os.File, error) {
	p := filepath.Join(d.path, name)
	// O_EXCL creates name itself, never a link's target.
	f, err := d.r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		var fi fs.FileInfo
		if fi, err = d.r.Lstat(name); err == nil && !fi.Mode().IsRegular() {
			return nil, notA(p, fi.Mode(), "a lock file")
		}
		f, err = d.r.OpenFile(name, os.O_RDWR|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, unwrapPath(err))
	}
	// os.Root follows a link that stays under root: the file opened must
	// be name itself.
	got, err := f.Stat()
	if err == nil {
		var now fs.FileInfo
		if now, err = d.r.Lstat(name); err == nil && (!got.Mode().IsRegular() || !os.SameFile(got, now)) {
			err = notA(p, now.Mode(), "a lock file")
			if now.Mode().IsRegular() {
				err = fmt.Errorf("%s changed while wbd opened it", p)
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
