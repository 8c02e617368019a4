package main

import (
	"github.com/spf13/cobra"
)

func newLogsCmd(g *globals) *cobra.Command {
	var (
		follow bool
		tail   string
	)
	cmd := &cobra.Command{
		Use:   "logs NAME [SERVICE]",
		Short: "Print an instance's container logs",
		Long: `Logs prints the logs of one instance's containers, each line prefixed with
its container, or of one service (app, postgres, redis, admin).

Here -f is --follow, as in docker logs: name the file before the command
(wbd -f FILE logs ...) or with --file.`,
		Example: `  wbd logs testing
  wbd logs testing redis --tail 50 -f
  wbd -f /etc/wbd/instances.yaml logs testing app -f`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			ins, err := selectInstances(cfg, args[:1], false)
			if err != nil {
				return err
			}
			service := ""
			if len(args) == 2 {
				service = args[1]
			}
			es := newEngines(cmd.ErrOrStderr())
			es.color = g.output.out.logColor
			defer es.close()
			eng, err := es.get(cmd.Context(), ins[0].Host)
			if err != nil {
				return err
			}
			return eng.Logs(cmd.Context(), ins[0].Name, service, follow, tail, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	cmd.Flags().StringVar(&tail, "tail", "all", "how many lines from the end, or all")
	return cmd
}
