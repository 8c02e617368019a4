package reconcile

import "testing"

func TestRedactHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
		{"tcp://box:2376", "tcp://box:2376"},
		{"ssh://deploy@box", "ssh://box"},
		{"ssh://deploy:s3cret@box:2222", "ssh://box:2222"},
		{"tcp://u:p@ss@box:2375/", "tcp://box:2375/"},
		{"TCP://u:pw@[::1]:2375", "TCP://[::1]:2375"},
		{"local default (tcp://u:pw@box:2375)", "local default (tcp://box:2375)"},
		{`docker host tcp://u:pw@h:99999 does not answer: Get "http://u:pw@h:99999/_ping": dial tcp: invalid port`,
			`docker host tcp://h:99999 does not answer: Get "http://h:99999/_ping": dial tcp: invalid port`},
		{"mail ops@example.org", "mail ops@example.org"},
		{"tcp://box/path@x", "tcp://box/path@x"},
	}
	for _, tt := range tests {
		if got := RedactHost(tt.in); got != tt.want {
			t.Errorf("RedactHost(%q)=%q, want %q", tt.in, got, tt.want)
		}
	}
}
