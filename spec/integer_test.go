package spec

import (
	"errors"
	"testing"
)

// TestDecimal holds every integer of the file to one reading: decimal.
func TestDecimal(t *testing.T) {
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa: {images: {app: x}, "
	const advice = ": write it without leading zeros, 0x, 0o, '_', '+' or a fraction"
	tests := []struct {
		name string
		file string
		want string // the whole error, "" when valid
		port int
	}{
		{"leading zero", head + "port: 07001}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 07001" + advice, 0},
		{"hex", head + "port: 0x1F41}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 0x1F41" + advice, 0},
		{"octal 0o", head + "port: 0o17}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 0o17" + advice, 0},
		{"binary", head + "port: 0b11}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 0b11" + advice, 0},
		{"underscore", head + "port: 1_000}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 1_000" + advice, 0},
		{"plus", head + "port: +8001}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got +8001" + advice, 0},
		{"fraction", head + "port: 8001.0}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 8001.0" + advice, 0},
		{"exponent", head + "port: 8e3}\n", "x.yaml:4:32: instances.aa.port: integers in instances.yaml are decimal, got 8e3" + advice, 0},
		{"app_port", head + "port: 1, app_port: 0x1F40}\n", "x.yaml:4:45: instances.aa.app_port: integers in instances.yaml are decimal, got 0x1F40" + advice, 0},
		{"admin port", head + "port: 1, admin: {port: 05050}}\n", "x.yaml:4:49: instances.aa.admin.port: integers in instances.yaml are decimal, got 05050" + advice, 0},
		{"defaults port", "version: 1\nroot: /srv/wbd\ndefaults: {port: 010}\ninstances: {}\n", "x.yaml:3:18: defaults.port: integers in instances.yaml are decimal, got 010" + advice, 0},
		{"version leading zero", "version: 01\nroot: /srv/wbd\ninstances: {}\n", "x.yaml:1:10: version: integers in instances.yaml are decimal, got 01" + advice + "; this wbd reads version: 1", 0},
		{"version fraction", "version: 1.0\nroot: /srv/wbd\ninstances: {}\n", "x.yaml:1:10: version: integers in instances.yaml are decimal, got 1.0" + advice + "; this wbd reads version: 1", 0},
		{"version hex", "version: 0x1\nroot: /srv/wbd\ninstances: {}\n", "x.yaml:1:10: version: integers in instances.yaml are decimal, got 0x1" + advice + "; this wbd reads version: 1", 0},
		{"infinity", head + "port: .inf}\n", "x.yaml:4:32: instances.aa.port: must be a port number 1-65535, got \".inf\"", 0},
		{"decimal", head + "port: 7001}\n", "", 7001},
		{"zero is decimal", head + "port: 0}\n", "x.yaml:4:32: instances.aa.port: must be 1-65535, got 0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tt.file))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := cfg.Instances[0].Port; got != tt.port {
					t.Fatalf("port=%d, want %d", got, tt.port)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrPort) && !errors.Is(err, ErrVersion) {
				t.Errorf("error unwraps to neither ErrPort nor ErrVersion")
			}
		})
	}
}
