package spec

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	cfg, err := Load("../instances.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Names(), []string{"testing", "nigeria"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Names()=%v, want %v (file order)", got, want)
	}
	testing_, nigeria := cfg.Instance("testing"), cfg.Instance("nigeria")
	if got, want := testing_.Dir, "/srv/wbd/testing"; got != want {
		t.Errorf("testing.Dir=%q, want %q", got, want)
	}
	if testing_.Admin == nil || testing_.Admin.Port != 5051 {
		t.Errorf("testing.Admin=%+v, want port 5051", testing_.Admin)
	}
	if nigeria.Admin != nil {
		t.Errorf("nigeria.Admin=%+v, want nil: admin is off unless set", nigeria.Admin)
	}
	if got, want := nigeria.Images, (Images{App: "timroberton/wb-fastr:1.41.3", Postgres: "postgres:17.4", Redis: "redis:7-alpine", Admin: "dpage/pgadmin4"}); got != want {
		t.Errorf("nigeria.Images=%+v, want %+v", got, want)
	}
	if got, want := testing_.Env, map[string]string{"TZ": "UTC", "LOG_LEVEL": "debug"}; !reflect.DeepEqual(got, want) {
		t.Errorf("testing.Env=%v, want %v (maps merge key by key)", got, want)
	}
}

