package spec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	tests := []struct{ host, want string }{
		{"", "unix:///var/run/docker.sock"},
		{"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
		{"unix:///run/docker.sock", "unix:///var/run/docker.sock"},
		{"unix:///run/user/1000/docker.sock", "unix:///var/run/user/1000/docker.sock"},
		{"UNIX:///var/run//docker.sock/", "unix:///var/run/docker.sock"},
		{"unix:///srv/docker.sock", "unix:///srv/docker.sock"},
		{"tcp://h:2375", "tcp://h:2375"},
		{"TCP://H:2375", "tcp://h:2375"},
		{"tcp://h:2375/", "tcp://h:2375"},
		{"tcp://h", "tcp://h:2375"},
		{"tcp://10.0.0.2:2376", "tcp://10.0.0.2:2376"},
		{"tcp://[::1]:2375", "tcp://[::1]:2375"},
		{"tcp://[::1]", "tcp://[::1]:2375"},
		{"ssh://box", "ssh://box"},
		{"ssh://box:22", "ssh://box"},
		{"ssh://u@box:22", "ssh://u@box"},
		{"ssh://u@Box/", "ssh://u@box"},
		{"ssh://u@box:2222", "ssh://u@box:2222"},
		{"ssh://[::1]:22", "ssh://[::1]"},
		{"ssh://u@box/run/user/1000/docker.sock", "ssh://u@box/run/user/1000/docker.sock"},
		// Credentials never survive, even in a host Parse would refuse.
		{"ssh://u:hunter2@box", "ssh://u@box"},
		{"tcp://u:hunter2@h:99", "tcp://h:99"},
		{"ssh://u:hunter2@box:%zz", "ssh://box:%zz"},
	}
	for _, tt := range tests {
		if got := CanonicalHost(tt.host); got != tt.want {
			t.Errorf("CanonicalHost(%q)=%q, want %q", tt.host, got, tt.want)
		}
	}
}

// TestHostErrors holds that a host validates only when Docker's client can
// dial it as written, and that no message repeats its userinfo.
func TestHostErrors(t *testing.T) {
	tests := []struct{ host, want string }{
		{"ssh://user:hunter2@box", `holds a password, which ssh endpoints may not: log in with a key (ssh-agent, or IdentityFile in ~/.ssh/config) as ssh://USER@HOST, or use a docker context; got "ssh://box"`},
		{"ssh://:hunter2@box:2222", `holds a password, which ssh endpoints may not: log in with a key (ssh-agent, or IdentityFile in ~/.ssh/config) as ssh://USER@HOST, or use a docker context; got "ssh://box:2222"`},
		{"tcp://u:hunter2@h:99", `holds a user or password, which Docker ignores on tcp endpoints: secure a tcp endpoint with TLS (DOCKER_CERT_PATH) or reach the engine over ssh://USER@HOST; got "tcp://h:99"`},
		{"tcp://u:hunter2@h:99999", `holds a user or password, which Docker ignores on tcp endpoints: secure a tcp endpoint with TLS (DOCKER_CERT_PATH) or reach the engine over ssh://USER@HOST; got "tcp://h:99999"`},
		{"ssh://u:hunter2@box:%zz", `must be a Docker endpoint such as unix:///var/run/docker.sock, tcp://10.0.0.2:2376 or ssh://ops@box2, got "ssh://box:%zz"`},
		{"unix://u:hunter2@/var/run/docker.sock", `holds a user or password, which Docker ignores on unix endpoints: secure a tcp endpoint with TLS (DOCKER_CERT_PATH) or reach the engine over ssh://USER@HOST; got "unix:///var/run/docker.sock"`},
		{"tcp://h:99999", `port must be 1-65535, got "tcp://h:99999"`},
		{"tcp://h:0", `port must be 1-65535, got "tcp://h:0"`},
		{"tcp://h:02375", `port must be 1-65535, got "tcp://h:02375"`},
		{"tcp://h:", `port must be 1-65535, got "tcp://h:"`},
		{"ssh://box:ssh", `must be a Docker endpoint such as unix:///var/run/docker.sock, tcp://10.0.0.2:2376 or ssh://ops@box2, got "ssh://box:ssh"`},
		{"tcp://h:2375?tls=1", `must not have a query (?...), which Docker does not read; got "tcp://h:2375?tls=1"`},
		{"ssh://box?", `must not have a query (?...), which Docker does not read; got "ssh://box?"`},
		{"ssh://box#x", `must not have a fragment (#...), which Docker does not read; got "ssh://box#x"`},
		{"unix:///var/run/docker.sock#", `must not have a fragment (#...), which Docker does not read; got "unix:///var/run/docker.sock#"`},
		{"unix://run/docker.sock", `must name the socket by its absolute path, unix:///PATH with three slashes, got "unix://run/docker.sock"`},
		{"unix://relative", `must name the socket by its absolute path, unix:///PATH with three slashes, got "unix://relative"`},
		{"unix:relative", `must name the socket by its absolute path, unix:///PATH with three slashes, got "unix:relative"`},
		{"tcp:h:2375", `must be tcp://HOST, got "tcp:h:2375"`},
		{"unix://", `must name the socket by its absolute path, unix:///PATH with three slashes, got "unix://"`},
		{"tcp://h:2375/x", `must not have a path after the host on tcp endpoints, got "tcp://h:2375/x"`},
		{"tcp://", `names no host, got "tcp://"`},
		{"tcp://:2375", `names no host, got "tcp://:2375"`},
		{"ssh://u@", `names no host, got "ssh://"`},
		{"TCP://h:2375", `write the scheme in lowercase, tcp://, as Docker reads only that; got "TCP://h:2375"`},
		{"http://h:2375", `must be a Docker endpoint such as unix:///var/run/docker.sock, tcp://10.0.0.2:2376 or ssh://ops@box2, got "http://h:2375"`},
		{"box2:2375", `must be a Docker endpoint such as unix:///var/run/docker.sock, tcp://10.0.0.2:2376 or ssh://ops@box2, got "box2:2375"`},
		// What Docker dials as written stays valid.
		{"ssh://user@box", ""},
		{"ssh://user@box:2222", ""},
		{"ssh://box", ""},
		{"ssh://user@box/run/user/1000/docker.sock", ""},
		{"tcp://10.0.0.2:2376", ""},
		{"tcp://h", ""},
		{"tcp://h:2375/", ""},
		{"tcp://[::1]:2375", ""},
		{"unix:///var/run/docker.sock", ""},
		{"unix:///run/docker.sock", ""},
	}
	const head = "version: 1\nroot: /srv/wbd\ninstances:\n  aa:\n    port: 1\n    images: {app: x}\n    host: "
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(head+strconv.Quote(tt.host)+"\n"))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := cfg.Instances[0].Host; got != tt.host {
					t.Fatalf("Host=%q, want %q as written", got, tt.host)
				}
				return
			}
			want := "x.yaml:7:11: instances.aa.host: " + tt.want
			if err == nil || err.Error() != want {
				t.Fatalf("Parse error:\n got %v\nwant %s", err, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the message holds the password: %v", err)
			}
			if !errors.Is(err, ErrHost) {
				t.Errorf("errors.Is(err, ErrHost)=false")
			}
		})
	}
}
