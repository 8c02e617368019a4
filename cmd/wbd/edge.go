package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/edge"
)

func newEdgeCmd() *cobra.Command {
	cfg := edge.Config{Listen: fmt.Sprintf(":%d", edge.ListenPort), StateDir: edge.StateDir}
	var logFormat string
	cmd := &cobra.Command{
		Use:   "edge --target HOST:PORT",
		Short: "Run the edge proxy in front of an instance's app (in its edge container)",
		Long: `Edge is what the edge container of an instance with edge: on runs, from an
image wbd makes of its own binary: it listens on --listen, which the
instance's published port maps to, and forwards every request to its
target on the instance's network, the app container. HTTP/1.1 and HTTP/2
without TLS are served; WebSocket and server-sent events pass through;
X-Forwarded-For gets the client's address.

The target is kept in --state-dir and changed by wbd through the control
socket there (edge ctl), without a restart: during a rollout wbd switches
it to the new app container once that is ready, and the edge gives the
requests still in flight on the old one the instance's drain timeout.
With no target kept, requests go to --target. On SIGTERM the edge stops
listening and gives requests in flight --grace to end. It runs on one
processor unless GOMAXPROCS says otherwise: that is what keeps the latency
it adds lowest.`,
		Example: `  # What the edge container of instance testing runs
  wbd edge --listen :8080 --target testing:8000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Default == "" {
				return usagef("edge: --target HOST:PORT is required")
			}
			log, err := newLogger(cmd.ErrOrStderr(), logFormat, "info")
			if err != nil {
				return err
			}
			cfg.Logger = log
			// One processor: a request passes through in a few
			// goroutines that hand it to one another, and across two
			// threads each handoff costs a wake-up. One core proxies
			// thousands of requests a second; GOMAXPROCS overrides it.
			if os.Getenv("GOMAXPROCS") == "" {
				runtime.GOMAXPROCS(1)
			}
			return edge.Run(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to serve on")
	fl.StringVar(&cfg.Default, "target", "", "where requests go while no other target is kept: the app's HOST:PORT")
	fl.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "where the target and the control socket are kept")
	fl.DurationVar(&cfg.Grace, "grace", 5*time.Second, "on SIGTERM, how long requests in flight get")
	fl.StringVar(&logFormat, "log-format", "json", "log format: text or json")
	cmd.AddCommand(newEdgeCtlCmd(&cfg))
	return cmd
}

func newEdgeCtlCmd(cfg *edge.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Ask the edge running in this container what it does, or switch its target",
		Long: `Ctl talks to the control socket of the edge in the same container; wbd runs
it there through the engine (docker exec). Answers are JSON on stdout.
Flags it does not know are ignored: a newer wbd may drive an edge that
waits for its upgrade.`,
	}
	status := &cobra.Command{
		Use:                "status",
		Short:              "Print the edge's target, its default and the requests in flight",
		Args:               cobra.NoArgs,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := ctlClient(cfg).Status(cmd.Context())
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(st)
		},
	}
	var req edge.SwitchRequest
	var drain time.Duration
	sw := &cobra.Command{
		Use:     "switch [--to HOST:PORT] [--drain D] [--check]",
		Short:   "Send new requests to HOST:PORT (the default without --to), and wait for the old target's to end",
		Example: `  wbd edge ctl switch --to 3f2a9c1e4b7d:8000 --drain 30s --check`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Drain = edge.Duration(drain)
			res, err := ctlClient(cfg).Switch(cmd.Context(), req)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	sw.FParseErrWhitelist.UnknownFlags = true
	sw.Flags().StringVar(&req.To, "to", "", "the new target, HOST:PORT")
	sw.Flags().DurationVar(&drain, "drain", 30*time.Second, "how long requests in flight on the old target get")
	sw.Flags().BoolVar(&req.Check, "check", false, "switch only once the new target answers HTTP")
	sw.Flags().BoolVar(&req.Keep, "keep", false, "leave the requests in flight on the old target to end on their own: it is the same app")
	cmd.AddCommand(status, sw)
	return cmd
}

func ctlClient(cfg *edge.Config) *edge.Client {
	return edge.NewClient(filepath.Join(cfg.StateDir, edge.SocketFile))
}
