package main

import (
	"fmt"
	"io"
	"time"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// statusOfInvalidFile is wbd status when the file does not load or
// render: the daemon of its root (as loadRoot finds it), if one runs,
// goes on with the last valid configuration, and that is what is shown,
// below the file's error.
func statusOfInvalidFile(file, root string, loadErr error, asJSON bool, stdout io.Writer) error {
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
	key := spec.HostName(reconcile.HostKey(host)) // as daemonStatus names it
	for i := range d.Hosts {
		if d.Hosts[i].Host == key {
			return &d.Hosts[i]
		}
	}
	return nil
}
