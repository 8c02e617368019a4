package watch

import (
	"hash"
	"os"
	"path/filepath"
	"slices"
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
		data, err := os.ReadFile(name)
		if err != nil {
			h.Write([]byte(err.Error()))
			continue
		}
		h.Write(data)
	}
}
