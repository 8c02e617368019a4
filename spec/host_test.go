package spec

import "testing"

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
