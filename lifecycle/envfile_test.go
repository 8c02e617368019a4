package lifecycle

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/wbd-dev/wbd/instdir"
	"github.com/wbd-dev/wbd/render"
	"github.com/wbd-dev/wbd/spec"
)

func readMap(files map[string]string) readFunc {
	return func(_ context.Context, path string) ([]byte, error) {
		data, ok := files[path]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return []byte(data), nil
	}
}

func str(s string) *string { return &s }

// TestWithEnvFiles: env files are merged as docker compose up merges them,
// the service's own environment winning, and no value of a file is ever in
// an error.
func TestWithEnvFiles(t *testing.T) {
	project := func(envFiles ...types.EnvFile) *types.Project {
		return &types.Project{Name: "testing", WorkingDir: "/srv/wbd/testing", Services: types.Services{
			"app": {Name: "app", ContainerSpec: types.ContainerSpec{Image: "app:1",
				Environment: types.MappingWithEquals{"PORT": str("8000"), "PGPASSWORD": str("from-environment")},
				EnvFiles:    envFiles}},
			"redis": {Name: "redis", ContainerSpec: types.ContainerSpec{Image: "redis:1"}},
		}}
	}
	const envFile, other = "/srv/wbd/testing/secrets/app.env", "/srv/wbd/testing/other.env"
	tests := []struct {
		name        string
		envFiles    []types.EnvFile
		files       map[string]string
		wantEnv     map[string]string
		wantMissing []missingEnvFile
		wantErr     string
	}{
		{"merged, environment wins", []types.EnvFile{{Path: envFile, Required: true}},
			map[string]string{envFile: "PGPASSWORD=\"from-file\"\nDATABASE_URL=\"postgres://postgres:pw@testing-postgres:5432/postgres\"\nLITERAL=\"a\\$b ${PORT}\"\n"},
			map[string]string{"PORT": "8000", "PGPASSWORD": "from-environment",
				"DATABASE_URL": "postgres://postgres:pw@testing-postgres:5432/postgres", "LITERAL": "a$b 8000"}, nil, ""},
		{"later file wins over earlier", []types.EnvFile{{Path: envFile, Required: true}, {Path: other, Required: true}},
			map[string]string{envFile: "A=1\nB=1\n", other: "B=2\n"},
			map[string]string{"PORT": "8000", "PGPASSWORD": "from-environment", "A": "1", "B": "2"}, nil, ""},
		{"required and missing", []types.EnvFile{{Path: envFile, Required: true}}, nil,
			map[string]string{"PORT": "8000", "PGPASSWORD": "from-environment"}, []missingEnvFile{{"app", envFile}}, ""},
		{"optional and missing", []types.EnvFile{{Path: envFile}}, nil,
			map[string]string{"PORT": "8000", "PGPASSWORD": "from-environment"}, nil, ""},
		{"unterminated quote", []types.EnvFile{{Path: envFile, Required: true}},
			map[string]string{envFile: "A=1\nSECRET=\"hunter2-value"}, nil, nil,
			"service app: env file " + envFile + ": line 2: not a valid env file line"},
		{"bad name", []types.EnvFile{{Path: envFile, Required: true}},
			map[string]string{envFile: "hunter2 value=x\n"}, nil, nil,
			"service app: env file " + envFile + ": line 1: not a valid env file line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project(tt.envFiles...)
			missing, err := withEnvFiles(context.Background(), p, readMap(tt.files))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err=%v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q holds the file's text", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) != len(tt.wantMissing) || (len(missing) > 0 && missing[0] != tt.wantMissing[0]) {
				t.Errorf("missing=%v, want %v", missing, tt.wantMissing)
			}
			app := p.Services["app"]
			got := app.Environment.ToMapping()
			if len(got) != len(tt.wantEnv) {
				t.Errorf("environment=%v, want %v", got, tt.wantEnv)
			}
			for k, v := range tt.wantEnv {
				if got[k] != v {
					t.Errorf("environment %s=%q, want %q", k, got[k], v)
				}
			}
			if app.EnvFiles != nil {
				t.Errorf("env_file=%v after merging, want none: docker compose up discards it too", app.EnvFiles)
			}
		})
	}
	if err := missingError([]missingEnvFile{{"app", envFile}}); !errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "service app: env file "+envFile+": file does not exist" {
		t.Errorf("missingError=%q, want it to name service and file and wrap fs.ErrNotExist", err)
	}
}

// TestDesiredHashIsDockerComposes: the config hash wbd computes for an app
// with secret_env is the one docker compose up computes from the written
// compose.yaml and the env file instdir writes, so that neither recreates
// what the other created.
func TestDesiredHashIsDockerComposes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	in := &spec.Instance{Name: "testing", Dir: filepath.Join(root, "testing"), Port: 8001, AppPort: 8000,
		Images:    spec.Images{App: "wbd.local/app:1", Postgres: "pg:1", Redis: "redis:1"},
		Env:       map[string]string{"GREETING": "cost $5"},
		SecretEnv: map[string]string{"PGPASSWORD": spec.SecretPostgresPassword, "DATABASE_URL": spec.SecretPostgresURL}}
	r, err := render.New("")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Render(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := instdir.SecretEnv(in, []byte(`pa$$"w\rd`))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(in.Dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(instdir.SecretEnvPath(in), data, 0o444); err != nil {
		t.Fatal(err)
	}

	ours, err := desiredFor(res.Project, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withEnvFiles(ctx, ours, func(_ context.Context, path string) ([]byte, error) { return os.ReadFile(path) }); err != nil {
		t.Fatal(err)
	}

	// What `docker compose -f compose.yaml up` loads, with no variables
	// set in the operator's shell.
	details := types.ConfigDetails{WorkingDir: in.Dir, Environment: types.Mapping{},
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(in.Dir, "compose.yaml"), Content: res.YAML}}}
	loaded, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(in.Name, true)
		o.ResolvePaths = true
		o.SkipResolveEnvironment = true
	})
	if err != nil {
		t.Fatal(err)
	}
	if loaded, err = loaded.WithServicesEnvironmentResolved(true); err != nil {
		t.Fatal(err)
	}
	theirs, err := desiredFor(loaded, "1.41")
	if err != nil {
		t.Fatal(err)
	}

	if got := ours.Services["app"].Environment["PGPASSWORD"]; got == nil || *got != `pa$$"w\rd` {
		t.Errorf("PGPASSWORD=%v, want the password exactly", got)
	}
	for name := range theirs.Services {
		want, err := compose.ServiceHash(theirs.Services[name])
		if err != nil {
			t.Fatal(err)
		}
		got, err := compose.ServiceHash(ours.Services[name])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: config hash %s, docker compose's %s", name, got, want)
		}
	}
}
