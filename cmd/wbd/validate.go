package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/subnets"
)

func newValidateCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check instances.yaml and render every instance",
		Long: `Validate reads the instances file, reports every problem in it at once as
FILE:LINE:COL: field: message, and renders each instance through its
template and the compose loader, so that a file that validates is one that
apply can run. It changes nothing.`,
		Example: `  wbd validate
  wbd validate -f staging.yaml --json | jq '.errors[]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd, g, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// validateResult is what --json prints.
type validateResult struct {
	File      string          `json:"file"`
	Valid     bool            `json:"valid"`
	Instances []instanceJSON  `json:"instances"`
	Errors    []validateError `json:"errors"`
}

type instanceJSON struct {
	Name      string      `json:"name"`
	Dir       string      `json:"dir"`
	Host      string      `json:"host,omitempty"`
	Port      int         `json:"port"`
	AdminPort int         `json:"admin_port,omitempty"`
	Images    spec.Images `json:"images"`
	Pull      []string    `json:"pull,omitempty"`
}

type validateError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func runValidate(cmd *cobra.Command, g *globals, asJSON bool) error {
	ctx := cmd.Context()
	res := validateResult{File: g.file, Instances: []instanceJSON{}, Errors: []validateError{}}
	var cfg *spec.Config
	err := interruptible(ctx, func() (err error) {
		if cfg, err = g.load(); err == nil {
			err = renderAll(ctx, cfg)
		}
		return err
	})
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		var list spec.ErrorList
		if !errors.As(err, &list) {
			list = spec.ErrorList{{File: g.file, Msg: err.Error()}}
		}
		for _, e := range list {
			res.Errors = append(res.Errors, validateError{e.File, e.Line, e.Col, e.Field, reconcile.RedactHost(e.Msg)})
		}
		if asJSON {
			writeJSON(cmd.OutOrStdout(), res)
		}
		if len(list) > 1 || list[0].Line > 0 {
			return fmt.Errorf("%s is invalid:\n%w", g.file, err)
		}
		return err
	}
	res.Valid = true
	for _, in := range cfg.Instances {
		j := instanceJSON{Name: in.Name, Dir: in.Dir, Host: reconcile.RedactHost(in.Host), Port: in.Port, Images: in.Images, Pull: in.Pull}
		if in.Admin != nil {
			j.AdminPort = in.Admin.Port
		}
		res.Instances = append(res.Instances, j)
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	if len(cfg.Instances) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, no instances\n", g.file)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, %d instances: %s\n", g.file, len(cfg.Instances), strings.Join(cfg.Names(), ", "))
	}
	return nil
}

// writeJSON prints v indented, without HTML escaping: a terminal or jq
// reads "a -> b", not "a -\u003e b".
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// renderAll renders every instance, joining the errors of all of them.
func renderAll(ctx context.Context, cfg *spec.Config) error {
	_, err := renderInstances(ctx, cfg, cfg.Instances)
	return err
}

// renderInstances renders ins with cfg's templates, joining every failure.
// Subnets are those recorded, or what the records leave free (see
// renderOn).
func renderInstances(ctx context.Context, cfg *spec.Config, ins []*spec.Instance) ([]*render.Result, error) {
	return renderOn(ctx, cfg, ins, nil)
}

// renderOn is renderInstances, with the subnets of instances the records
// do not settle chosen against the networks list tells (nil: none).
// Nothing is recorded: the operation that applies an instance records
// its subnet.
func renderOn(ctx context.Context, cfg *spec.Config, ins []*spec.Instance, list subnets.Lister) ([]*render.Result, error) {
	if list == nil {
		list = func(context.Context, *spec.Instance) ([]subnets.Network, bool) { return nil, false }
	}
	if err := subnets.Assign(ctx, cfg, ins, list, subnets.Options{}); err != nil {
		return nil, err
	}
	r, err := render.New(cfg.Templates)
	if err != nil {
		return nil, err
	}
	var out []*render.Result
	var errs []error
	for _, in := range ins {
		res, err := r.Render(ctx, in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}
