package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// loadRoot loads the file, and returns its root. When the file is invalid
// (an edit the daemon refused, say), the root its text names comes back
// with the error ("" when it names none, or there is no file): what is
// under that root, the daemon's view, the events, the revisions, is still
// there to be shown.
func (g *globals) loadRoot() (*spec.Config, string, error) {
	cfg, err := g.load()
	switch {
	case err == nil:
		return cfg, cfg.Root, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", err
	}
	return nil, peekRoot(g.file), err
}

// rootToRead is loadRoot for a command that only reads what is under the
// root (wbd events, wbd history): an invalid file that names its root is
// a warning on stderr, saying that what of the root follows, and the
// command goes on without a file.
func (g *globals) rootToRead(stderr io.Writer, what string) (*spec.Config, string, error) {
	cfg, root, err := g.loadRoot()
	if err == nil || root == "" {
		return cfg, root, err
	}
	fmt.Fprintf(stderr, "wbd: warning: %s is invalid; %s in its root %s follow: %s\n", g.file, what, root, reconcile.RedactHost(err.Error()))
	return nil, root, nil
}

// rootLine is the file's root, found in its text when the file does not
// parse.
var rootLine = regexp.MustCompile(`(?m)^root:[ \t]*["']?(/[^"'#\s]*)["']?[ \t]*(?:#.*)?$`)

// peekRoot is the root an invalid instances file names, or "".
func peekRoot(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, spec.MaxFileSize))
	if err != nil {
		return ""
	}
	m := rootLine.FindSubmatch(data)
	if m == nil {
		return ""
	}
	return filepath.Clean(string(m[1]))
}
