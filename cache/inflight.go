package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A flight is one read-or-load of an entry at one version, shared by every
// caller that asks for that entry and version while it runs: TimCacheC's
// _unresolved map, keyed by version too, so that a caller asking for another
// version never receives the old version's data.
//
// Its result is published (done) as soon as it is known; storing it in Redis
// comes after, and the flight stays findable until then (settled), so callers
// that arrive during the store share the result instead of loading again.
type flight[T any] struct {
	uhash, vhash string

	done chan struct{} // closed once val, src and err are set
	val  T
	src  Source
	err  error

	// settled is closed once the flight is over, stored or not. Only a
	// caller that waits for that needs it (Set, Wait), so it is made on
	// demand: a hit, over at once, goes without. Both fields are guarded by
	// the flights' mutex.
	settled   chan struct{}
	isSettled bool

	next *flight[T] // the next flight of the same uniqueness hash

	// cleared is set by Clear and ClearAll: the result, computed before
	// the clear, must not be stored after it.
	cleared atomic.Bool
}

func (f *flight[T]) finish(v T, src Source, err error) {
	f.val, f.src, f.err = v, src, err
	close(f.done)
}

func (f *flight[T]) finished() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// wait returns the flight's result, or ctx's error if ctx ends first: one
// caller giving up stops its own wait, not the flight.
func (f *flight[T]) wait(ctx context.Context) (T, Source, error) {
	select {
	case <-f.done: // a result that is there wins over a cancelled ctx
		return f.val, f.src, f.err
	default:
	}
	select {
	case <-f.done:
		return f.val, f.src, f.err
	case <-ctx.Done():
		var zero T
		return zero, 0, ctx.Err()
	}
}

// flights holds the running flights of one Cache by uniqueness hash, each
// hash's in a list, newest first. There is nearly always at most one per
// hash; a version change while one runs makes two.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

func newFlight[T any](uhash, vhash string) *flight[T] {
	return &flight[T]{uhash: uhash, vhash: vhash, done: make(chan struct{})}
}

// closed is a closed channel, the settled channel of a flight that was over
// before anyone asked for it.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// acquire returns the flight for (uhash, vhash), starting one if there is
// none; lead reports that the caller started it and must run it.
func (g *flights[T]) acquire(uhash, vhash string) (f *flight[T], lead bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.findLocked(uhash, vhash, false); f != nil {
		return f, false
	}
	f = newFlight[T](uhash, vhash)
	g.addLocked(f)
	return f, true
}

// start registers a new flight for (uhash, vhash) even if one runs:
// TimCacheC's setPromise replaces the entry, so later callers join the
// newest. The replaced flight still finishes for the callers already
// waiting on it.
func (g *flights[T]) start(uhash, vhash string) *flight[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old := g.findLocked(uhash, vhash, false); old != nil {
		g.removeLocked(old)
	}
	f := newFlight[T](uhash, vhash)
	g.addLocked(f)
	return f
}

// find returns the flight for (uhash, vhash), or with anyVersion the newest
// flight for uhash, or nil.
func (g *flights[T]) find(uhash, vhash string, anyVersion bool) *flight[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.findLocked(uhash, vhash, anyVersion)
}

// anySettled returns the channel that closes when one of the running
// flights is over, or nil when none runs.
func (g *flights[T]) anySettled() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.m {
		return g.settledLocked(f)
	}
	return nil
}

// settledChan returns the channel that closes when f is over.
func (g *flights[T]) settledChan(f *flight[T]) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.settledLocked(f)
}

func (g *flights[T]) settledLocked(f *flight[T]) chan struct{} {
	if f.isSettled {
		return closed
	}
	if f.settled == nil {
		f.settled = make(chan struct{})
	}
	return f.settled
}

// settle forgets f, if it is still registered (a Set or a clear may have
// replaced or dropped it already), and marks it over.
func (g *flights[T]) settle(f *flight[T]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(f)
	f.isSettled = true
	if f.settled != nil {
		close(f.settled)
	}
}

func (g *flights[T]) findLocked(uhash, vhash string, anyVersion bool) *flight[T] {
	f := g.m[uhash]
	if anyVersion {
		return f
	}
	for ; f != nil; f = f.next {
		if f.vhash == vhash {
			return f
		}
	}
	return nil
}

func (g *flights[T]) addLocked(f *flight[T]) {
	if g.m == nil {
		g.m = make(map[string]*flight[T])
	}
	f.next = g.m[f.uhash]
	g.m[f.uhash] = f
}

func (g *flights[T]) removeLocked(f *flight[T]) {
	for p := g.m[f.uhash]; p != nil; p = p.next {
		if p == f {
			if g.m[f.uhash] = f.next; f.next == nil {
				delete(g.m, f.uhash)
			}
			return
		}
		if p.next == f {
			p.next = f.next
			return
		}
	}
}

// clear drops the flights for uhash, or all of them when all is set, and
// marks them so their results are not stored.
func (g *flights[T]) clear(uhash string, all bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	drop := func(h string) {
		for f := g.m[h]; f != nil; f = f.next {
			f.cleared.Store(true)
		}
		delete(g.m, h)
	}
	if !all {
		drop(uhash)
		return
	}
	for h := range g.m {
		drop(h)
	}
}

// PanicError is the error every caller waiting on a load receives when the
// loader panicked. The process goes on; the next call loads again.
type PanicError struct {
	Value any    // what the loader panicked with
	Stack []byte // the loader's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("cache: loader panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
