package cache

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing t after 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentCallersLoadOnce(t *testing.T) {
	const callers = 1000
	c, _, _ := newItems(t)
	var loads atomic.Int64
	load := func(context.Context) (item, error) {
		loads.Add(1)
		// Hold the load until every other caller has joined it, so the
		// test does not depend on how fast 1000 goroutines start.
		deadline := time.Now().Add(10 * time.Second)
		for c.Counters().Deduplicated < callers-1 {
			if time.Now().After(deadline) {
				return item{}, errors.New("callers did not all join within 10s")
			}
			time.Sleep(time.Millisecond)
		}
		return item{ID: "a"}, nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := c.GetOrLoad(t.Context(), "a", "v1", load)
			if err == nil && got.ID != "a" {
				err = errors.New("wrong value " + got.ID)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1", n)
	}
	waitSettled(t, c)
	// Later callers read what the load stored.
	if _, src, err := c.GetOrLoad(t.Context(), "a", "v1", load); err != nil || src != SourceCache {
		t.Errorf("GetOrLoad after the load = %v, %v; want a cache hit", src, err)
	}
}

// blockingLoad returns a loader that reports its start on started and
// returns it once release is closed.
func blockingLoad(it item, started chan<- context.Context, release <-chan struct{}) func(context.Context) (item, error) {
	return func(ctx context.Context) (item, error) {
		started <- ctx
		<-release
		return it, nil
	}
}

func TestOtherVersionDoesNotShare(t *testing.T) {
	c, _, _ := newItems(t)
	started, release := make(chan context.Context, 1), make(chan struct{})
	done := make(chan item)
	go func() {
		v, _, _ := c.GetOrLoad(t.Context(), "a", "v1", blockingLoad(item{Version: 1}, started, release))
		done <- v
	}()
	<-started

	// v1 is loading; a caller for v2 gets its own load, not v1's result.
	got, src, err := c.GetOrLoad(t.Context(), "a", "v2", func(context.Context) (item, error) { return item{Version: 2}, nil })
	if err != nil || got.Version != 2 || src != SourceLoad {
		t.Errorf("GetOrLoad(v2) = %+v, %v, %v; want its own load of v2", got, src, err)
	}
	close(release)
	if v := <-done; v.Version != 1 {
		t.Errorf("v1 caller got %+v", v)
	}
}

func TestCallerCancelDoesNotCancelLoad(t *testing.T) {
	c, _, _ := newItems(t)
	started, release := make(chan context.Context, 1), make(chan struct{})
	load := blockingLoad(item{ID: "a"}, started, release)

	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderErr := make(chan error)
	go func() {
		_, _, err := c.GetOrLoad(leaderCtx, "a", "v1", load)
		leaderErr <- err
	}()
	loadCtx := <-started

	const others = 5
	results := make(chan error, others)
	for range others {
		go func() {
			got, _, err := c.GetOrLoad(t.Context(), "a", "v1", load)
			if err == nil && got.ID != "a" {
				err = errors.New("wrong value")
			}
			results <- err
		}()
	}
	waitFor(t, "callers to join", func() bool { return c.Counters().Deduplicated == others })

	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v, want context.Canceled at once", err)
	}
	if loadCtx.Err() != nil {
		t.Errorf("load context ended with the caller's: %v", loadCtx.Err())
	}
	close(release)
	for range others {
		if err := <-results; err != nil {
			t.Errorf("other caller: %v", err)
		}
	}
	if n := c.Counters().Loads; n != 1 {
		t.Errorf("loads = %d, want 1", n)
	}
}

func TestLoaderPanic(t *testing.T) {
	c, rdb, recs := newItems(t)
	started, release := make(chan context.Context, 1), make(chan struct{})
	panicky := func(ctx context.Context) (item, error) {
		started <- ctx
		<-release
		panic("boom")
	}

	const callers = 10
	errs := make(chan error, callers)
	go func() {
		_, _, err := c.GetOrLoad(t.Context(), "a", "v1", panicky)
		errs <- err
	}()
	<-started
	for range callers - 1 {
		go func() {
			_, _, err := c.GetOrLoad(t.Context(), "a", "v1", panicky)
			errs <- err
		}()
	}
	waitFor(t, "callers to join", func() bool { return c.Counters().Deduplicated == callers-1 })
	close(release)

	for range callers {
		var perr *PanicError
		if err := <-errs; !errors.As(err, &perr) || perr.Value != "boom" || len(perr.Stack) == 0 {
			t.Errorf("caller got %v, want a *PanicError with the value and stack", err)
		}
	}
	if recs.count("loader panicked") != 1 {
		t.Errorf("panic not logged once:\n%s", recs)
	}
	waitSettled(t, c)
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("%d keys stored after a panic", n)
	}
	// The process is alive and the next call loads again.
	got, src, err := c.GetOrLoad(t.Context(), "a", "v1", func(context.Context) (item, error) { return item{ID: "a"}, nil })
	if err != nil || src != SourceLoad || got.ID != "a" {
		t.Errorf("GetOrLoad after panic = %+v, %v, %v; want a fresh load", got, src, err)
	}
}

