package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/lifecycle"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/statuspage"
)

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [NAME...]",
		Short: "Show each instance's services as the engine reports them",
		Long: `Status lists, per instance and service, the container, its state and health,
its image, whether it matches what the file renders now, and since when it
runs. Without names it shows every instance in the file.

When wbd run watches this file's root, its view follows: per instance the
last reconcile and its result, what is in progress and since when, the last
error, and whether it matches the file. When the file is invalid, the error
is printed (exit 1) above the daemon's view, which goes on with the last
valid configuration. Whether a daemon runs is judged by its lock on the
root, not by a PID.`,
		Example: `  wbd status
  wbd status testing --json | jq '.[].services[] | select(.matches == false)'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, args, asJSON, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

type instanceStatus struct {
	Instance string `json:"instance"`
	// Host is its engine as wbd names it everywhere: "local" for the
	// default one, else the endpoint without user or password.
	Host string `json:"host,omitempty"`
	revState
	Services []serviceStatus `json:"services"`
	Error    string          `json:"error,omitempty"`
	// Daemon is wbd run's view of the instance, when a daemon runs.
	Daemon *reconcile.InstanceStatus `json:"daemon,omitempty"`
	// ConfigError is why the file as it is now is not in force: the
	// daemon runs its last valid configuration.
	ConfigError string `json:"config_error,omitempty"`
	// Engine is the daemon's view of the instance's Docker engine.
	Engine *reconcile.HostStatus `json:"engine,omitempty"`

	// Pull is the instance's pull list, each image with whether the
	// engine has it.
	Pull []pullStatus `json:"pull,omitempty"`
}

type serviceStatus struct {
	Service   string     `json:"service"`
	Container string     `json:"container,omitempty"`
	State     string     `json:"state"`
	Health    string     `json:"health,omitempty"`
	Image     string     `json:"image,omitempty"`
	Matches   *bool      `json:"matches,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
}

func runStatus(ctx context.Context, g *globals, names []string, asJSON bool, stdout io.Writer) error {
	all := len(names) == 0
	loaded, root, err := g.loadRoot()
	if err != nil {
		return statusOfInvalidFile(g.file, root, err, asJSON, stdout)
	}
	if _, err := selectInstances(loaded, names, all); err != nil {
		return err
	}
	cfg, ins, results, err := g.loadAndRender(ctx, names, all)
	if err != nil {
		// A template that no longer renders: as invalid, to the daemon.
		return statusOfInvalidFile(g.file, loaded.Root, err, asJSON, stdout)
	}
	daemon := daemonStatus(cfg.Root)
	es := newEngines(io.Discard)
	defer es.close()
	var out []instanceStatus
	var errs []error
	for _, in := range ins {
		st := instanceStatus{Instance: in.Name, Host: spec.HostName(in.Host), Services: []serviceStatus{}}
		if daemon != nil {
			st.Daemon = daemon.Instance(in.Name)
			st.ConfigError = daemon.Config.Error
			st.Engine = engineOf(daemon, in.Host)
		}
		st.revState = revisionsOf(in, results[in.Name])
		eng, err := es.get(ctx, in.Host)
		var services []lifecycle.ServiceStatus
		if err == nil {
			services, err = eng.Status(ctx, in.Name, results[in.Name].Project)
		}
		if err == nil {
			st.Pull, err = pullStatusOf(ctx, eng, in)
		}
		if err != nil {
			st.Error = reconcile.RedactHost(err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
		}
		for _, s := range services {
			ss := serviceStatus{Service: s.Service, Container: s.Container, State: s.State, Health: s.Health, Image: s.Image, Matches: s.UpToDate}
			if !s.StartedAt.IsZero() && s.State == "running" {
				ss.Since = &s.StartedAt
			}
			st.Services = append(st.Services, ss)
		}
		out = append(out, st)
	}
	if asJSON {
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		now := time.Now()
		printStatus(stdout, out, now)
		printPullStatus(stdout, out)
		if daemon != nil {
			printDaemonStatus(stdout, daemon, now)
		}
	}
	return errors.Join(errs...)
}

func printStatus(w io.Writer, sts []instanceStatus, now time.Time) {
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tREV\tSERVICE\tCONTAINER\tSTATE\tHEALTH\tIMAGE\tMATCHES FILE\tSINCE")
	var notes []string
	for _, st := range sts {
		rev := "-"
		if st.Revision > 0 {
			rev = strconv.Itoa(st.Revision)
		}
		if n := st.note(st.Instance); n != "" {
			notes = append(notes, n)
		}
		if st.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\terror\t-\t-\t-\t%s\n", st.Instance, rev, firstLine(st.Error))
			continue
		}
		for _, s := range st.Services {
			matches := "-"
			if s.Matches != nil {
				matches = map[bool]string{true: "yes", false: "no"}[*s.Matches]
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Instance, rev, s.Service, dash(s.Container), s.State, dash(s.Health), dash(s.Image), matches, statuspage.Ago(now, s.Since))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