func TestMerge(t *testing.T) {
	const file = `version: 1
root: /srv/wbd
defaults:
  host: tcp://127.0.0.1:2375
  images: {app: "app:1", redis: "redis:7"}
  admin: {port: 5050}
  env: {A: "1", B: "2"}
instances:
  plain:
    port: 8001
  mailed:
    port: 8003
    admin: {port: 5052, email: ops@example.org}
  custom:
    host: unix:///run/other.sock
    port: 8002
    images: {app: "app:2"}
    admin: false
    env: {B: "3", C: 4}
`
	cfg, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	plain, custom, mailed := cfg.Instance("plain"), cfg.Instance("custom"), cfg.Instance("mailed")
	tests := []struct {
		name      string
		got, want any
	}{
		{"plain.Host", plain.Host, "tcp://127.0.0.1:2375"},
		{"custom.Host", custom.Host, "unix:///run/other.sock"},
		{"plain.Images", plain.Images, Images{App: "app:1", Postgres: DefaultPostgresImage, Redis: "redis:7", Admin: DefaultAdminImage}},
		{"custom.Images", custom.Images, Images{App: "app:2", Postgres: DefaultPostgresImage, Redis: "redis:7", Admin: DefaultAdminImage}},
		{"plain.Admin", plain.Admin, &Admin{Port: 5050, Email: DefaultAdminEmail}},
		{"mailed.Admin", mailed.Admin, &Admin{Port: 5052, Email: "ops@example.org"}},
		{"custom.Admin", custom.Admin, (*Admin)(nil)},
		{"plain.Env", plain.Env, map[string]string{"A": "1", "B": "2"}},
		{"custom.Env", custom.Env, map[string]string{"A": "1", "B": "3", "C": "4"}},
		{"plain.AppPort", plain.AppPort, DefaultAppPort},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s=%#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// TestErrors gives one bad input per case and asserts where the error points.
func TestErrors(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\n"
	tests := []struct {
		name string
		file string
		want []string // "LINE:COL: field" of each error, in order
		is   error
	}{
		{"empty file", "", []string{": file is empty"}, ErrRequired},
		{"syntax", "version: 1\nroot: [\n", []string{":2:1: "}, ErrSyntax},
		{"not a mapping", "- a\n", []string{":1:1: must be a mapping"}, ErrType},
		{"version missing", "root: /srv\ninstances: {}\n", []string{":1:1: version: required"}, ErrRequired},
		{"version wrong", "version: 2\nroot: /srv\ninstances: {}\n", []string{":1:10: version: unsupported version \"2\": this wbd reads version: 1"}, ErrVersion},
		{"root missing", "version: 1\ninstances: {}\n", []string{":1:1: root: required"}, ErrRequired},
		{"root relative", "version: 1\nroot: srv/wbd\ninstances: {}\n", []string{":2:7: root: must be an absolute directory"}, ErrPath},
		{"root not clean", "version: 1\nroot: /srv/../wbd/\ninstances: {}\n", []string{":2:7: root: must be a clean path"}, ErrPath},
		{"instances missing", head, []string{":1:1: instances: required"}, ErrRequired},
		{"unknown top field", head + "instance: {}\ninstances: {}\n", []string{":3:1: instance: unknown field \"instance\""}, ErrUnknownField},
		{"unknown instance field", head + "instances:\n  aa:\n    port: 1\n    imgaes: {app: x}\n", []string{":4:3: instances.aa.images.app: required", ":6:5: instances.aa.imgaes: unknown field"}, ErrUnknownField},
		{"unknown image key", head + "instances:\n  aa:\n    port: 1\n    images: {app: x, pg: y}\n", []string{":6:22: instances.aa.images.pg: unknown field"}, ErrUnknownField},
		{"unknown admin key", head + "instances:\n  aa:\n    port: 1\n    images: {app: x}\n    admin: {prot: 2}\n", []string{":7:12: instances.aa.admin.port: required", ":7:13: instances.aa.admin.prot: unknown field"}, ErrUnknownField},
		{"admin email", head + "instances:\n  aa:\n    port: 1\n    images: {app: x}\n    admin: {port: 2, email: \"Ops <ops@example.org>\"}\n", []string{":7:29: instances.aa.admin.email: must be an email address"}, ErrType},
		{"unknown defaults field", head + "defaults:\n  prot: 1\ninstances: {}\n", []string{":4:3: defaults.prot: unknown field"}, ErrUnknownField},
		{"duplicate key", head + "instances:\n  aa: {port: 1, images: {app: x}}\n  aa: {port: 2, images: {app: x}}\n", []string{":5:3: instances.aa: duplicate key, first set at line 4"}, ErrDuplicate},
		{"name uppercase", head + "instances:\n  Testing: {port: 1, images: {app: x}}\n", []string{":4:3: instances.Testing: invalid instance name"}, ErrName},
		{"name with underscore", head + "instances:\n  my_app: {port: 1, images: {app: x}}\n", []string{":4:3: instances.my_app: invalid instance name"}, ErrName},
		{"name too short", head + "instances:\n  a: {port: 1, images: {app: x}}\n", []string{":4:3: instances.a: invalid instance name"}, ErrName},
		{"name too long", head + "instances:\n  " + strings.Repeat("a", 64) + ": {port: 1, images: {app: x}}\n", []string{":4:3: instances.aaaa"}, ErrName},
		{"name taken by a container", head + "instances:\n  xx: {port: 1, images: {app: x}}\n  xx-redis: {port: 2, images: {app: x}}\n", []string{":5:3: instances.xx-redis: instance name \"xx-redis\" is the container name of instance xx's redis container"}, ErrName},
		{"port zero", head + "instances:\n  aa: {port: 0, images: {app: x}}\n", []string{":4:14: instances.aa.port: must be 1-65535, got 0"}, ErrPort},
		{"port too big", head + "instances:\n  aa: {port: 70000, images: {app: x}}\n", []string{":4:14: instances.aa.port: must be 1-65535, got 70000"}, ErrPort},
		{"port text", head + "instances:\n  aa: {port: http, images: {app: x}}\n", []string{":4:14: instances.aa.port: must be a port number 1-65535, got \"http\""}, ErrPort},
		{"port missing", head + "instances:\n  aa: {images: {app: x}}\n", []string{":4:3: instances.aa.port: required"}, ErrRequired},
		{"admin port range", head + "instances:\n  aa: {port: 1, images: {app: x}, admin: {port: -1}}\n", []string{":4:49: instances.aa.admin.port: must be 1-65535, got -1"}, ErrPort},
		{"app port range", head + "instances:\n  aa: {port: 1, app_port: 0, images: {app: x}}\n", []string{":4:27: instances.aa.app_port: must be 1-65535"}, ErrPort},
		{"same app port", head + "instances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8001, images: {app: x}}\n", []string{":5:14: instances.bb.port: instance bb: port 8001 on unix:///var/run/docker.sock is already published by instance aa (instances.aa.port, line 4)"}, ErrPortConflict},
		{"admin port on app port", head + "instances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8002, images: {app: x}, admin: {port: 8001}}\n", []string{":5:52: instances.bb.admin.port: instance bb: port 8001"}, ErrPortConflict},
		{"port from defaults", head + "defaults: {port: 8000, images: {app: x}}\ninstances:\n  aa: {}\n  bb: {}\n", []string{":3:18: defaults.port: instance bb: port 8000"}, ErrPortConflict},
		{"same engine via /run", head + "instances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8001, host: \"unix:///run/docker.sock\", images: {app: x}}\n", []string{":5:14: instances.bb.port: instance bb: port 8001 on unix:///var/run/docker.sock is already published by instance aa (instances.aa.port, line 4)"}, ErrPortConflict},
		{"same engine trailing slash", head + "instances:\n  aa: {port: 8001, host: \"tcp://h:2375\", images: {app: x}}\n  bb: {port: 8001, host: \"tcp://H:2375/\", images: {app: x}}\n", []string{":5:14: instances.bb.port: instance bb: port 8001 on tcp://h:2375 is already published by instance aa (instances.aa.port, line 4)"}, ErrPortConflict},
		{"same engine ssh port 22", head + "instances:\n  aa: {port: 8001, host: \"ssh://u@box:22\", images: {app: x}}\n  bb: {port: 8001, host: \"ssh://u@box\", images: {app: x}}\n", []string{":5:14: instances.bb.port: instance bb: port 8001 on ssh://u@box is already published by instance aa (instances.aa.port, line 4)"}, ErrPortConflict},
		{"name taken on the same engine", head + "instances:\n  xx: {port: 1, host: \"ssh://u@box:22\", images: {app: x}}\n  xx-redis: {port: 2, host: \"ssh://u@box\", images: {app: x}}\n", []string{":5:3: instances.xx-redis: instance name \"xx-redis\" is the container name of instance xx's redis container"}, ErrName},
		{"same port other host", head + "instances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8001, host: \"ssh://ops@box2\", images: {app: x}}\n", nil, nil},
		{"app image missing", head + "instances:\n  aa: {port: 1}\n", []string{":4:3: instances.aa.images.app: required"}, ErrRequired},
		{"image empty", head + "instances:\n  aa: {port: 1, images: {app: \"\"}}\n", []string{":4:31: instances.aa.images.app: must be an image reference"}, ErrImage},
		{"image malformed", head + "instances:\n  aa: {port: 1, images: {app: x, postgres: \"Postgres:17\"}}\n", []string{":4:44: instances.aa.images.postgres: invalid image reference \"Postgres:17\""}, ErrImage},
		{"image bad tag", head + "instances:\n  aa: {port: 1, images: {app: \"app:1:2\"}}\n", []string{":4:31: instances.aa.images.app: invalid image reference"}, ErrImage},
		{"env name", head + "instances:\n  aa: {port: 1, images: {app: x}, env: {1FOO: x}}\n", []string{":4:41: instances.aa.env.1FOO: invalid variable name"}, ErrEnv},
		{"env name dash", head + "instances:\n  aa: {port: 1, images: {app: x}, env: {FOO-BAR: x}}\n", []string{":4:41: instances.aa.env.FOO-BAR: invalid variable name"}, ErrEnv},
		{"env secret", head + "instances:\n  aa: {port: 1, images: {app: x}, env: {POSTGRES_PASSWORD: hunter2}}\n", []string{":4:41: instances.aa.env.POSTGRES_PASSWORD: POSTGRES_PASSWORD is a secret, and secrets never belong in instances.yaml: use secret_env: {POSTGRES_PASSWORD: postgres_password}"}, ErrSecret},
		{"env reserved", head + "defaults:\n  env: {REDIS_URL: redis://elsewhere}\ninstances: {}\n", []string{":4:9: defaults.env.REDIS_URL: REDIS_URL is set by wbd"}, ErrEnv},
		{"env not scalar", head + "instances:\n  aa: {port: 1, images: {app: x}, env: {A: [1]}}\n", []string{":4:44: instances.aa.env.A: must be a string, got a list"}, ErrType},
		{"host scheme", head + "instances:\n  aa: {port: 1, host: \"box2:2375\", images: {app: x}}\n", []string{":4:23: instances.aa.host: must be a Docker endpoint"}, ErrHost},
		{"healthcheck not list", head + "instances:\n  aa: {port: 1, healthcheck: \"curl x\", images: {app: x}}\n", []string{":4:30: instances.aa.healthcheck: must be a command as a list"}, ErrType},
		{"admin wrong type", head + "instances:\n  aa: {port: 1, admin: 5051, images: {app: x}}\n", []string{":4:24: instances.aa.admin: must be {port: N}"}, ErrType},
		{"merge key", head + "x: &d {port: 1}\ninstances:\n  aa: {<<: *d}\n", []string{":3:1: x: unknown field", ":5:3: instances.aa.port: required", ":5:3: instances.aa.images.app: required", ":5:8: instances.aa.<<: YAML merge keys are not supported"}, ErrUnknownField},
		{"bad default said once", head + "defaults: {images: {app: \"A\"}}\ninstances:\n  aa: {port: 1}\n  bb: {port: 2}\n", []string{":3:26: defaults.images.app: invalid image reference"}, ErrImage},
		{"every error at once", "version: 3\nroot: relative\ninstances:\n  A_: {port: 0, images: {app: \"\"}, env: {\"x y\": 1}}\n", []string{
			":1:10: version:",
			":2:7: root:",
			":4:3: instances.A_:",
			":4:14: instances.A_.port:",
			":4:31: instances.A_.images.app:",
			":4:42: instances.A_.env.x y:",
		}, ErrPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: unexpected error:\n%v", err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error=%v (%T), want an ErrorList", err, err)
			}
			if len(list) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(list), len(tt.want), err)
			}
			for i, want := range tt.want {
				if got := list[i].Error(); !strings.HasPrefix(got, "x.yaml"+want) {
					t.Errorf("error %d:\n got %s\nwant prefix x.yaml%s", i, got, want)
				}
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v)=false; err:\n%v", tt.is, err)
			}
		})
	}
}

func TestParseFileRelativeTemplates(t *testing.T) {
	dir := t.TempDir()
	file := "version: 1\nroot: /srv/wbd\ntemplates: ./tmpl\ninstances: {}\n"
	cfg, err := ParseFile(filepath.Join(dir, "instances.yaml"), []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Templates, filepath.Join(dir, "tmpl"); got != want {
		t.Fatalf("templates=%q, want %q (relative to the file)", got, want)
	}
}