func TestLoadErrorsAreNotCached(t *testing.T) {
	c, rdb, _ := newItems(t)
	errDB := errors.New("database down")
	calls := 0
	failing := func(context.Context) (item, error) { calls++; return item{}, errDB }
	for range 2 {
		if _, _, err := c.GetOrLoad(t.Context(), "a", "v1", failing); !errors.Is(err, errDB) {
			t.Fatalf("GetOrLoad = %v, want the loader's error", err)
		}
		waitSettled(t, c)
	}
	if calls != 2 {
		t.Errorf("loader calls = %d, want 2: an error must not be cached", calls)
	}
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("%d keys stored after errors", n)
	}
	if n := c.Counters().LoadErrors; n != 2 {
		t.Errorf("LoadErrors = %d, want 2", n)
	}
}

func TestLoadTimeout(t *testing.T) {
	c, _, _ := newItems(t, WithLoadTimeout(50*time.Millisecond))
	_, _, err := c.GetOrLoad(t.Context(), "a", "v1", func(ctx context.Context) (item, error) {
		<-ctx.Done()
		return item{}, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetOrLoad = %v, want the load timeout's DeadlineExceeded", err)
	}
}

func TestGetAndSetShareLoads(t *testing.T) {
	c, _, _ := newItems(t)
	started, release := make(chan context.Context, 1), make(chan struct{})
	setDone := make(chan error)
	go func() {
		_, err := c.Set(t.Context(), "a", "v2", blockingLoad(item{Version: 2}, started, release))
		setDone <- err
	}()
	<-started

	got := make(chan item, 3)
	for _, get := range []func() (item, bool, error){
		func() (item, bool, error) { return c.Get(t.Context(), "a", "v2") },
		func() (item, bool, error) { return c.GetAnyVersion(t.Context(), "a") },
		func() (item, bool, error) {
			v, _, err := c.GetOrLoad(t.Context(), "a", "v2", func(context.Context) (item, error) {
				t.Error("GetOrLoad loaded while a Set of the same version ran")
				return item{}, nil
			})
			return v, err == nil, err
		},
	} {
		go func() {
			v, ok, err := get()
			if !ok || err != nil {
				t.Errorf("get during Set = %v, %v", ok, err)
			}
			got <- v
		}()
	}
	waitFor(t, "callers to join", func() bool { return c.Counters().Deduplicated == 3 })
	close(release)
	for range 3 {
		if v := <-got; v.Version != 2 {
			t.Errorf("got %+v, want the Set's value", v)
		}
	}
	if err := <-setDone; err != nil {
		t.Fatal(err)
	}
}

func TestClearDuringLoadDoesNotStore(t *testing.T) {
	for _, all := range []bool{false, true} {
		c, rdb, _ := newItems(t)
		started, release := make(chan context.Context, 1), make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := c.Set(t.Context(), "a", "v1", blockingLoad(item{ID: "a"}, started, release))
			done <- err
		}()
		<-started
		var err error
		if all {
			err = c.ClearAll(t.Context())
		} else {
			err = c.Clear(t.Context(), "a")
		}
		if err != nil {
			t.Fatal(err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := rdb.Exists(t.Context(), c.Key("a")).Val(); n != 0 {
			t.Errorf("all=%v: a load started before the clear stored its value after it", all)
		}
	}
}

func TestLoaderGoexit(t *testing.T) {
	c, _, _ := newItems(t)
	// A loader that ends its goroutine (t.FailNow would) must not leave
	// its callers waiting forever.
	_, _, err := c.GetOrLoad(t.Context(), "a", "v1", func(context.Context) (item, error) {
		runtime.Goexit()
		return item{}, nil
	})
	if !errors.Is(err, errLoaderExited) {
		t.Errorf("GetOrLoad = %v, want errLoaderExited", err)
	}
}
