package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Go       string `json:"go"`
	Compose  string `json:"compose_library"`
	Platform string `json:"platform"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v.Revision = s.Value
		}
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/docker/compose/v5" {
			v.Compose = d.Version
		}
	}
	return v
}

// short is the version as `wbd --version` prints it after the name, and
// `wbd version` on its first line: "v1.2.3 (0123456789ab)".
func (v versionInfo) short() string {
	if v.Revision == "" {
		return v.Version
	}
	return fmt.Sprintf("%s (%.12s)", v.Version, v.Revision)
}

// setVersionFlag gives root --version (and -v), which prints what the
// first line of `wbd version` says, as docker --version does.
func setVersionFlag(root *cobra.Command) {
	root.Version = buildVersion().short()
	root.SetVersionTemplate("wbd {{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print wbd's version (wbd version also names the compose library)")
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print wbd's version and the compose library it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wbd %s\n", v.short())
			if v.Compose != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "compose library %s\n", v.Compose)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", v.Go, v.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
