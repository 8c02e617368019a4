package spec

import (
	"errors"
	"reflect"
	"testing"
)

// TestFieldErrors gives one input per rule and the whole error it gives.
func TestFieldErrors(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n"
	const example = `e.g. [/app, healthcheck] or [/bin/sh, -c, "curl -fs http://localhost:8000/health"]`
	const system = " is a system directory; wbd keeps a directory per instance under root, so give it one of its own, such as /srv/wbd"
	tests := []struct {
		name string
		file string
		want string
		is   error
	}{
		// A healthcheck that can never pass.
		{"healthcheck empty string", head + "    healthcheck: [\"\"]\n", "x.yaml:7:19: instances.aa.healthcheck[0]: must name the program to run, got an empty value; give the command itself, " + example, ErrType},
		{"healthcheck empty first", head + "    healthcheck: [\" \", /app]\n", "x.yaml:7:19: instances.aa.healthcheck[0]: must name the program to run, got an empty value; give the command itself, " + example, ErrType},
		{"healthcheck null first", head + "    healthcheck: [~, /app]\n", "x.yaml:7:19: instances.aa.healthcheck[0]: must name the program to run, got an empty value; give the command itself, " + example, ErrType},
		{"healthcheck CMD", head + "    healthcheck: [CMD, /app, healthcheck]\n", "x.yaml:7:19: instances.aa.healthcheck[0]: CMD is compose's own keyword and wbd adds CMD itself; give the command itself, " + example, ErrType},
		{"healthcheck CMD-SHELL", head + "    healthcheck: [CMD-SHELL, \"curl -f localhost\"]\n", "x.yaml:7:19: instances.aa.healthcheck[0]: CMD-SHELL is compose's own keyword and wbd adds CMD itself; give the command itself, " + example, ErrType},
		{"healthcheck NONE", "version: 1\nroot: /srv/wbd\ndefaults:\n  healthcheck: [NONE]\ninstances: {}\n", "x.yaml:4:17: defaults.healthcheck[0]: NONE is compose's own keyword and wbd adds CMD itself; give the command itself, " + example, ErrType},
		{"healthcheck empty list", head + "    healthcheck: []\n", "x.yaml:7:18: instances.aa.healthcheck: must name a command, " + example, ErrRequired},

		// Secrets stay out of the file.
		{"PGPASSWORD", head + "    env: {PGPASSWORD: hunter2}\n", "x.yaml:7:11: instances.aa.env.PGPASSWORD: PGPASSWORD is a secret, and secrets never belong in instances.yaml: use secret_env: {PGPASSWORD: postgres_password}, filled from the password wbd generates", ErrSecret},
		{"PGPASSWORD empty", head + "    env: {PGPASSWORD: \"\"}\n", "x.yaml:7:11: instances.aa.env.PGPASSWORD: PGPASSWORD is a secret, and secrets never belong in instances.yaml: use secret_env: {PGPASSWORD: postgres_password}, filled from the password wbd generates", ErrSecret},
		{"DATABASE_URL with password", head + "    env: {DATABASE_URL: \"postgres://app:hunter2@db/app\"}\n", "x.yaml:7:25: instances.aa.env.DATABASE_URL: is a URL with a password, and secrets never belong in instances.yaml: use secret_env: {DATABASE_URL: postgres_url} or keep the password out of the file", ErrSecret},
		{"any URL with password", "version: 1\nroot: /srv/wbd\ndefaults:\n  env: {MAIL: \"smtp://u:p@mail:25\"}\ninstances: {}\n", "x.yaml:4:15: defaults.env.MAIL: is a URL with a password, and secrets never belong in instances.yaml: use secret_env: {MAIL: postgres_url} or keep the password out of the file", ErrSecret},
		{"PGADMIN_DEFAULT_PASSWORD", head + "    env: {PGADMIN_DEFAULT_PASSWORD: x}\n", "x.yaml:7:11: instances.aa.env.PGADMIN_DEFAULT_PASSWORD: PGADMIN_DEFAULT_PASSWORD is set by wbd: wbd generates pgAdmin's password into NAME/secrets/admin-password", ErrEnv},
		{"PGADMIN_DEFAULT_PASSWORD_FILE", head + "    env: {PGADMIN_DEFAULT_PASSWORD_FILE: /x}\n", "x.yaml:7:11: instances.aa.env.PGADMIN_DEFAULT_PASSWORD_FILE: PGADMIN_DEFAULT_PASSWORD_FILE is set by wbd: wbd generates pgAdmin's password into NAME/secrets/admin-password", ErrEnv},
		{"PGADMIN_DEFAULT_EMAIL", head + "    env: {PGADMIN_DEFAULT_EMAIL: ops@example.org}\n", "x.yaml:7:11: instances.aa.env.PGADMIN_DEFAULT_EMAIL: PGADMIN_DEFAULT_EMAIL is set by wbd: it is pgAdmin's login, set admin.email instead", ErrEnv},

		// secret_env names generated secrets only.
		{"secret_env unknown", head + "    secret_env: {DB_PASS: hunter2}\n", "x.yaml:7:27: instances.aa.secret_env.DB_PASS: unknown secret \"hunter2\": wbd generates postgres_password, postgres_url", ErrSecret},
		{"secret_env not a string", head + "    secret_env: {DB_PASS: [postgres_url]}\n", "x.yaml:7:27: instances.aa.secret_env.DB_PASS: must be a string, got a list", ErrType},
		{"secret_env null", head + "    secret_env: {DB_PASS: ~}\n", "x.yaml:7:27: instances.aa.secret_env.DB_PASS: unknown secret \"\": wbd generates postgres_password, postgres_url", ErrSecret},
		{"secret_env bad name", head + "    secret_env: {DB-URL: postgres_url}\n", "x.yaml:7:18: instances.aa.secret_env.DB-URL: invalid variable name \"DB-URL\": use letters, digits and '_', not starting with a digit", ErrEnv},
		{"secret_env reserved", head + "    secret_env: {PGHOST: postgres_url}\n", "x.yaml:7:18: instances.aa.secret_env.PGHOST: PGHOST is set by wbd: it is always NAME-postgres", ErrEnv},
		{"secret_env and env", head + "    env: {DATABASE_URL: \"postgres://db/app\"}\n    secret_env: {DATABASE_URL: postgres_url}\n", "x.yaml:8:18: instances.aa.secret_env.DATABASE_URL: DATABASE_URL is also set under instances.aa.env.DATABASE_URL (line 7); set it in one of them", ErrEnv},
		{"secret_env and defaults env", "version: 1\nroot: /srv/wbd\ndefaults:\n  env: {DB: x}\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n    secret_env: {DB: postgres_url}\n", "x.yaml:9:18: instances.aa.secret_env.DB: DB is also set under defaults.env.DB (line 4); set it in one of them", ErrEnv},
		{"secret_env not a mapping", head + "    secret_env: [PGPASSWORD]\n", "x.yaml:7:17: instances.aa.secret_env: must be a mapping, got a list", ErrType},
		{"unknown field lists secret_env", head + "    secrets: {}\n", "x.yaml:7:5: instances.aa.secrets: unknown field \"secrets\" (known: host, images, port, app_port, admin, env, secret_env, healthcheck, pull, edge)", ErrUnknownField},

		// A pull list holds image references, each once.
		{"not a list", head + "    pull: alpine:3\n", "x.yaml:7:11: instances.aa.pull: must be a list of image references, e.g. [timroberton/comb:wb-hmis-r-linux], got a string", ErrType},
		{"a mapping", head + "    pull: {alpine: 3}\n", "x.yaml:7:11: instances.aa.pull: must be a list of image references, e.g. [timroberton/comb:wb-hmis-r-linux], got a mapping", ErrType},
		{"entry not a string", head + "    pull: [alpine:3, [busybox]]\n", "x.yaml:7:22: instances.aa.pull[1]: must be a string, got a list", ErrType},
		{"invalid reference", head + "    pull:\n      - alpine:3\n      - Comb:Latest\n", "x.yaml:9:9: instances.aa.pull[1]: invalid image reference \"Comb:Latest\": invalid reference format: repository name (library/Comb) must be lowercase", ErrImage},
		{"empty", head + "    pull: [\"\"]\n", "x.yaml:7:12: instances.aa.pull[0]: must be an image reference such as postgres:17.4, got an empty value", ErrImage},
		{"null entry", head + "    pull: [~]\n", "x.yaml:7:12: instances.aa.pull[0]: must be an image reference such as postgres:17.4, got an empty value", ErrImage},
		{"twice", head + "    pull:\n      - alpine:3\n      - alpine:3\n", "x.yaml:9:9: instances.aa.pull[1]: image \"alpine:3\" is listed twice, first at line 8", ErrDuplicate},
		{"in defaults", "version: 1\nroot: /srv/wbd\ndefaults:\n  pull: [\"a b\"]\ninstances: {}\n", "x.yaml:4:10: defaults.pull[0]: invalid image reference \"a b\": invalid reference format", ErrImage},

		// An email is not a switch; a port is.
		{"admin own mapping needs a port", head + "    admin: {email: ops@example.org}\n", "x.yaml:7:12: instances.aa.admin.port: required: the host port published for the admin container", ErrRequired},
		{"admin default email checked", "version: 1\nroot: /srv/wbd\ndefaults:\n  admin: {email: nobody}\ninstances: {}\n", "x.yaml:4:18: defaults.admin.email: must be an email address such as ops@example.org (pgAdmin's login), got \"nobody\"", ErrType},
		{"admin true", head + "    admin: true\n", "x.yaml:7:12: instances.aa.admin: must be {port: N} to run the admin container, or false, got a boolean", ErrType},

		// root is a directory of wbd's own.
		{"root /", "version: 1\nroot: /\ninstances: {}\n", "x.yaml:2:7: root: /" + system, ErrPath},
		{"root /etc", "version: 1\nroot: /etc\ninstances: {}\n", "x.yaml:2:7: root: /etc" + system, ErrPath},
		{"root under /etc", "version: 1\nroot: /etc/wbd\ninstances: {}\n", "x.yaml:2:7: root: /etc/wbd" + system, ErrPath},
		{"root under /proc", "version: 1\nroot: /proc/self/cwd\ninstances: {}\n", "x.yaml:2:7: root: /proc/self/cwd" + system, ErrPath},
		{"root under /usr", "version: 1\nroot: /usr/local/wbd\ninstances: {}\n", "x.yaml:2:7: root: /usr/local/wbd" + system, ErrPath},
		{"root /var", "version: 1\nroot: /var\ninstances: {}\n", "x.yaml:2:7: root: /var" + system, ErrPath},
		{"root /var/lib", "version: 1\nroot: /var/lib\ninstances: {}\n", "x.yaml:2:7: root: /var/lib" + system, ErrPath},
		{"root /run", "version: 1\nroot: /run\ninstances: {}\n", "x.yaml:2:7: root: /run" + system, ErrPath},
		{"root /home", "version: 1\nroot: /home\ninstances: {}\n", "x.yaml:2:7: root: /home" + system, ErrPath},
		{"root /root", "version: 1\nroot: /root\ninstances: {}\n", "x.yaml:2:7: root: /root" + system, ErrPath},
		{"root /var/lib/docker", "version: 1\nroot: /var/lib/docker\ninstances: {}\n", "x.yaml:2:7: root: /var/lib/docker" + system, ErrPath},
		{"root under /var/lib/docker", "version: 1\nroot: /var/lib/docker/volumes\ninstances: {}\n", "x.yaml:2:7: root: /var/lib/docker/volumes" + system, ErrPath},
		{"root /dev/shm", "version: 1\nroot: /dev/shm\ninstances: {}\n", "x.yaml:2:7: root: /dev/shm" + system, ErrPath},
		{"root /sys", "version: 1\nroot: /sys\ninstances: {}\n", "x.yaml:2:7: root: /sys" + system, ErrPath},
		{"root /boot", "version: 1\nroot: /boot\ninstances: {}\n", "x.yaml:2:7: root: /boot" + system, ErrPath},
		{"root /lib64", "version: 1\nroot: /lib64\ninstances: {}\n", "x.yaml:2:7: root: /lib64" + system, ErrPath},
		{"root /sbin", "version: 1\nroot: /sbin\ninstances: {}\n", "x.yaml:2:7: root: /sbin" + system, ErrPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v)=false", tt.is)
			}
		})
	}
}

