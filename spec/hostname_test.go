package spec

import "testing"

func TestHostName(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"", "local"},
		{"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
		{"ssh://ops@box2", "ssh://box2"},
		{"tcp://ops:hunter2@10.0.0.2:2376", "tcp://10.0.0.2:2376"},
	} {
		if got := HostName(c.host); got != c.want {
			t.Errorf("HostName(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}
