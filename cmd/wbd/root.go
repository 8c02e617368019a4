package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// Exit codes, as the --help of wbd states them.
const (
	exitOK     = 0
	exitFailed = 1 // an operation failed or the file is invalid
	exitUsage  = 2 // the command line is wrong
	// exitRolledBack: a change failed and was undone, or is held because
	// it was; the instance runs its last healthy revision.
	exitRolledBack = 3
	defaultFile    = "instances.yaml"
)

// usageError marks errors of the command line, which exit with exitUsage.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run is wbd with its arguments and outputs; main only wires it to the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	// An endpoint's userinfo (a DOCKER_HOST with a password) stays out
	// of every message.
	fmt.Fprintf(stderr, "wbd: %s\n", reconcile.RedactHost(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || isFlagError(err) {
		fmt.Fprintln(stderr, "Run 'wbd --help' for usage.")
		return exitUsage
	}
	if errors.Is(err, errRolledBack) {
		return exitRolledBack
	}
	return exitFailed
}

// globals are the flags every command shares.
type globals struct {
	file   string
	output outputFlags
}

func newRoot() *cobra.Command {
	cobra.EnableCommandSorting = false // list commands in the order an operator uses them
	g := &globals{}
	root := &cobra.Command{
		Use:   "wbd",
		Short: "Run many instances of the wb-fastr application from one file",
		Long: `wbd keeps every wb-fastr instance on your Docker hosts as instances.yaml says:
one compose project per instance (postgres, redis with its cache on disk,
an optional admin, and the app), rendered from a template and driven through
the Docker Compose library.

The file is found with -f, else $WBD_CONFIG, else ./instances.yaml. It
must be a regular file (or a link to one) of at most ` + fmt.Sprint(spec.MaxFileSize>>20) + ` MiB.

Exit codes: 0 success, 1 an operation failed or the file is invalid,
2 the command line is wrong, 3 a change failed and was rolled back (or is
held because it was): the instance runs its last healthy revision again.`,
		Example: `  # Check the file, then see what one instance becomes
  wbd validate
  wbd render testing

  # Use another file
  wbd -f /etc/wbd/instances.yaml validate`,
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.output.register(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
			return nil // a shell completing a line prints no output of wbd's
		}
		return g.output.resolve(os.Getenv("NO_COLOR") != "")
	}
	root.AddCommand(
		newValidateCmd(g),
		newRenderCmd(g),
		newPlanCmd(g),
		newApplyCmd(g),
		newRollbackCmd(g),
		newHistoryCmd(g),
		newRestartCmd(g),
		newDownCmd(g),
		newPullCmd(g),
		newStatusCmd(g),
		newEventsCmd(g),
		newLogsCmd(g),
		newRunCmd(g),
		newCacheCmd(g),
		newVersionCmd(),
		newEdgeCmd(),
	)
	addFileFlag(root, g)
	setVersionFlag(root)
	strictGroups(root)
	registerCompletions(root, g)
	return root
}

// addFileFlag gives cmd and every command under it -f/--file. It is not a
// persistent flag because `logs -f` follows, as in docker: a persistent -f
// would clash with it (cobra panics), so logs takes --file alone, and the
// root's own -f, read before the command name (TraverseChildren, as docker
// compose does), still works for every command: wbd -f FILE logs -f NAME.
func addFileFlag(cmd *cobra.Command, g *globals) {
	def := defaultFile
	if env := os.Getenv("WBD_CONFIG"); env != "" {
		def = env
	}
	const usage = "the instances file (env WBD_CONFIG)"
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().ShorthandLookup("f") != nil {
			c.Flags().StringVar(&g.file, "file", def, usage)
		} else {
			c.Flags().StringVarP(&g.file, "file", "f", def, usage)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	cmd.TraverseChildren = true
	walk(cmd)
}

// load reads the instances file named by the flags.
func (g *globals) load() (*spec.Config, error) {
	cfg, err := spec.Load(g.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (name the file with -f FILE or WBD_CONFIG)", err)
	}
	return cfg, err
}

// selectInstances resolves NAME... or --all (also written @all) to
// instances in file order.
func selectInstances(cfg *spec.Config, names []string, all bool) ([]*spec.Instance, error) {
	for _, n := range names {
		if n == "@all" {
			all = true
		}
	}
	if all {
		if len(names) > 0 && !(len(names) == 1 && names[0] == "@all") {
			return nil, usagef("give instance names or --all, not both")
		}
		return cfg.Instances, nil
	}
	if len(names) == 0 {
		return nil, usagef("name an instance (%s) or give --all", strings.Join(cfg.Names(), ", "))
	}
	var out []*spec.Instance
	seen := map[string]bool{}
	for _, n := range names {
		in := cfg.Instance(n)
		if in == nil {
			return nil, fmt.Errorf("instance %q is not in %s (it has: %s)", n, cfg.File, strings.Join(cfg.Names(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, in)
		}
	}
	return out, nil
}

func isFlagError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.Contains(msg, "flag needs an argument")
}
