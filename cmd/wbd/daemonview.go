package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// rootLine is the file's root, found in its text when the file does not
// parse: the daemon of that root still runs its last valid configuration.
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

// statusOfInvalidFile is wbd status when the file does not load or
// render: the daemon of its root (root, or the one the file's text names),
// if one runs, goes on with the last valid configuration, and that is what
// is shown, below the file's error.
func statusOfInvalidFile(file, root string, loadErr error, asJSON bool, stdout io.Writer) error {
	if errors.Is(loadErr, fs.ErrNotExist) {
		return loadErr
	}
	if root == "" {
		root = peekRoot(file)
	}
	if root == "" {
		return loadErr
	}
	d := daemonStatus(root)
	if d == nil {
		return loadErr
	}
	msg := reconcile.RedactHost(loadErr.Error())
	if asJSON {
		out := []instanceStatus{}
		for i := range d.Instances {
			in := &d.Instances[i]
			if !in.InFile {
				continue
			}
			out = append(out, instanceStatus{Instance: in.Instance, Host: in.Host, Services: []serviceStatus{},
				revState: revState{Revision: in.Revision}, Daemon: in, ConfigError: msg, Engine: engineOf(d, in.Host)})
		}
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s is invalid; the daemon goes on with the last valid configuration:\n", file)
		printDaemonStatus(stdout, d, time.Now())
	}
	return loadErr
}

// engineOf is the daemon's view of the engine of host (as the file names
// it), or nil.
func engineOf(d *reconcile.Status, host string) *reconcile.HostStatus {
	if d == nil {
		return nil
	}
	key := reconcile.RedactHost(reconcile.HostKey(host))
	for i := range d.Hosts {
		if d.Hosts[i].Host == key {
			return &d.Hosts[i]
		}
	}
	return nil
}
