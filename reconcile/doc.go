// Package reconcile keeps a host's wbd instances what instances.yaml says:
// it is the work of `wbd run`.
//
// Reconciliation is level-based. The desired state is the file, rendered
// (Desired); the actual state is what each Docker engine reports now for
// wbd's compose projects, found by label. [Reconciler.Reconcile] plans every
// instance against its engine and applies exactly those whose plan is not
// empty: an edit recreates the services it changed and touches nothing
// else, and a container that died or was removed is brought back. Projects
// of the same root that left the file are taken down (their data stays on
// disk). Events from the engine and the resync ticker only say when to
// look again; what is done is decided by what the engine reports.
//
// [Reconciler.Run] is the loop around it: a select over configuration
// updates, engine events, a resync ticker and retry timers. Failures back
// off, a bounded number of attempts per window; an instance locked by a
// wbd command in a shell is retried later; an engine that does not answer
// affects only its instances and is retried with backoff. The daemon's view
// is kept in {root}/.wbd-daemon.json ([ReadStatus]).
package reconcile
