package main

import (
	"fmt"

	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

// revState is what an instance's history says of it against the file, as
// status and plan show it.
type revState struct {
	// Revision is the revision the instance runs.
	Revision int `json:"revision,omitempty"`
	// Pinned: wbd rollback holds it at Revision whatever the file says.
	Pinned bool `json:"pinned,omitempty"`
	// RolledBack says why the file's spec does not run: it failed, was
	// rolled back, and is held.
	RolledBack string `json:"rolled_back,omitempty"`
}

func revisionsOf(in *spec.Instance, res *render.Result) revState {
	h, _ := revision.Open(in.Dir).Load()
	want := revision.Hash(in.Host, res.YAML)
	var st revState
	if cur := h.Current(); cur != nil {
		st.Revision = cur.Number
	}
	st.Pinned = h.Pin(want) != nil
	if held := h.Held(want); held != nil {
		st.RolledBack = fmt.Sprintf("rolled back from revision %d: %s", held.Number, held.Reason)
	}
	return st
}

// note says in a line why instance name does not run what the file says,
// or nothing.
func (st revState) note(name string) string {
	switch {
	case st.Pinned:
		return fmt.Sprintf("%s: pinned to revision %d by wbd rollback; `wbd rollback %s --release` returns to the file", name, st.Revision, name)
	case st.RolledBack != "":
		return fmt.Sprintf("%s: runs revision %d, %s; held until the file changes or `wbd apply %s --retry-failed`", name, st.Revision, st.RolledBack, name)
	}
	return ""
}
