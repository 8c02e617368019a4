package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

With several instances the output is a YAML stream: one document per
instance, each headed by a "# instance NAME" comment, separated by "---"
lines; -o DIR writes DIR/NAME/compose.yaml instead.`,
		Example: `  wbd render testing
  wbd render testing | docker compose -f - config
  wbd render --all -o /tmp/rendered
  wbd render --all > all.yaml          # a YAML stream: one document per instance
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
					writeDocument(out, i, len(results) > 1, name, res.YAML)
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

// writeDocument prints the i-th rendered file of a YAML stream: from the
// second on, after a "---" line, so that a YAML reader sees one document
// per instance; headed, when several are printed, by its instance's name.
func writeDocument(w io.Writer, i int, several bool, name string, yaml []byte) {
	if i > 0 {
		fmt.Fprintln(w, "---")
	}
	if several {
		fmt.Fprintf(w, "# instance %s\n", name)
	}
	w.Write(yaml)
	if len(yaml) > 0 && yaml[len(yaml)-1] != '\n' {
		fmt.Fprintln(w) // a "---" glued to a last line would not separate
	}
}
