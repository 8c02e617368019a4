package spec

import (
	"os"
	"testing"
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
		}
	})
}
