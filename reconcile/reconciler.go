package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/rollout"
	"golang.org/x/sync/errgroup"
)

// Log keys.
const (
	keyInstance = "instance"
	keyHost     = "host"
	keyAddr     = "addr"
	keyFile     = "file"
	keyDir      = "dir"
	keyError    = "error"
)

// Config configures a Reconciler. Connect is required; every other zero
// field takes its default.
type Config struct {
	Connect ConnectFunc
	Logger  *slog.Logger
	// File names the instances file in the status; it is not read here.
	File string
	// Holder describes the daemon to whoever finds an instance locked.
	Holder string // default "wbd run"
	// Parallel is how many instances are reconciled at a time (default 1);
	// one instance's operations never overlap.
	Parallel int
	// Resync is the period of full passes (default 1 min).
	Resync time.Duration
	// ShutdownTimeout is how long an operation in flight may go on once
	// the context of Run or Reconcile ends (default 30 s).
	ShutdownTimeout time.Duration
	// WaitTimeout bounds how long an apply waits for containers to run and
	// be healthy (default 5 min).
	WaitTimeout time.Duration
	// Steady is how long the containers an apply started must keep running
	// for the change to count as healthy (default lifecycle.DefaultSteady).
	Steady time.Duration
	// EventDelay gathers a burst of engine events before looking (default
	// 1 s); it also lets the engine's restart policy act first.
	EventDelay time.Duration
	Retry      RetryPolicy
	// Now is the clock (default time.Now); Tick, when set, replaces the
	// resync ticker. Tests set them, or run in a synctest bubble.
	Now  func() time.Time
	Tick <-chan time.Time
	// OnState is called after every pass and configuration update with a
	// summary (systemd's STATUS= and READY=1).
	OnState func(Summary)
	// AllowEmpty lets a file that lists no instances be taken: every
	// instance under its root is then taken down. Without it such a file
	// is refused like an invalid one, since a truncated or half-merged
	// file is likelier than an operator retiring a whole host this way.
	AllowEmpty bool
	// OnEvent sees every event the daemon records in the root's events
	// log (an apply, a rollback, a take-down), as it is recorded.
	OnEvent func(events.Event)
	// OnReconciled is called after each reconcile of an instance with
	// what came of it and how long it took (0 when nothing was begun:
	// an engine that does not answer).
	OnReconciled func(st InstanceStatus, took time.Duration)
	// OnReloaded is called once the configuration a reload asked for is
	// in force and its pass is done, or was refused.
	OnReloaded func()
}

// ErrEmpty is why a file that lists no instances is refused without
// Config.AllowEmpty.
var ErrEmpty = errors.New("the file lists no instances")

// Reconciler converges instances to a Desired state. Its methods may be
// called from several goroutines, but Run and Reconcile should not overlap.
type Reconciler struct {
	cfg   Config
	log   *slog.Logger
	hosts *hosts
	dirty *dirtySet
	beat  atomic.Int64 // unix nanoseconds of the last sign of progress

	mu         sync.Mutex
	desired    *Desired
	inst       map[string]*instState
	knownHosts map[string]bool // by HostKey
	// pruned: the last prune of the host found nothing of this root left
	// that the file does not want there.
	pruned   map[string]bool
	prune    bool // a pass should look for instances to take down
	cfgErr   error
	cfgErrAt time.Time
	loaded   time.Time
	started  time.Time
	root     *rootLock
	passes   int
	evlog    *events.Log
	// pub orders the writes of the status file.
	pub sync.Mutex
}

// instState is what the reconciler remembers of one instance.
type instState struct {
	st     InstanceStatus
	retry  retryState
	sum    string // the Desired sum st describes
	holder string // last lock holder logged
	// retryFailed: a reload asked to try a rolled back spec again.
	retryFailed bool
}

