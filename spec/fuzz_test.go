package spec

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse holds Parse to its promise: any input gives a Config or an
// ErrorList, never a panic or a hang.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../instances.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("version: 1\nroot: /srv\ninstances:\n  a: {port: 1, images: {app: x}, admin: {port: 2}, env: {A: b}}\n"))
	f.Add([]byte("version: 1\nroot: /srv\ndefaults: &d {port: 1}\ninstances:\n  a: *d\n  b: {<<: *d}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("version: 1\nroot: /srv\ndefaults: {admin: {email: a@b.c}, secret_env: {PGPASSWORD: postgres_password}}\ninstances:\n  2024: {port: 07001, host: \"ssh://u@box:22\", images: {app: x}, env: {A: \"\\N\"}, healthcheck: [CMD]}\n---\nb: 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned cfg=%v err=%v: want exactly one", cfg, err)
		}
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error %T is not an ErrorList", err)
			}
			return
		}
		for _, in := range cfg.Instances {
			if !nameRE.MatchString(in.Name) || in.Port < 1 || in.Images.App == "" {
				t.Fatalf("invalid instance accepted: %+v", in)
			}
			if in.Admin != nil && in.Admin.Port < 1 {
				t.Fatalf("admin on without a port: %+v", in)
			}
			if in.Host != "" {
				if msg := hostProblem(in.Host); msg != "" {
					t.Fatalf("host %q accepted: %s", in.Host, msg)
				}
				if c := CanonicalHost(in.Host); CanonicalHost(c) != c || hostProblem(c) != "" {
					t.Fatalf("CanonicalHost(%q)=%q is not canonical or not valid", in.Host, c)
				}
			}
			for k, v := range in.SecretEnv {
				if v != SecretPostgresPassword && v != SecretPostgresURL || in.Env[k] != "" {
					t.Fatalf("secret_env %s=%q accepted beside env %q", k, v, in.Env[k])
				}
			}
			values := append([]string{in.Host, in.Images.App, cfg.Root}, in.Healthcheck...)
			for _, v := range in.Env {
				values = append(values, v)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\x00\uFFFE\uFFFF") || !utf8.ValidString(v) {
					t.Fatalf("value %q accepted", v)
				}
			}
		}
	})
}
