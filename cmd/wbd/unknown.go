package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// strictGroups makes every command that only groups others (wbd itself,
// cache, completion) refuse an unknown subcommand with the usage code, as
// it refuses an unknown flag, and help refuse an unknown topic: cobra
// prints the group's help and exits 0 for both, so a typo in a script
// (`wbd cache flsh x`) would pass for a success. Without arguments a group
// prints its help, as docker and kubectl do.
func strictGroups(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch {
		case c.Name() == "help" && c.HasParent():
			c.Run = nil
			c.RunE = helpTopic
		case c.HasSubCommands() && c.Run == nil && c.RunE == nil:
			// With TraverseChildren cobra no longer rejects an unknown
			// command itself: the group gets it as an argument.
			c.Args = cobra.ArbitraryArgs
			c.RunE = groupRun
			c.SuggestionsMinimumDistance = 2
		}
	}
	walk(root)
}

func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

// helpTopic is `wbd help [COMMAND...]`.
func helpTopic(cmd *cobra.Command, args []string) error {
	target, rest, err := cmd.Root().Find(args)
	if err != nil || target == nil {
		return usagef("unknown help topic %q", strings.Join(args, " "))
	}
	if len(rest) > 0 {
		return unknownCommand(target, rest[0])
	}
	return target.Help()
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s", msg)
}
