package render

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/spec"
	"go.yaml.in/yaml/v3"
)

// FuzzRenderExact holds render to its promise: whatever instances.yaml
// spec accepts renders, and every value of it reaches the project compose
// gets unchanged: names, images, environment, the healthcheck, the admin's
// email, the paths under root, the labels.
func FuzzRenderExact(f *testing.F) {
	// name, root, env name, env value, healthcheck argument, admin email, app image tag
	f.Add("testing", "/srv/wbd", "TZ", "UTC", "/app", "ops@example.org", "1.42.0")
	f.Add("testing", "/srv/wbd", "URL", "http://localhost:$PORT/health", "curl -fs http://localhost:$PORT/health", "ops@example.org", "1")
	f.Add("2024", "/srv/w$bd", "NULL", "${X} $$ $", "${X}", "o$ps@example.org", "latest")
	f.Add("true", "/srv/a b#c:d\u0085e", "Y", "line1\nline2\u0085\u2028end", "\u0085", "a@b.c", "v1")
	f.Add("0x10", "/srv/wbd", "on", ` lead "quoted" 'single' back\slash trail `, `\"`, "ops@example.org", "1")
	f.Add("1e3", "/srv/$HOME", "no", "# not a comment", "#", "ops@example.org", "1")
	f.Add("null", "/srv/wbd", "TRUE", "true", "2024", "ops@example.org", "2024")
	f.Add("00", "/srv/wbd", "A", "\t\r\x01\x7f\u0080\u009f\ufeff\ufffd\U0010FFFF", " ", "ops@example.org", "1")
	f.Add("a-", "/srv/wbd", "B", "\U0001F600 é ✓", "", "ops@example.org", "1")
	r, err := New("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, root, envName, envValue, arg, email, tag string) {
		doc := map[string]any{
			"version": 1,
			"root":    filepath.Clean("/" + root),
			"instances": map[string]any{name: map[string]any{
				"port":        8001,
				"images":      map[string]any{"app": "wbd.local/app:" + tag},
				"admin":       map[string]any{"port": 5050, "email": email},
				"env":         map[string]any{envName: envValue, "OTHER": arg},
				"healthcheck": []any{"/bin/sh", "-c", arg, envValue},
			}},
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			t.Skip(err)
		}
		cfg, err := spec.Parse("instances.yaml", data)
		if err != nil {
			return
		}
		for _, in := range cfg.Instances {
			res, err := r.Render(context.Background(), in)
			if err != nil {
				t.Fatalf("valid instance does not render: %v\ninstances.yaml:\n%s", err, data)
			}
			checkOwned(t, res.Project, in)
			checkPlan(t, res.Project, in)
			checkExact(t, res, in)
			if t.Failed() {
				t.Fatalf("instances.yaml:\n%s\ncompose.yaml:\n%s", data, res.YAML)
			}
		}
	})
}

// checkExact asserts what checkPlan leaves out: every image, the secret
// files, and the labels as the template wrote them, before Load sets them.
func checkExact(t *testing.T, res *Result, in *spec.Instance) {
	t.Helper()
	p := res.Project
	for svc, image := range map[string]string{"app": in.Images.App, "postgres": in.Images.Postgres, "redis": in.Images.Redis, "admin": in.Images.Admin} {
		if s, ok := p.Services[svc]; ok && s.Image != image {
			t.Errorf("%s image=%q, want %q", svc, s.Image, image)
		}
	}
	secrets := map[string]string{"postgres_password": instdir.SecretPath(in, instdir.PostgresPassword)}
	if in.Admin != nil {
		secrets["admin_password"] = instdir.SecretPath(in, instdir.AdminPassword)
	}
	for name, file := range secrets {
		if got := p.Secrets[name].File; got != file {
			t.Errorf("secret %s file=%q, want %q", name, got, file)
		}
	}
	raw, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  in.Dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(in.Dir, "compose.yaml"), Content: res.YAML}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName(in.Name, true)
		o.SkipResolveEnvironment = true
	})
	if err != nil {
		t.Fatalf("compose-go alone rejects the rendered file: %v", err)
	}
	want := types.Labels{LabelManaged: "true", LabelInstance: in.Name}
	for _, svc := range slices.Sorted(maps.Keys(raw.Services)) {
		if got := raw.Services[svc].Labels; !maps.Equal(got, want) {
			t.Errorf("template's %s labels=%v, want %v", svc, got, want)
		}
	}
	if got := raw.Networks["default"].Labels; !maps.Equal(got, want) {
		t.Errorf("template's network labels=%v, want %v", got, want)
	}
}