// New returns a Reconciler; Close releases it.
func New(cfg Config) (*Reconciler, error) {
	if cfg.Connect == nil {
		return nil, errors.New("reconcile: Config.Connect is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Holder == "" {
		cfg.Holder = "wbd run"
	}
	cfg.Parallel = max(cfg.Parallel, 1)
	cfg.Resync = cmpOr(cfg.Resync, time.Minute)
	cfg.ShutdownTimeout = cmpOr(cfg.ShutdownTimeout, 30*time.Second)
	cfg.WaitTimeout = cmpOr(cfg.WaitTimeout, 5*time.Minute)
	cfg.Steady = cmpOr(cfg.Steady, lifecycle.DefaultSteady)
	cfg.EventDelay = cmpOr(cfg.EventDelay, time.Second)
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reconciler{
		cfg:        cfg,
		log:        cfg.Logger,
		dirty:      newDirtySet(),
		inst:       map[string]*instState{},
		knownHosts: map[string]bool{},
		pruned:     map[string]bool{},
		started:    cfg.Now(),
	}
	r.hosts = &hosts{connect: cfg.Connect, policy: cfg.Retry, now: cfg.Now, log: cfg.Logger, m: map[string]*hostState{}, changed: r.hostChanged}
	r.heartbeat()
	return r, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Close closes the engines and releases the root.
func (r *Reconciler) Close() error {
	r.hosts.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.root != nil {
		r.root.release()
		r.root = nil
	}
	return nil
}

// Heartbeat is when the reconciler last showed progress: the loop waiting,
// or a step of an instance starting or ending (the systemd watchdog).
func (r *Reconciler) Heartbeat() time.Time { return time.Unix(0, r.beat.Load()) }

func (r *Reconciler) heartbeat() { r.beat.Store(r.cfg.Now().UnixNano()) }

// Reconcile makes desired the configuration in force and brings every
// instance to it: instances that left the file are taken down, then each
// instance is planned against its engine and applied when the plan is not
// empty. Instances waiting out a backoff are skipped. When ctx ends no
// further instance is started; one in flight gets Config.ShutdownTimeout.
// The error joins every instance's failure.
func (r *Reconciler) Reconcile(ctx context.Context, desired *Desired) error {
	if err := r.setDesired(desired, false); err != nil {
		return err
	}
	return r.pass(ctx, desired.Config.Names(), true)
}

// setDesired makes d the configuration in force. An instance whose render
// changed (or every one, on reload) is tried at once, whatever its backoff.
func (r *Reconciler) setDesired(d *Desired, reload bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.lockRoot(d.Config.Root); err != nil {
		return err
	}
	r.openEvents(d.Config.Root)
	now := r.cfg.Now()
	for _, in := range d.Config.Instances {
		s, ok := r.inst[in.Name]
		if !ok {
			s = &instState{st: InstanceStatus{Instance: in.Name, Result: ResultPending}}
			r.inst[in.Name] = s
		}
		s.retryFailed = s.retryFailed || reload
		if sum := d.Sum(in.Name); sum != s.sum || reload || !s.st.InFile {
			s.retry.reset()
			s.sum = sum
			s.st.InSync = false
			s.st.NextAttempt = nil
		}
		s.st.Host, s.st.InFile = in.Host, true
		r.knownHosts[HostKey(in.Host)] = true
	}
	for name, s := range r.inst {
		if d.Config.Instance(name) == nil && s.st.InFile {
			s.st.InFile, s.st.InSync = false, false
			s.st.Detail = "left the file"
			s.retry.reset()
		}
	}
	r.desired, r.loaded, r.cfgErr = d, now, nil
	r.prune = true
	return nil
}

// current is the configuration in force, or nil.
func (r *Reconciler) current() *Desired {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desired
}

// pass reconciles the named instances of the configuration in force, after
// taking down what left the file when prune (or an earlier pass left that
// to do).
func (r *Reconciler) pass(ctx context.Context, names []string, prune bool) error {
	d := r.current()
	if d == nil {
		return nil
	}
	var (
		mu    sync.Mutex
		errs  []error
		start = time.Now()
		snaps = newSnapshots()
	)
	r.mu.Lock()
	prune = prune || r.prune
	r.prune = false
	r.mu.Unlock()
	if prune {
		// First, so that a renamed instance's port and names are free.
		if err := r.pruneAll(ctx, d, snaps); err != nil {
			errs = append(errs, err)
		}
	}
	var g errgroup.Group
	g.SetLimit(r.cfg.Parallel)
	for _, name := range names {
		in := d.Config.Instance(name)
		if in == nil || !r.due(name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := r.instance(ctx, d, in, snaps); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	r.mu.Lock()
	r.passes++
	r.mu.Unlock()
	r.publish()
	r.log.Debug("pass done", "instances", len(names), "prune", prune, "took", time.Since(start), "errors", len(errs))
	return errors.Join(errs...)
}

// due reports whether instance name may be tried now.
func (r *Reconciler) due(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.inst[name]
	return !ok || s.retry.due(r.cfg.Now())
}

// update records the outcome of one step for instance name under r.mu.
func (r *Reconciler) update(name string, fn func(s *instState, now time.Time)) {
	r.mu.Lock()
	s, ok := r.inst[name]
	if !ok {
		s = &instState{st: InstanceStatus{Instance: name}}
		r.inst[name] = s
	}
	now := r.cfg.Now()
	s.st.LastReconcile = timePtr(now)
	fn(s, now)
	if s.retry.next.After(now) {
		s.st.NextAttempt = timePtr(s.retry.next)
	} else {
		s.st.NextAttempt = nil
	}
	s.st.Failures = s.retry.failures
	var took time.Duration
	if p := s.st.InProgress; p != nil {
		took = now.Sub(p.Since)
		s.st.InProgress = nil
	}
	s.st.Ready = ready(s.st.Result)
	st := s.st
	r.mu.Unlock()
	// As the status file: whoever listens may log or post it.
	st.Host, st.Detail, st.LastError = RedactHost(st.Host), RedactHost(st.Detail), RedactHost(st.LastError)
	if r.cfg.OnReconciled != nil {
		r.cfg.OnReconciled(st, took)
	}
}

// invalid records that the file, as it is now, is not in force.
func (r *Reconciler) invalid(err error) {
	r.mu.Lock()
	if r.cfgErr == nil {
		r.cfgErrAt = r.cfg.Now()
	}
	r.cfgErr = err
	r.mu.Unlock()
	r.publish()
}

// hostChanged wakes the loop when an engine answers again: its instances
// are looked at and what left the file is taken down.
func (r *Reconciler) hostChanged(host string, up bool) {
	if !up {
		r.dirty.poke()
		return
	}
	r.mu.Lock()
	r.prune = true
	r.mu.Unlock()
	r.dirty.addHost(host)
}

// Snapshot returns the daemon's view.
func (r *Reconciler) Snapshot() *Status {
	r.mu.Lock()
	s := &Status{
		PID:     os.Getpid(),
		Started: r.started,
		Updated: r.cfg.Now(),
		File:    r.cfg.File,
		Resync:  r.cfg.Resync.String(),
	}
	s.Config.Loaded = r.loaded
	if r.cfgErr != nil {
		s.Config.Error = oneLine(r.cfgErr)
		s.Config.ErrorSince = timePtr(r.cfgErrAt)
	}
	var order []string
	if r.desired != nil {
		order = r.desired.Config.Names()
		s.Root = r.desired.Config.Root
	}
	rest := slices.Sorted(maps.Keys(r.inst))
	for _, name := range rest {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	for _, name := range order {
		if st, ok := r.inst[name]; ok {
			in := st.st
			if p := in.InProgress; p != nil && p.Step != rollout.StepPlanning {
				in.Ready = false
			}
			s.Instances = append(s.Instances, in)
		}
	}
	hostNames := slices.Sorted(maps.Keys(r.knownHosts))
	r.mu.Unlock()
	s.Hosts = r.hosts.status(hostNames)
	redactStatus(s)
	return s
}

// publish writes the status file and tells OnState.
func (r *Reconciler) publish() {
	r.pub.Lock()
	defer r.pub.Unlock()
	s := r.Snapshot()
	r.mu.Lock()
	var root string
	if r.desired != nil {
		root = r.desired.Config.Root
	}
	passes := r.passes
	r.mu.Unlock()
	if root != "" {
		if err := writeStatus(root, s); err != nil {
			r.log.Warn("cannot write the status file", keyFile, StatusPath(root), keyError, err)
		}
	}
	if r.cfg.OnState != nil {
		r.cfg.OnState(summarize(s, passes))
	}
}
