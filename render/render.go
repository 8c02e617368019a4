// Package render turns an instance of instances.yaml into its compose
// project: a Go template is executed, and its output loaded and validated by
// compose-go, so everything that leaves this package is valid Compose.
package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"text/template"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/edge"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
	"github.com/wbd-dev/wbd/templates"
)

// Labels wbd puts on every service and network of a project it loads,
// beside compose's own; lifecycle finds what wbd owns by them. They are
// defined here alone: lifecycle uses these.
const (
	LabelManaged  = "io.wbd.managed"
	LabelInstance = "io.wbd.instance"
)

// Result is one rendered instance.
type Result struct {
	// YAML is the template's output, and the instance's pull list after
	// it (see ExtensionPull): what `wbd render` prints and apply writes to
	// {root}/NAME/compose.yaml. It holds secret file paths, never secrets.
	YAML    []byte
	Project *types.Project
}

// Renderer executes one set of templates.
type Renderer struct {
	tmpl *template.Template
	// where names the template file in messages.
	where string
	// edgeImage is the edge's image; "" for the running binary's.
	edgeImage string
}

// Option tunes a Renderer.
type Option func(*Renderer)

// WithEdgeImage renders ref as the edge's image instead of the image
// of the running binary (see edge.Self): for tests, whose binary changes
// with every build.
func WithEdgeImage(ref string) Option { return func(r *Renderer) { r.edgeImage = ref } }

// New parses the templates in dir, or wbd's embedded default when dir is "".
func New(dir string, opts ...Option) (*Renderer, error) {
	r, err := parse(dir)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

func parse(dir string) (*Renderer, error) {
	t := template.New(templates.Main).Option("missingkey=error").Funcs(funcs)
	if dir == "" {
		t, err := t.ParseFS(templates.FS, "*.tmpl")
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", templates.Main, err)
		}
		return &Renderer{tmpl: t, where: "built-in " + templates.Main}, nil
	}
	where := filepath.Join(dir, templates.Main)
	if _, err := os.Stat(where); err != nil {
		return nil, fmt.Errorf("templates %s: %w", dir, err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, fmt.Errorf("templates %s: %w", dir, err)
	}
	// Each file is read as the instances file is: a FIFO or a device in
	// the directory must not hang or exhaust wbd.
	for _, name := range names {
		text, err := spec.ReadTemplate(name)
		if err != nil {
			return nil, err
		}
		tt := t
		if base := filepath.Base(name); base != t.Name() {
			tt = t.New(base)
		}
		if _, err := tt.Parse(string(text)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	return &Renderer{tmpl: t, where: where}, nil
}

// Render executes the template for in and loads the output with compose-go.
func (r *Renderer) Render(ctx context.Context, in *spec.Instance) (*Result, error) {
	d := NewData(in)
	if in.Edge != nil {
		ref, err := r.edgeRef()
		if err != nil {
			return nil, fmt.Errorf("render %s: edge: %w", in.Name, err)
		}
		d.Edge.Image = ref
	}
	var buf bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&buf, templates.Main, d); err != nil {
		return nil, fmt.Errorf("render %s: %s: %w", in.Name, r.where, err)
	}
	out, err := withPull(buf.Bytes(), in.Pull)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", in.Name, err)
	}
	p, err := Load(ctx, in.Name, in.Dir, out)
	if err != nil {
		return nil, fmt.Errorf("render %s: %s produced invalid compose: %w", in.Name, r.where, err)
	}
	if err := checkEdge(in, p); err != nil {
		return nil, fmt.Errorf("render %s: %s: %w", in.Name, r.where, err)
	}
	return &Result{YAML: out, Project: p}, nil
}

func (r *Renderer) edgeRef() (string, error) {
	if r.edgeImage != "" {
		return r.edgeImage, nil
	}
	x, err := edge.Self()
	if err != nil {
		return "", err
	}
	return x.Ref, nil
}

// Load loads compose YAML as `docker compose config` would, with full
// schema validation, as project name, and sets wbd's ownership labels on
// it (see Own). Interpolation sees no host environment, so a render never
// depends on who runs it. Env files are not read: they are written when
// the instance is prepared, on its Docker host, after the render; lifecycle
// reads them when it hands the project to compose.
func Load(ctx context.Context, name, workDir string, yaml []byte) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  workDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(workDir, "compose.yaml"), Content: yaml}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(name, true)
		o.ResolvePaths = true
		o.SkipResolveEnvironment = true
	})
	if err != nil {
		return nil, err
	}
	Own(p)
	return p, nil
}

