package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

// fakeEngine is an engine in memory: projects are what was applied, as
// YAML, and whether they run.
type fakeEngine struct {
	addr string

	mu        sync.Mutex
	projects  map[string]*fakeProject
	applies   map[string]int
	downs     []string
	down      bool             // does not answer
	failApply map[string]error // instance -> error Apply returns
	// failImage: applying a project whose app has this image fails,
	// after touching a container when touched (a rollback follows).
	failImage map[string]fakeFailure
	// block, when set, makes Apply wait until it is closed or ctx ends,
	// telling its listener what comes on progress meanwhile.
	block    chan struct{}
	progress chan lifecycle.Progress
	started  chan string // Apply sends the instance here when set
	busy     map[string]int
	overlap  bool // two operations ran on one instance at once
	maxBusy  int
	events   chan lifecycle.Event
	broken   chan struct{} // closed: open event streams break
	streams  int           // open event streams
	closes   int           // calls of Close
	// closedInUse: Close was called with an event stream or an
	// operation still going.
	closedInUse bool
	renames     int
	// snapshots counts Snapshot calls, plans the calls of Plan (which
	// reads the engine for one instance); failSnapshot is what
	// Snapshot returns, failPlan what planning an instance returns.
	snapshots, plans int
	failSnapshot     error
	failPlan         map[string]error
	// slow is how long a request takes to fail while the engine is
	// down, as a remote host that drops packets; pings counts Ping.
	slow  time.Duration
	pings int
	nets  []subnets.Network // networks beside the projects'
}

type fakeFailure struct {
	err     error
	touched bool
}

type fakeProject struct {
	tmpName string // the app's name, when not the instance's
	yaml    string
	running bool
	workDir string
}

func newFakeEngine(addr string) *fakeEngine {
	return &fakeEngine{
		addr:      addr,
		projects:  map[string]*fakeProject{},
		applies:   map[string]int{},
		failApply: map[string]error{},
		failImage: map[string]fakeFailure{},
		failPlan:  map[string]error{},
		busy:      map[string]int{},
		events:    make(chan lifecycle.Event, 100),
		broken:    make(chan struct{}),
	}
}

var errRefused = errors.New("connection refused")

func (e *fakeEngine) Host() string { return e.addr }

func (e *fakeEngine) check() error {
	if e.down {
		return &lifecycle.UnreachableError{Host: e.addr, Addr: e.addr, Err: errRefused}
	}
	return nil
}

// yamlByProject keeps yamlOf's answers: tests plan one rendered
// project pass after pass, and marshalling is most of what a fake pass costs.
var yamlByProject sync.Map // *types.Project -> string

func yamlOf(p *types.Project) string {
	if y, ok := yamlByProject.Load(p); ok {
		return y.(string)
	}
	y := marshal(p)
	yamlByProject.Store(p, y)
	return y
}

