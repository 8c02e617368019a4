package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/logging"
	"github.com/wbd-dev/wbd/metrics"
	"github.com/wbd-dev/wbd/notify"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/statuspage"
	"github.com/wbd-dev/wbd/watch"
	"golang.org/x/sync/errgroup"
)

// runFlags are the flags of wbd run.
type runFlags struct {
	parallel        int
	resync          time.Duration
	shutdownTimeout time.Duration
	timeout         time.Duration
	debounce        time.Duration
	maxFailures     int
	failureWindow   time.Duration
	logFormat       string
	logLevel        string
	allowEmpty      bool
	metricsAddr     string
	notifyURL       string
}

func newRunCmd(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Keep every instance as the file says: watch it and reconcile (the daemon)",
		Long: `Run is wbd's daemon. It stays in the foreground and keeps every instance of the
file as the file says, so that a rollout is an edit: change an image tag in
instances.yaml, save, and the host converges.

At start it reconciles every instance: each one is planned against its
engine and applied when the plan is not empty, as 'wbd apply' would (services
whose configuration changed are recreated, the others are not touched).
Then it watches the file (its directory: editors save by renaming), and the
*.tmpl files of its templates directory when it names one, and reconciles on
every saved change, on engine events (a wbd container died,
was stopped or removed) and every --resync. A symbolic link is followed to
whatever it points to now (a link re-pointed, a Kubernetes ConfigMap's
..data swapped, the file's directory replaced), and every --resync reads
the file again, so a change no event announced waits one period at most.
Instances go one at a time, or --parallel at a time.

An instance removed from the file is taken down (app, admin, redis, postgres,
then its network); its directory and data stay on disk. Only projects whose
compose directory is under the file's root are ever taken down. A file that
lists no instances at all is refused (it would take down the whole host)
unless --allow-empty.

A file that does not parse or render is logged as FILE:LINE:COL and changes
nothing: the last valid configuration stays in force until the file is
fixed. SIGHUP reads the file (and the templates) again and retries every
instance at once.

Failures back off (5s doubling to 5m); an instance failing --max-failures
times within --failure-window is held until the window frees up. An
instance locked by a wbd command in a shell is retried a few seconds later.
A Docker engine that does not answer is retried with backoff; only its
instances wait for it.

SIGTERM or SIGINT lets the operation in flight finish (at most
--shutdown-timeout), then exits 0 without stopping any instance; a second
signal exits at once. Under systemd (Type=notify) it reports READY=1 after
the first pass (asking for more time, EXTEND_TIMEOUT_USEC, while that pass
makes progress), a STATUS= line after every pass, RELOADING=1 then READY=1
around a reload, and WATCHDOG=1 when the unit sets WatchdogSec, for as
long as the loop or the operation in flight makes progress.

Its view of each instance, with what is in progress, is in
{root}/.wbd-daemon.json, which 'wbd status' shows. Every action it takes
is appended to {root}/.wbd/events.jsonl ('wbd events'). --metrics-addr
serves Prometheus metrics at /metrics, a status page at / that refreshes
itself, and /status.json. --notify-url posts a JSON message with a
Slack-compatible text when an instance becomes ready, fails, is rolled back
or recovers: once per change (a restart starts from the state the status
file says), at once, retried in the background; an
instance that flaps (changes back to a state it left less than 10 minutes
ago) sends at most 3 such changes an hour, then the state it settles in.

Logs are one line per event on stderr; when stderr is the journal
(JOURNAL_STREAM), they go to the journal with a priority per level and
their attributes as fields (INSTANCE=, HOST=, REVISION=, ERROR=...).`,
		Example: `  wbd run -f /etc/wbd/instances.yaml
  wbd run --parallel 2 --resync 5m --log-format json
  wbd run --metrics-addr 127.0.0.1:9377 --notify-url "$SLACK_WEBHOOK"

  # Read the file again and retry every instance now
  systemctl reload wbd      # or: kill -HUP $(pidof wbd)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(cmd.Context(), g, f, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.parallel, "parallel", 1, "how many instances are reconciled at a time")
	fl.DurationVar(&f.resync, "resync", time.Minute, "how often every instance is compared with its engine")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long the operation in flight may go on after SIGTERM")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long an instance may take to be running and healthy")
	fl.DurationVar(&f.debounce, "debounce", watch.DefaultDebounce, "how long the file must be quiet after a change before it is read")
	fl.IntVar(&f.maxFailures, "max-failures", reconcile.DefaultRetry.Attempts, "failed attempts allowed per instance within --failure-window")
	fl.DurationVar(&f.failureWindow, "failure-window", reconcile.DefaultRetry.Window, "the window of --max-failures")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "take a file that lists no instances, taking every instance under its root down")
	fl.StringVar(&f.logFormat, "log-format", "auto", "log format: auto (the journal under systemd, else text), text, json or journal")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics), the status page (/) and /status.json on this address, e.g. 127.0.0.1:9377 (default off)")
	fl.StringVar(&f.notifyURL, "notify-url", os.Getenv("WBD_NOTIFY_URL"), "post a JSON message (Slack-compatible) here when an instance becomes ready, fails, is rolled back or recovers (env WBD_NOTIFY_URL)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func runRun(ctx context.Context, g *globals, f runFlags, stderr io.Writer) error {
	log, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	lifecycle.ComposeLogs(log)
	if f.parallel < 1 || f.resync <= 0 || f.shutdownTimeout <= 0 || f.timeout <= 0 || f.maxFailures < 1 || f.failureWindow <= 0 {
		return usagef("--parallel and --max-failures must be at least 1, durations positive")
	}
	// Own handling: SIGHUP reloads, a second SIGINT/SIGTERM exits at once.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if f.notifyURL != "" {
		if err := notify.CheckURL(f.notifyURL); err != nil {
			return usagef("--notify-url: %v", err)
		}
	}
	w, err := watch.New(g.file, watch.Options{Debounce: f.debounce, Logger: log, Resync: f.resync})
	if err != nil {
		return err
	}
	sd := &systemd{log: log}
	var (
		r        *reconcile.Reconciler
		m        = metrics.New(func() metrics.View { return r.Snapshot().Metrics() })
		notifier *notify.Notifier
	)
	v := buildVersion()
	m.SetBuild(metrics.Build{Version: v.Version, Revision: v.Revision, GoVersion: v.Go, GoOS: runtime.GOOS, GoArch: runtime.GOARCH, Compose: v.Compose})
	if f.notifyURL != "" {
		notifier = notify.New(f.notifyURL, notify.Options{Logger: log})
		seedNotifier(g, notifier, log)
	}
	retry := reconcile.DefaultRetry
	retry.Attempts, retry.Window = f.maxFailures, f.failureWindow
	r, err = reconcile.New(reconcile.Config{
		Connect:         reconcile.Connector(lifecycle.WithLogger(log)),
		Logger:          log,
		File:            g.file,
		Parallel:        f.parallel,
		Resync:          f.resync,
		ShutdownTimeout: f.shutdownTimeout,
		WaitTimeout:     f.timeout,
		Retry:           retry,
		OnState:         sd.state,
		AllowEmpty:      f.allowEmpty,
		OnEvent:         m.Event,
		OnReconciled: func(st reconcile.InstanceStatus, took time.Duration) {
			m.Reconciled(st.Instance, st.Result.Label(), took)
			if notifier != nil {
				notifier.Observe(st)
			}
		},
		OnReloaded: sd.reloaded,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	srv, err := listenStatus(f.metricsAddr, m, r, log)
	if err != nil {
		return err
	}

	soft, stop := context.WithCancel(ctx)
	defer stop()
	eg, gctx := errgroup.WithContext(soft)
	updates := make(chan watch.Update)
	stale := f.timeout + 2*time.Minute
	eg.Go(func() error { return w.Run(gctx, updates) })
	eg.Go(func() error { return r.Run(gctx, updates) })
	eg.Go(func() error { sd.watchdog(gctx, r, stale); return nil })
	eg.Go(func() error { sd.extendStartup(gctx, r, 20*time.Second, stale); return nil })
	// Delivery and the page are not the loop: they stop with the process,
	// and never hold up its shutdown.
	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBG()
	if notifier != nil {
		go notifier.Run(bg)
	}
	if srv != nil {
		go srv.serve()
		defer srv.close()
	}
	done := make(chan error, 1)
	go func() { done <- eg.Wait() }()
	log.Info("wbd run started", keyFile, g.file, keyPID, os.Getpid(), keyParallel, f.parallel, keyResync, f.resync)

	var (
		stopping = soft.Done()
		deadline <-chan time.Time
		signaled bool
	)
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			log.Info("wbd run stopped; the instances keep running")
			return nil
		case <-stopping:
			stopping = nil
			sd.notify(daemon.SdNotifyStopping)
			log.Info("stopping: letting the operation in flight finish", keyDeadline, f.shutdownTimeout)
			deadline = time.After(f.shutdownTimeout + 5*time.Second)
		case <-deadline:
			return fmt.Errorf("shutdown deadline of %s passed; exiting with the operation in flight unfinished", f.shutdownTimeout)
		case s := <-sigs:
			switch {
			case s == syscall.SIGHUP:
				log.Info("SIGHUP: reading the file again")
				sd.reload()
				w.Reload()
			case !signaled:
				signaled = true
				log.Info("signal received", keySignal, s.String())
				stop()
			default:
				log.Warn("second signal: exiting now", keySignal, s.String())
				return errors.New("stopped by a second signal; the operation in flight was abandoned")
			}
		}
	}
}

// seedNotifier starts the notifier where the daemon before this one left
// the root's instances, as its status file says (read before this daemon
// writes its own): a restart sends only what changes from there.
func seedNotifier(g *globals, n *notify.Notifier, log *slog.Logger) {
	_, root, _ := g.loadRoot()
	if root == "" {
		return
	}
	s, err := reconcile.ReadStatus(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return // no daemon ran for this root yet
	case err != nil:
		log.Warn("the last daemon's view is unreadable; notifications start from nothing", keyError, err)
		return
	}
	n.Seed(s)
}

// newLogger logs one line per event to w. When w is the journal's stream
// the time is left out: the journal stamps every line itself (a
// JOURNAL_STREAM inherited by a process whose stderr goes elsewhere, a
// file say, keeps it). Durations read as in the text format ("1m0s"), not
// as JSON's nanosecond integers.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	f, _ := w.(*os.File)
	journald := logging.IsJournalStream(f)
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		switch {
		case journald && len(groups) == 0 && a.Key == slog.TimeKey:
			return slog.Attr{}
		case a.Value.Kind() == slog.KindDuration:
			return slog.String(a.Key, a.Value.Duration().String())
		case a.Value.Kind() == slog.KindString:
			// Any package may log an endpoint, or an error quoting one.
			return slog.String(a.Key, reconcile.RedactHost(a.Value.String()))
		case a.Value.Kind() == slog.KindAny:
			if err, ok := a.Value.Any().(error); ok {
				return slog.String(a.Key, reconcile.RedactHost(err.Error()))
			}
		}
		return a
	}}
	if format == "auto" {
		format = "text"
		if journald {
			format = "journal"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "journal":
		h, err := logging.Journal(lv, opts.ReplaceAttr)
		if err != nil {
			return nil, fmt.Errorf("the journal: %w", err)
		}
		return slog.New(h), nil
	}
	return nil, usagef("--log-format %q: want auto, text, json or journal", format)
}

// daemonStatus is the running daemon's view of root, its engines named as
// everywhere else, or nil when no daemon runs for it. For wbd status.
func daemonStatus(root string) *reconcile.Status {
	if !reconcile.Running(root) {
		return nil
	}
	s, err := reconcile.ReadStatus(root)
	if err != nil {
		return nil
	}
	return statuspage.Shown(s)
}

// printDaemonStatus writes the daemon's view below wbd status's table:
//
//	DAEMON (pid 4242, file /etc/wbd/instances.yaml, updated 12s ago)
//	INSTANCE  RESULT   MATCHES FILE  LAST RECONCILE  NEXT ATTEMPT  DETAIL / LAST ERROR
//	testing   in-sync  yes           12s ago         -             matches the file
func printDaemonStatus(w io.Writer, s *reconcile.Status, now time.Time) {
	fmt.Fprintf(w, "\nDAEMON (pid %d, file %s, updated %s)\n", s.PID, s.File, statuspage.Ago(now, &s.Updated))
	if s.Config.Error != "" {
		fmt.Fprintf(w, "file invalid since %s, last valid configuration (read %s) in force: %s\n",
			statuspage.Ago(now, s.Config.ErrorSince), statuspage.Ago(now, &s.Config.Loaded), s.Config.Error)
	}
	for _, h := range s.Hosts {
		if h.Known && !h.Up {
			fmt.Fprintf(w, "engine %s does not answer since %s: %s\n", spec.HostName(h.Host), statuspage.Ago(now, h.Since), reconcile.RedactHost(h.Error))
		}
	}
	for _, in := range s.Instances {
		if p := in.InProgress; p != nil {
			detail := ""
			if p.Detail != "" {
				detail = ": " + p.Detail
			}
			fmt.Fprintf(w, "in progress: %s %s since %s (began %s)%s\n", in.Instance, p.Step, statuspage.Ago(now, &p.StepSince), statuspage.Ago(now, &p.Since), detail)
		}
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tRESULT\tMATCHES FILE\tLAST RECONCILE\tNEXT ATTEMPT\tDETAIL / LAST ERROR")
	for _, in := range s.Instances {
		matches := map[bool]string{true: "yes", false: "no"}[in.InSync]
		if !in.InFile {
			matches = "not in file"
		}
		detail := in.Detail
		if in.LastError != "" && !in.InSync {
			detail = in.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Instance, in.Result, matches, statuspage.Ago(now, in.LastReconcile), statuspage.Until(now, in.NextAttempt), firstLine(dash(reconcile.RedactHost(detail))))
	}
	tw.Flush()
}
