package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

func newPullCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pull [NAME...]",
		Short: "Pull the images instances use, each once per host",
		Long: `Pull fetches every image the named instances use (all instances when none
is named) on each instance's Docker host, so that a later apply or restart
does not wait on the registry: their services' images, and the images
their pull lists name, which no container runs. An image several instances
share is pulled once per host. The admin image is pulled only for
instances that run admin.`,
		Example: `  wbd pull
  wbd pull testing`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			ins := cfg.Instances
			if len(args) > 0 {
				if ins, err = selectInstances(cfg, args, false); err != nil {
					return err
				}
			}
			byHost := map[string][]string{}
			var hosts []string
			for _, in := range ins {
				host := reconcile.HostKey(in.Host)
				if _, ok := byHost[host]; !ok {
					hosts = append(hosts, host)
				}
				byHost[host] = append(byHost[host], imagesOf(in)...)
			}
			es := g.progressEngines(cmd.Context(), cmd.ErrOrStderr(), "pull")
			defer es.close()
			var (
				errs []error
				done []string
			)
			for _, host := range hosts {
				images := slices.Compact(slices.Sorted(slices.Values(byHost[host])))
				eng, err := es.get(cmd.Context(), host)
				if err == nil {
					err = eng.Pull(cmd.Context(), images, nil)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				done = append(done, fmt.Sprintf("%s: pulled %d images", hostName(host), len(images)))
			}
			es.endProgress()
			for _, line := range done {
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			return errors.Join(errs...)
		},
	}
	return cmd
}

// imagesOf is every image in uses: its services' and its pull list.
func imagesOf(in *spec.Instance) []string {
	images := []string{in.Images.App, in.Images.Postgres, in.Images.Redis}
	if in.Admin != nil {
		images = append(images, in.Images.Admin)
	}
	return append(images, in.Pull...)
}

// hostName is host in a sentence: "local engine: pulled 3 images".
func hostName(host string) string {
	if host == "" {
		return spec.LocalName + " engine"
	}
	return spec.HostName(host)
}
