package reconcile

import (
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
)

// Owns reports whether project p on an engine was created for root, so
// that a daemon of root may take it down when it leaves the file. See owns.
func Owns(root string, p lifecycle.Project) bool { return owns(root, p) }

// Wanted reports whether cfg wants instance name on the engine that host
// (a HostKey) names and that dials addr. An instance that moved to another
// host is not wanted here, unless addrOf cannot tell that host's address
// yet (ok false), or it is this engine's under another name. The daemon
// takes down what its root owns and the file does not want; `wbd plan`
// shows the same.
func Wanted(cfg *spec.Config, host, addr, name string, addrOf func(host string) (string, bool)) bool {
	in := cfg.Instance(name)
	if in == nil {
		return false
	}
	if HostKey(in.Host) == host {
		return true
	}
	other, ok := addrOf(HostKey(in.Host))
	return !ok || other == addr
}