// TestFieldValues holds what valid files mean.
func TestFieldValues(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\n"
	tests := []struct {
		name string
		file string
		want func(cfg *Config) (got, want any)
	}{
		{"defaults email is no switch", head + "defaults:\n  admin: {email: ops@example.org}\ninstances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8002, images: {app: x}, admin: {port: 5051}}\n",
			func(cfg *Config) (any, any) {
				return []*Admin{cfg.Instance("aa").Admin, cfg.Instance("bb").Admin}, []*Admin{nil, {Port: 5051, Email: "ops@example.org"}}
			}},
		{"defaults port is a switch", head + "defaults:\n  admin: {port: 5050}\ninstances:\n  aa: {port: 8001, images: {app: x}}\n  bb: {port: 8002, host: \"ssh://box\", images: {app: x}, admin: {email: ops@example.org}}\n  cc: {port: 8003, images: {app: x}, admin: false}\n  dd: {port: 8004, images: {app: x}, admin: False}\n",
			func(cfg *Config) (any, any) {
				return []*Admin{cfg.Instance("aa").Admin, cfg.Instance("bb").Admin, cfg.Instance("cc").Admin, cfg.Instance("dd").Admin},
					[]*Admin{{Port: 5050, Email: DefaultAdminEmail}, {Port: 5050, Email: "ops@example.org"}, nil, nil}
			}},
		{"commented-out mappings are none", head + "defaults:\n  env:\n    # TZ: UTC\n  admin:\n    # port: 5050\n  secret_env:\n  images:\n    # app: x\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n    env:\n      # A: b\n    admin:\n      # port: 5051\n    secret_env:\n    healthcheck:\n      # - /app\n",
			func(cfg *Config) (any, any) {
				in := cfg.Instance("aa")
				return []any{in.Env, in.SecretEnv, in.Admin, in.Healthcheck, in.Images.App},
					[]any{map[string]string{}, map[string]string{}, (*Admin)(nil), []string(nil), "x"}
			}},
		{"commented-out admin keeps the default's", head + "defaults:\n  admin: {port: 5050}\n  env: {A: b}\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n    admin:\n    env:\n",
			func(cfg *Config) (any, any) {
				in := cfg.Instance("aa")
				return []any{in.Admin, in.Env}, []any{&Admin{Port: 5050, Email: DefaultAdminEmail}, map[string]string{"A": "b"}}
			}},
		{"secret_env merges key by key", head + "defaults:\n  secret_env: {PGPASSWORD: postgres_password, DATABASE_URL: postgres_url}\ninstances:\n  aa:\n    port: 8001\n    images: {app: x}\n    secret_env: {DATABASE_URL: postgres_password, POSTGRES_PASSWORD: postgres_password}\n  bb: {port: 8002, images: {app: x}}\n",
			func(cfg *Config) (any, any) {
				return []map[string]string{cfg.Instance("aa").SecretEnv, cfg.Instance("bb").SecretEnv}, []map[string]string{
					{"PGPASSWORD": SecretPostgresPassword, "DATABASE_URL": SecretPostgresPassword, "POSTGRES_PASSWORD": SecretPostgresPassword},
					{"PGPASSWORD": SecretPostgresPassword, "DATABASE_URL": SecretPostgresURL},
				}
			}},
		{"secret_env absent is empty", head + "instances:\n  aa: {port: 8001, images: {app: x}}\n",
			func(cfg *Config) (any, any) { return cfg.Instance("aa").SecretEnv, map[string]string{} }},
		{"URLs without a password stay", head + "instances:\n  aa: {port: 8001, images: {app: x}, env: {DATABASE_URL: \"postgres://app@db/app\", SMTP_PASSWORD_FILE: /run/secrets/smtp, NOTE: \"a:b@c\", HOOK: \"https://u:@h/x\"}}\n",
			func(cfg *Config) (any, any) {
				return cfg.Instance("aa").Env, map[string]string{"DATABASE_URL": "postgres://app@db/app", "SMTP_PASSWORD_FILE": "/run/secrets/smtp", "NOTE": "a:b@c", "HOOK": "https://u:@h/x"}
			}},
		{"healthcheck args are free after the first", head + "instances:\n  aa: {port: 8001, images: {app: x}, healthcheck: [/bin/sh, -c, \"\", CMD]}\n",
			func(cfg *Config) (any, any) {
				return cfg.Instance("aa").Healthcheck, []string{"/bin/sh", "-c", "", "CMD"}
			}},
		{"root of its own", "version: 1\nroot: /var/lib/wbd\ninstances:\n  aa: {port: 8001, images: {app: x}}\n",
			func(cfg *Config) (any, any) { return cfg.Instance("aa").Dir, "/var/lib/wbd/aa" }},
		{"root under /tmp", "version: 1\nroot: /tmp/wbd-test\ninstances: {}\n",
			func(cfg *Config) (any, any) { return cfg.Root, "/tmp/wbd-test" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := tt.want(cfg); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}
