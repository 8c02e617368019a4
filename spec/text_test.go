package spec

import (
	"reflect"
	"testing"
)

// TestExactText holds that every name and string value is the text the
// file writes, whatever type YAML would read it as.
func TestExactText(t *testing.T) {
	const file = `version: 1
root: /srv/wbd
templates: 010
instances:
  2024:
    port: 8001
    host: "ssh://ops@box"
    images: {app: 2024, postgres: "postgres:17.4"}
    admin: {port: 5051, email: 1e3@example.org}
    env:
      ZIP: 010
      BOOL: true
      SCI: 1e3
      HEX: 0x10
      OCT: 0o17
      TILDE: "~"
      QNULL: 'null'
      NULL: x
      "TRUE": y
      EMPTY: ~
      NONE: null
      BLANK:
      DATE: 2024-01-02
      FLOAT: 1.50
      NEL: "a\Nb"
      LSPS: "a\Lb\Pc"
      TAB: "a\tb"
    healthcheck: [/app, 010, true, "~", 1e3, 0x10]
  true:
    port: 8002
    images: {app: x}
  "null":
    port: 8003
    images: {app: x}
  0x10:
    port: 8004
    images: {app: x}
  "007":
    port: 8005
    images: {app: x}
`
	cfg, err := ParseFile("/etc/wbd/instances.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instance("2024")
	tests := []struct {
		name      string
		got, want any
	}{
		{"names", cfg.Names(), []string{"2024", "true", "null", "0x10", "007"}},
		{"dirs", []string{in.Dir, cfg.Instance("0x10").Dir}, []string{"/srv/wbd/2024", "/srv/wbd/0x10"}},
		{"templates", cfg.Templates, "/etc/wbd/010"},
		{"image", in.Images.App, "2024"},
		{"email", in.Admin.Email, "1e3@example.org"},
		{"env", in.Env, map[string]string{
			"ZIP": "010", "BOOL": "true", "SCI": "1e3", "HEX": "0x10", "OCT": "0o17",
			"TILDE": "~", "QNULL": "null", "NULL": "x", "TRUE": "y",
			"EMPTY": "", "NONE": "", "BLANK": "",
			"DATE": "2024-01-02", "FLOAT": "1.50",
			"NEL": "a\u0085b", "LSPS": "a\u2028b\u2029c", "TAB": "a\tb",
		}},
		{"healthcheck", in.Healthcheck, []string{"/app", "010", "true", "~", "1e3", "0x10"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s=%#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// TestCharacters holds that a character that cannot reach a container as
// written is an error at its position, not a value changed on the way.
func TestCharacters(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 1\n    images: {app: x}\n"
	const nel = "contains U+0085 (NEL), which YAML reads as a line break; to mean the character, write it as \\N inside double quotes"
	tests := []struct {
		name string
		file string
		want string
	}{
		{"raw NEL quoted", head + "    env: {A: \"a\u0085b\"}\n", "x.yaml:7:16: " + nel},
		{"raw NEL plain", head + "    env: {A: a\u0085b}\n", "x.yaml:7:15: " + nel},
		{"raw NEL in root", "version: 1\nroot: \"/srv/w\u0085bd\"\ninstances: {}\n", "x.yaml:2:14: " + nel},
		{"raw NEL in a comment", head + "    # a\u0085b\n", "x.yaml:7:8: " + nel},
		{"raw LS", head + "    env: {A: \"a\u2028b\"}\n", "x.yaml:7:16: contains U+2028 (LINE SEPARATOR), which YAML reads as a line break; to mean the character, write it as \\L inside double quotes"},
		{"raw PS", head + "    env: {A: \"a\u2029b\"}\n", "x.yaml:7:16: contains U+2029 (PARAGRAPH SEPARATOR), which YAML reads as a line break; to mean the character, write it as \\P inside double quotes"},
		{"raw FFFE", head + "    env: {A: \"a\ufffeb\"}\n", "x.yaml:7:16: contains U+FFFE, which YAML cannot carry"},
		{"raw NUL", head + "    env: {A: \"a\x00b\"}\n", "x.yaml:7:16: contains U+0000, which no environment variable, argument or path can carry"},
		{"raw control", head + "    env: {A: \"a\x01b\"}\n", "x.yaml:7:16: contains U+0001, a control character YAML does not allow as written; to mean it, write it as \\u0001 inside double quotes"},
		{"raw DEL", head + "    env: {A: \"a\x7fb\"}\n", "x.yaml:7:16: contains U+007F, a control character YAML does not allow as written; to mean it, write it as \\u007F inside double quotes"},
		{"not UTF-8", head + "    env: {A: \"a\xffb\"}\n", "x.yaml:7:16: is not UTF-8 here (byte 0xFF); save the file as UTF-8"},
		{"surrogate bytes", head + "    env: {A: \"a\xed\xa0\x80b\"}\n", "x.yaml:7:16: is not UTF-8 here (byte 0xED); save the file as UTF-8"},
		{"escaped FFFE in env", head + "    env: {A: \"a\\uFFFEb\"}\n", "x.yaml:7:14: instances.aa.env.A: contains U+FFFE, which YAML cannot carry"},
		{"escaped FFFF in image", "version: 1\nroot: /srv/wbd\ninstances:\n  aa: {port: 1, images: {app: \"x\\uFFFF\"}}\n", "x.yaml:4:31: instances.aa.images.app: contains U+FFFF, which YAML cannot carry"},
		{"escaped NUL in healthcheck", head + "    healthcheck: [/app, \"a\\0\"]\n", "x.yaml:7:25: instances.aa.healthcheck[1]: contains U+0000, which no environment variable, argument or path can carry"},
		{"escaped NUL in root", "version: 1\nroot: \"/srv/\\0\"\ninstances: {}\n", "x.yaml:2:7: root: contains U+0000, which no environment variable, argument or path can carry"},
		{"escaped surrogate", head + "    env: {A: \"\\uD800\"}\n", "x.yaml:7:1: found invalid Unicode character escape code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}