// Own sets io.wbd.managed=true and io.wbd.instance=p.Name on every service
// of p and every network p creates (not external ones), whatever the
// template wrote: a template that leaves them out, or names another
// instance, would otherwise leave an instance wbd cannot tell it owns.
func Own(p *types.Project) {
	own := func(l types.Labels) types.Labels {
		if l == nil {
			l = types.Labels{}
		}
		l[LabelManaged], l[LabelInstance] = "true", p.Name
		return l
	}
	for name, s := range p.Services {
		s.Labels = own(s.Labels)
		p.Services[name] = s
	}
	for name, n := range p.Networks {
		if !n.External {
			n.Labels = own(n.Labels)
			p.Networks[name] = n
		}
	}
}

// Data is what a template sees.
type Data struct {
	Name string
	// Dir is the instance directory, {root}/NAME.
	Dir   string
	Paths struct {
		Databases, Sandbox, Exports, Assets, Redis string
	}
	// Secrets are the paths of generated secret files, never their content.
	// AppEnv holds the values of SecretEnv, as an env file for the app.
	Secrets struct {
		PostgresPassword, AdminPassword, AppEnv string
	}
	Images      spec.Images
	Port        int
	AppPort     int
	Admin       *spec.Admin
	Env         []EnvVar // sorted by name
	Healthcheck []string
	// SecretEnv are the app variables whose values wbd writes into
	// Secrets.AppEnv, sorted by name: a template names the file, never a
	// value.
	SecretEnv []SecretVar
	Labels    struct{ Managed, Instance string }
	// Subnet is the instance network's subnet (package subnets); ""
	// leaves it to Docker.
	Subnet string
	// Edge is nil when the app publishes Port itself.
	Edge *EdgeData
}

// EdgeData is the template's view of the edge in front of the app.
type EdgeData struct {
	Image string // made by wbd from its own binary, never pulled
	Port  int    // the edge's port in its container, where Port maps to
	// Target is the app on the instance's network: its container name and
	// AppPort.
	Target string
	// Drain is how long requests in flight on an app container the edge
	// leaves get, as a duration: "30s".
	Drain string
}

// EnvVar is one extra app variable.
type EnvVar struct{ Name, Value string }

// SecretVar is one variable of secret_env: its name and the generated
// secret it carries (spec.SecretPostgresPassword, spec.SecretPostgresURL).
type SecretVar struct{ Name, Secret string }

// NewData gathers the template's view of in.
func NewData(in *spec.Instance) *Data {
	d := &Data{
		Name: in.Name, Dir: in.Dir, Images: in.Images, Port: in.Port, AppPort: in.AppPort,
		Admin: in.Admin, Healthcheck: in.Healthcheck, Subnet: in.Subnet,
	}
	d.Paths.Databases, d.Paths.Sandbox = in.Path("databases"), in.Path("sandbox")
	d.Paths.Exports, d.Paths.Assets, d.Paths.Redis = in.Path("exports"), in.Path("assets"), in.Path("redis")
	d.Secrets.PostgresPassword = instdir.SecretPath(in, instdir.PostgresPassword)
	d.Secrets.AdminPassword = instdir.SecretPath(in, instdir.AdminPassword)
	d.Secrets.AppEnv = instdir.SecretEnvPath(in)
	d.Labels.Managed, d.Labels.Instance = LabelManaged, LabelInstance
	if in.Edge != nil {
		d.Edge = &EdgeData{Port: edge.ListenPort, Target: fmt.Sprintf("%s:%d", in.Name, in.AppPort), Drain: in.Edge.Drain.String()}
	}
	for k, v := range in.Env {
		d.Env = append(d.Env, EnvVar{k, v})
	}
	sort.Slice(d.Env, func(i, j int) bool { return d.Env[i].Name < d.Env[j].Name })
	for k, v := range in.SecretEnv {
		d.SecretEnv = append(d.SecretEnv, SecretVar{k, v})
	}
	sort.Slice(d.SecretEnv, func(i, j int) bool { return d.SecretEnv[i].Name < d.SecretEnv[j].Name })
	return d
}
