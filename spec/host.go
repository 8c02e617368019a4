package spec

import (
	"net"
	"net/url"
	"path"
	"strings"
)

// LocalHost is the local engine's socket, what an empty host means.
const LocalHost = "unix:///var/run/docker.sock"

// Default ports of the endpoints that have one. Docker's own client dials
// tcp://HOST as tcp://HOST:2375, so a tcp endpoint's canonical form always
// carries its port; ssh's 22 is left out, as ssh itself does.
const (
	defaultTCPPort = "2375"
	defaultSSHPort = "22"
)

// CanonicalHost returns one spelling of the Docker endpoint host, so that
// the same engine written two ways compares equal: "" and the local socket
// under /run or /var/run (one directory on every current Linux) are
// LocalHost; scheme and host name are lowercased; a trailing "/" and
// default ports are dropped, except tcp's, which is made explicit. An ssh
// user is kept, since it decides what the engine lets in; a password, and
// any userinfo of other schemes, is dropped: the result is safe to print.
// A host that does not parse is returned as written, minus any userinfo.
func CanonicalHost(host string) string {
	if host == "" {
		return LocalHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return redactUserinfo(host)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "unix":
		p := path.Clean("/" + u.Host + u.Path)
		if p == "/run" || strings.HasPrefix(p, "/run/") {
			p = "/var" + p
		}
		return "unix://" + p
	case "tcp", "ssh":
		h, port := strings.ToLower(u.Hostname()), u.Port()
		switch {
		case u.Scheme == "tcp" && port == "":
			port = defaultTCPPort
		case u.Scheme == "ssh" && port == defaultSSHPort:
			port = ""
		}
		if port != "" || strings.Contains(h, ":") {
			h = net.JoinHostPort(h, port)
			h = strings.TrimSuffix(h, ":") // an IPv6 address without a port
		}
		user := ""
		if u.Scheme == "ssh" && u.User != nil && u.User.Username() != "" {
			user = url.User(u.User.Username()).String() + "@"
		}
		p := strings.TrimRight(u.Path, "/")
		return u.Scheme + "://" + user + h + p
	}
	u.User = nil
	return u.String()
}

// redactUserinfo removes what lies between "://" and the last "@" of the
// authority, so that a password never reaches a message.
func redactUserinfo(host string) string {
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		return host
	}
	auth, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		auth = auth[i+1:]
	}
	return scheme + "://" + auth + tail
}
