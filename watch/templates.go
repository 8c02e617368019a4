package watch

import (
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/wbd-dev/wbd/spec"
)

// templateExt names the files of a templates directory that render reads.
const templateExt = ".tmpl"

// watchTemplates makes dir the templates directory watched, dropping the
// one watched before. A directory that cannot be watched (it does not exist
// yet) is logged; render reports why it cannot be used, and SIGHUP reads it.
func (w *Watcher) watchTemplates(dir string) {
	if dir == w.tmplDir {
		return
	}
	w.tmplDir = dir
	w.follow()
}

// writeTemplates writes the names and contents of dir's templates to h, so
// that a saved template changes the sum and an untouched one does not. An
// unreadable directory or file is written as its error: render reports it.
func writeTemplates(h hash.Hash, dir string) {
	if dir == "" {
		return
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"+templateExt))
	if err != nil {
		h.Write([]byte(err.Error()))
		return
	}
	slices.Sort(names)
	for _, name := range names {
		h.Write([]byte("\x00" + filepath.Base(name) + "\x00"))
		if err := hashTemplate(h, name); err != nil {
			h.Write([]byte(err.Error()))
		}
	}
}

// hashTemplate writes the content of the template at name to h: only a
// regular file is read, without blocking on a FIFO, and only its first
// spec.MaxFileSize bytes with its size, so that a huge file costs no more
// than one that render refuses.
func hashTemplate(h hash.Hash, name string) error {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", name, fi.Mode().Type())
	}
	fmt.Fprintf(h, "%d\x00", fi.Size())
	_, err = io.Copy(h, io.LimitReader(f, spec.MaxFileSize))
	return err
}
