package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/spec"
)

func newRenderCmd(g *globals) *cobra.Command {
	var (
		all    bool
		outDir string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "render NAME...|--all",
		Short: "Print the compose file of instances",
		Long: `Render prints the compose project wbd runs for each named instance: the
template's output, already checked by the compose loader. It holds the paths
of the instance's generated secret files, never the secrets, and it can be
handed to docker compose as it is. It changes nothing.

With several instances the files are printed one after another, each headed
by a "# instance NAME" line; -o DIR writes DIR/NAME/compose.yaml instead.`,
		Example: `  wbd render testing
  wbd render testing | docker compose -f - config
  wbd render --all -o /tmp/rendered
  wbd render testing --json | jq '.services.app.environment'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				ins     []*spec.Instance
				results []*render.Result
			)
			err := interruptible(cmd.Context(), func() error {
				cfg, err := g.load()
				if err != nil {
					return err
				}
				if ins, err = selectInstances(cfg, args, all); err != nil {
					return err
				}
				results, err = renderInstances(cmd.Context(), cfg, ins)
				return err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for i, res := range results {
				name := ins[i].Name
				switch {
				case outDir != "":
					path := filepath.Join(outDir, name, instdir.ComposeFile)
					// Like the instance directories under root: no link
					// below outDir is followed.
					if err := instdir.MkdirAllIn(outDir, filepath.Dir(path), 0o755); err != nil {
						return err
					}
					if err := instdir.WriteFileIn(outDir, path, res.YAML, 0o644); err != nil {
						return err
					}
					fmt.Fprintln(out, path)
				case asJSON:
					b, err := res.Project.MarshalJSON()
					var line bytes.Buffer
					if err == nil {
						err = json.Compact(&line, b)
					}
					if err != nil {
						return fmt.Errorf("render %s: %w", name, err)
					}
					fmt.Fprintf(out, "%s\n", line.Bytes())
				default:
					if len(results) > 1 {
						fmt.Fprintf(out, "# instance %s\n", name)
					}
					out.Write(res.YAML)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every instance in the file (also written @all)")
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "write DIR/NAME/compose.yaml instead of printing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the loaded project as JSON, one line per instance")
	return cmd
}
