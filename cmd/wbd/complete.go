package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/revision"
	"github.com/wbd-dev/wbd/spec"
)

// Shell completion (wbd completion bash|zsh|fish|powershell) completes what
// the command line means, from the instances file it names (-f, or
// WBD_CONFIG, or ./instances.yaml): instance names, an instance's
// services, a revision for rollback --to, and the values of flags that
// take one of a few. A file that cannot be read completes nothing.

// instanceArgs are the commands whose arguments are instance names: as
// many as they take (0: any number), names already given left out.
var instanceArgs = map[string]int{
	"render": 0, "plan": 0, "apply": 0, "restart": 0, "down": 0, "pull": 0, "status": 0,
	"rollback": 1, "history": 1, "logs": 1, "flush": 1, "stats": 1, "events": 1,
}

// noArgs are the commands that take no argument: completing one offers
// nothing, not the shell's file names.
var noArgs = []string{"validate", "run", "version"}

// enumFlags are the flags that take one of a few values, by name.
var enumFlags = map[string][]string{
	"log-format": {"auto", "text", "json", "journal"},
	"log-level":  {"debug", "info", "warn", "error"},
}

// registerCompletions gives every command of root its completions.
func registerCompletions(root *cobra.Command, g *globals) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if n, ok := instanceArgs[c.Name()]; ok && c.ValidArgsFunction == nil && c.HasParent() {
			c.ValidArgsFunction = g.completeInstances(n)
		}
		if slices.Contains(noArgs, c.Name()) && c.HasParent() {
			c.ValidArgsFunction = cobra.NoFileCompletions
		}
		_ = c.MarkFlagFilename("file", "yaml", "yml")
		if c.Flags().Lookup("output") != nil {
			_ = c.MarkFlagDirname("output")
		}
		for name, values := range enumFlags {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
	}
	walk(root)
	if logs, _, err := root.Find([]string{"logs"}); err == nil {
		logs.ValidArgsFunction = g.completeLogs
	}
	if rb, _, err := root.Find([]string{"rollback"}); err == nil {
		_ = rb.RegisterFlagCompletionFunc("to", g.completeRevisions)
	}
}

// completeInstances completes the names of the file's instances, at most
// max arguments (0: any number), leaving out those already given.
func (g *globals) completeInstances(max int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg, err := g.load()
		if err != nil {
			return cobra.AppendActiveHelp(nil, "cannot read the instances file: "+err.Error()), cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, in := range cfg.Instances {
			if !slices.Contains(args, in.Name) {
				out = append(out, cobra.CompletionWithDesc(in.Name, describe(in)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// describe is an instance's description in a completion list.
func describe(in *spec.Instance) string {
	return fmt.Sprintf("port %d on %s, app %s", in.Port, hostName(in.Host), in.Images.App)
}

// completeLogs completes logs NAME [SERVICE]: the service of an instance
// as its template renders it, in the order they start.
func (g *globals) completeLogs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) != 1 {
		return g.completeInstances(1)(cmd, args, toComplete)
	}
	cfg, in := g.named(args[0])
	if in == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	r, err := render.New(cfg.Templates)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	res, err := r.Render(completionContext(cmd), in)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range startOrder(res.Project.ServiceNames()) {
		svc := res.Project.Services[name]
		out = append(out, cobra.CompletionWithDesc(name, "container "+svc.ContainerName+", "+svc.Image))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// startOrder sorts the template's services as an instance starts them:
// postgres, redis, admin, app, then any other by name.
func startOrder(names []string) []string {
	rank := func(s string) int {
		if i := slices.Index([]string{"postgres", "redis", "admin", "app"}, s); i >= 0 {
			return i
		}
		return 4
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return names
}

// completeRevisions completes rollback NAME --to REV with the instance's
// revisions, newest first, each with its verdict and what it changed.
func (g *globals) completeRevisions(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) != 1 {
		return cobra.AppendActiveHelp(nil, "name the instance first"), cobra.ShellCompDirectiveNoFileComp
	}
	_, in := g.named(args[0])
	if in == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	h, _ := revision.Open(in.Dir).Load()
	var out []cobra.Completion
	for _, r := range h {
		desc := fmt.Sprintf("%s %s, %s", r.Time.Local().Format("2006-01-02 15:04"), r.Verdict, firstLine(r.Changes))
		out = append(out, cobra.CompletionWithDesc(strconv.Itoa(r.Number), strings.TrimSuffix(desc, ", ")))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// named is the file and its instance name, for a completion: nil when
// either cannot be had.
func (g *globals) named(name string) (*spec.Config, *spec.Instance) {
	cfg, err := g.load()
	if err != nil {
		return nil, nil
	}
	return cfg, cfg.Instance(name)
}

// completionContext is the context completion runs under: cobra gives
// __complete's command none unless the root was executed with one.
func completionContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