func marshal(p *types.Project) string {
	b, err := p.MarshalYAML()
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Snapshot counts the reads of the whole engine; the inventory is what
// Inventory lists.
func (e *fakeEngine) Snapshot(ctx context.Context) (*lifecycle.Snapshot, error) {
	inv, err := e.Inventory(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snapshots++
	err = e.wait(err)
	if err == nil {
		err = e.failSnapshot
	}
	if err != nil {
		return nil, err
	}
	return &lifecycle.Snapshot{Taken: time.Now(), Projects: inv}, nil
}

// PlanIn plans as Plan does, from the engine as it is now: what matters
// to the tests is that each pass reads the engine once (Snapshot) and
// asks no more of it per instance than the plan.
func (e *fakeEngine) PlanIn(ctx context.Context, snap *lifecycle.Snapshot, p *types.Project) (lifecycle.Plan, error) {
	if snap == nil {
		panic("PlanIn without a snapshot")
	}
	return e.plan(p, true)
}

func (e *fakeEngine) Plan(ctx context.Context, p *types.Project) (lifecycle.Plan, error) {
	return e.plan(p, false)
}

func (e *fakeEngine) plan(p *types.Project, fromSnapshot bool) (lifecycle.Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !fromSnapshot {
		e.plans++
	}
	if err := e.check(); err != nil {
		return lifecycle.Plan{}, err
	}
	if err := e.failPlan[p.Name]; err != nil {
		return lifecycle.Plan{}, err
	}
	plan := lifecycle.Plan{Instance: p.Name}
	cur, ok := e.projects[p.Name]
	action := lifecycle.ActionUnchanged
	switch {
	case !ok:
		action = lifecycle.ActionCreate
	case cur.yaml != yamlOf(p):
		action = lifecycle.ActionRecreate
	case !cur.running:
		action = lifecycle.ActionStart
	}
	plan.Services = []lifecycle.ServicePlan{{Service: "app", Action: action}}
	if ok && cur.tmpName != "" {
		plan.Renames = []lifecycle.Misnamed{{Container: lifecycle.Container{Name: cur.tmpName, Service: "app"}, Want: p.Name}}
	}
	return plan, nil
}

func (e *fakeEngine) enter(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.busy[name]++
	if e.busy[name] > 1 {
		e.overlap = true
	}
	total := 0
	for _, n := range e.busy {
		total += n
	}
	e.maxBusy = max(e.maxBusy, total)
}

func (e *fakeEngine) leave(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.busy[name]--
}

func (e *fakeEngine) Apply(ctx context.Context, p *types.Project, opts lifecycle.ApplyOptions) (lifecycle.Report, error) {
	e.enter(p.Name)
	defer e.leave(p.Name)
	e.mu.Lock()
	block, started := e.block, e.started
	e.mu.Unlock()
	if started != nil {
		started <- p.Name
	}
	if block != nil {
	wait:
		for {
			select {
			case <-block:
				break wait
			case pr := <-e.progress:
				opts.OnProgress(pr)
			case <-ctx.Done():
				return lifecycle.Report{}, ctx.Err()
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return lifecycle.Report{}, err
	}
	rep := lifecycle.Report{Instance: p.Name, Touched: true}
	// As the real one, Apply gives back the names an interrupted recreate
	// left, and recreates only what differs.
	if cur, ok := e.projects[p.Name]; ok && cur.tmpName != "" {
		rep.Renamed = []string{cur.tmpName + " -> " + p.Name}
		cur.tmpName = ""
		e.renames++
		if cur.yaml == yamlOf(p) && cur.running {
			return rep, nil
		}
	}
	e.applies[p.Name]++
	if err := e.failApply[p.Name]; err != nil {
		return rep, err
	}
	if f, ok := e.failImage[p.Services["app"].Image]; ok {
		rep.Touched = f.touched
		if f.touched {
			e.projects[p.Name] = &fakeProject{yaml: yamlOf(p), running: false, workDir: p.WorkingDir}
		}
		return rep, f.err
	}
	e.projects[p.Name] = &fakeProject{yaml: yamlOf(p), running: true, workDir: p.WorkingDir}
	rep.Services = []lifecycle.ServiceReport{{Action: lifecycle.ActionCreate}}
	return rep, nil
}

func (e *fakeEngine) Down(ctx context.Context, name string) error {
	e.enter(name)
	defer e.leave(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	delete(e.projects, name)
	e.downs = append(e.downs, name)
	return nil
}

// Networks lists a network per project, without subnets unless the test
// set some in nets, and those of nets.
func (e *fakeEngine) Networks(ctx context.Context) ([]subnets.Network, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.wait(e.check()); err != nil {
		return nil, err
	}
	out := slices.Clone(e.nets)
	for name := range e.projects {
		if !slices.ContainsFunc(out, func(n subnets.Network) bool { return n.Name == name }) {
			out = append(out, subnets.Network{Name: name, Instance: name})
		}
	}
	return out, nil
}

func (e *fakeEngine) Files(context.Context, string) (instdir.Files, error) { return instdir.Local, nil }

func (e *fakeEngine) Inventory(ctx context.Context) ([]lifecycle.Project, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	var out []lifecycle.Project
	for name, p := range e.projects {
		out = append(out, lifecycle.Project{Name: name, WorkingDirs: []string{p.workDir}, Containers: 3, Networks: 1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (e *fakeEngine) Events(ctx context.Context, fn func(lifecycle.Event)) error {
	e.mu.Lock()
	if err := e.check(); err != nil {
		e.mu.Unlock()
		return err
	}
	e.streams++
	broken := e.broken
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.streams--
		e.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-broken:
			return errors.New("unexpected EOF")
		case ev := <-e.events:
			fn(ev)
		}
	}
}

func (e *fakeEngine) Ping(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pings++
	return e.wait(e.check())
}

// wait makes a request that failed because the engine is down take
// e.slow, e.mu held, as its timeout would.
func (e *fakeEngine) wait(err error) error {
	if err != nil && e.slow > 0 {
		time.Sleep(e.slow)
	}
	return err
}

// calls is what the engine was asked so far: snapshots, plans of one
// instance, pings.
func (e *fakeEngine) calls() (snapshots, plans, pings int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snapshots, e.plans, e.pings
}

func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closes++
	for _, n := range e.busy {
		e.closedInUse = e.closedInUse || n > 0
	}
	e.closedInUse = e.closedInUse || e.streams > 0
	return nil
}

func (e *fakeEngine) closed() (n int, inUse bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closes, e.closedInUse
}

// kill makes instance name's containers stop, as the engine would report
// after `docker stop`, and sends the event.
func (e *fakeEngine) kill(name string) {
	e.mu.Lock()
	if p, ok := e.projects[name]; ok {
		p.running = false
	}
	e.mu.Unlock()
	e.events <- lifecycle.Event{Instance: name, Service: "app", Action: "die"}
}

// setDown makes the engine stop or start answering; stopping breaks the
// event streams and stops every container, as dockerd stopping does.
func (e *fakeEngine) setDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
	if down {
		close(e.broken)
		e.broken = make(chan struct{})
		for _, p := range e.projects {
			p.running = false
		}
	}
}

func (e *fakeEngine) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.applies[name]
}

func (e *fakeEngine) downed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.downs)
}

// fakeHosts connects host names to fake engines; a host without one, or
// one that is down, does not answer.
type fakeHosts struct {
	mu       sync.Mutex
	engines  map[string]*fakeEngine
	connects map[string]int
	// timeout is how long a connection to an engine that is down takes
	// to fail, as a remote host that drops packets.
	timeout time.Duration
}

func (f *fakeHosts) connect(ctx context.Context, host string) (Engine, error) {
	f.mu.Lock()
	f.connects[host]++
	e, ok := f.engines[host]
	timeout := f.timeout
	f.mu.Unlock()
	if !ok {
		return nil, &lifecycle.UnreachableError{Host: host, Err: errRefused}
	}
	if err := e.Ping(ctx); err != nil {
		time.Sleep(timeout)
		return nil, err
	}
	return e, nil
}

// inst is one instance of a test file.
type inst struct {
	name, app, host string
	port            int
}

// fileYAML writes an instances file for root.
func fileYAML(root string, ins ...inst) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nroot: %s\ninstances:\n", root)
	for _, in := range ins {
		fmt.Fprintf(&b, "  %s:\n    port: %d\n    images: {app: %q, postgres: \"wbd.local/postgres:15\", redis: \"wbd.local/redis:7\"}\n", in.name, in.port, in.app)
		if in.host != "" {
			fmt.Fprintf(&b, "    host: %s\n", in.host)
		}
	}
	return b.String()
}

func parse(t *testing.T, root string, ins ...inst) *spec.Config {
	t.Helper()
	cfg, err := spec.ParseFile(filepath.Join(root, "instances.yaml"), []byte(fileYAML(root, ins...)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func desired(t *testing.T, root string, ins ...inst) *Desired {
	t.Helper()
	d, err := Render(t.Context(), parse(t, root, ins...))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// env is a reconciler over fake engines, with a clock the test moves.
type env struct {
	t     *testing.T
	root  string
	local *fakeEngine
	hosts *fakeHosts
	r     *Reconciler
	now   time.Time
	logs  *logBuffer
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, root: t.TempDir(), local: newFakeEngine("unix:///fake.sock"), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), logs: &logBuffer{}}
	e.hosts = &fakeHosts{engines: map[string]*fakeEngine{"": e.local}, connects: map[string]int{}}
	cfg.Connect = e.hosts.connect
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return e.now }
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e.r = r
	return e
}

func (e *env) status(name string) InstanceStatus {
	e.t.Helper()
	s := e.r.Snapshot().Instance(name)
	if s == nil {
		e.t.Fatalf("no status for %s", name)
	}
	return *s
}

// logBuffer collects log lines, safely for concurrent writers.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	return len(p), nil
}

func (b *logBuffer) grep(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func eventFor(name string) lifecycle.Event {
	return lifecycle.Event{Instance: name, Service: "app", Action: "die"}
}
