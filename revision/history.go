package revision

// History is an instance's revisions, newest first.
type History []Revision

// Newest is the latest revision, or nil in an empty history.
func (h History) Newest() *Revision {
	if len(h) == 0 {
		return nil
	}
	return &h[0]
}

// Get returns revision n, or nil.
func (h History) Get(n int) *Revision {
	for i := range h {
		if h[i].Number == n {
			return &h[i]
		}
	}
	return nil
}

// Current is the revision the instance runs: the newest healthy one. A
// rolled back revision's instance runs the one it restored, which is older
// and healthy, so it is found the same way.
func (h History) Current() *Revision {
	return h.healthyBefore(0)
}

// healthyBefore is the newest healthy revision numbered below n (any, when
// n is 0).
func (h History) healthyBefore(n int) *Revision {
	for i := range h {
		if (n == 0 || h[i].Number < n) && h[i].Verdict == Healthy {
			return &h[i]
		}
	}
	return nil
}

// Previous is what `wbd rollback` goes back to by default: the newest
// healthy revision before the current one whose project differs from it.
// Rolled back and failed revisions are never chosen.
func (h History) Previous() *Revision {
	cur := h.Current()
	if cur == nil {
		return nil
	}
	for i := range h {
		r := &h[i]
		if r.Number < cur.Number && r.Verdict == Healthy && r.Project != cur.Project {
			return r
		}
	}
	return nil
}

// Held returns the rolled back revision that holds spec back: the newest
// revision rolled back spec and nothing was applied since. The daemon
// does not try it again until the spec changes or an operator asks, so a
// broken image is not rolled out, rolled back, rolled out... forever.
func (h History) Held(spec string) *Revision {
	n := h.Newest()
	if n == nil || n.Verdict != RolledBack || n.SpecHash != spec {
		return nil
	}
	return n
}

// Pin returns the rollback that pins the instance while its spec is spec:
// the newest revision, applied by `wbd rollback`, not released, and made
// while the file said spec. An edit of the instance's part of the file
// ends the pin.
func (h History) Pin(spec string) *Revision {
	n := h.Newest()
	if n == nil || !n.Pinned || n.Released || n.PinnedWhile != spec || n.Verdict != Healthy {
		return nil
	}
	return n
}
