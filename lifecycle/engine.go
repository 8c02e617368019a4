package lifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/flags"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/client"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
)

// pingTimeout bounds how long Connect waits for an endpoint to answer.
const pingTimeout = 10 * time.Second

// Log keys.
const (
	keyInstance   = "instance"
	keyContainers = "containers"
)

// Engine is a connection to one Docker endpoint.
type Engine struct {
	cli      *command.DockerCli
	api      client.APIClient
	progress io.Writer
	log      *slog.Logger
	color    *bool // see WithColor

	filesMu sync.Mutex
	files   map[string]instdir.Files // by root: see Files
	// remoteEnv: env files last read on a remote host, by path.
	remoteEnv map[string]readResult

	sshHost string // see Host

	archMu   sync.Mutex
	archName string // see arch

	hooks *stopHooks // see startFirst
}

// Option configures an Engine.
type Option func(*Engine)

// WithProgress sends per-container progress lines of every step to w, the
// way docker compose prints them: redrawn in place when w is a terminal,
// plain lines otherwise. Without it progress is discarded.
func WithProgress(w io.Writer) Option {
	return func(e *Engine) { e.progress = w }
}

// WithLogger sets the logger for what the steps decide (warnings, adoption).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) { e.log = l }
}

// Connect opens a client to the Docker endpoint host and checks that it
// answers, negotiating the API version (Docker 20.10 speaks 1.41). host is
// "" for the local default (DOCKER_HOST, the current docker context, or
// the local socket), or unix:///path, tcp://HOST:PORT, ssh://user@box.
func Connect(ctx context.Context, host string, opts ...Option) (*Engine, error) {
	e := &Engine{progress: io.Discard, log: slog.New(slog.DiscardHandler), hooks: &stopHooks{}}
	for _, o := range opts {
		o(e)
	}
	cliOpts := flags.NewClientOptions()
	if host != "" {
		cliOpts.Hosts = []string{host}
	}
	// The API client is built here, not lazily by DockerCli, because
	// DockerCli.Client() exits the process when it cannot build one.
	apiClient, err := command.NewAPIClientFromFlags(cliOpts, config.LoadDefaultConfigFile(io.Discard))
	if err != nil {
		return nil, fmt.Errorf("connect to docker host %q: %w", host, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := apiClient.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true, ForceNegotiate: true}); err != nil {
		_ = apiClient.Close()
		return nil, &UnreachableError{Host: host, Addr: apiClient.DaemonHost(), Err: err}
	}
	dockerCli, err := command.NewDockerCli(command.WithOutputStream(io.Discard), command.WithErrorStream(io.Discard))
	if err == nil {
		err = dockerCli.Initialize(cliOpts, command.WithAPIClient(hookedClient{APIClient: apiClient, hooks: e.hooks}))
	}
	if err != nil {
		_ = apiClient.Close()
		return nil, fmt.Errorf("connect to docker host %q: %w", host, err)
	}
	e.cli, e.api = dockerCli, apiClient
	if u, err := url.Parse(spec.CanonicalHost(host)); err == nil && u.Scheme == "ssh" {
		u.User = nil // never printed; and the engine is the same whoever logs in
		e.sshHost = u.String()
	}
	return e, nil
}

// Close releases the connection.
func (e *Engine) Close() error {
	return e.api.Close()
}

// Host returns the address the engine's client dials. Docker's client
// reaches an ssh:// endpoint through an ssh process and knows it by a
// placeholder URL that every such endpoint shares, so for those it is the
// ssh destination's host and port, in canonical form.
func (e *Engine) Host() string {
	if e.sshHost != "" {
		return e.sshHost
	}
	return e.api.DaemonHost()
}

// APIVersion returns the negotiated Docker API version.
func (e *Engine) APIVersion() string {
	return e.api.ClientVersion()
}

// session is one step's compose service with its progress output.
type session struct {
	compose api.Compose
	events  api.EventProcessor
}

// session returns a compose service whose progress goes to w.
func (e *Engine) session(w io.Writer) (*session, error) {
	return e.sessionWith(w, nil)
}

// sessionWith is session, whose progress events also go to fn.
func (e *Engine) sessionWith(w io.Writer, fn func(Progress)) (*session, error) {
	events := withActivity(newProgress(w), fn)
	svc, err := compose.NewComposeService(e.cli,
		compose.WithEventProcessor(events),
		compose.WithPrompt(refuse),
		compose.WithOutputStream(w),
		compose.WithErrorStream(w),
	)
	if err != nil {
		return nil, err
	}
	return &session{compose: svc, events: events}, nil
}

// refuse answers compose's confirmations (recreating a diverged volume, which
// loses its data) with no.
func refuse(string, bool) (bool, error) { return false, nil }

// run brackets fn as one operation on the progress output.
func (s *session) run(ctx context.Context, operation string, fn func(context.Context) error) error {
	return compose.Run(ctx, fn, operation, s.events)
}

// on reports one resource's progress.
func (s *session) on(id string, status api.EventStatus, text string) {
	s.events.On(api.Resource{ID: id, Status: status, Text: text})
}
