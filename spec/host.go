package spec

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
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

const hostExamples = "unix:///var/run/docker.sock, tcp://10.0.0.2:2376 or ssh://ops@box2"

func (p *parser) host(s source) string {
	h, ok := p.str(s.node, s.field)
	if !ok || h == "" {
		return ""
	}
	if msg := hostProblem(h); msg != "" {
		p.errorf(s.node, s.field, ErrHost, "%s", msg)
		return ""
	}
	return h
}

// hostProblem says what keeps h from being an endpoint Docker's client
// dials as written, or "". A file that validates is one apply can run,
// so what Docker would refuse, or quietly drop, is refused here. The
// message never holds the endpoint's userinfo.
func hostProblem(h string) string {
	shown := redactUserinfo(h)
	u, err := url.Parse(h)
	if err != nil {
		return fmt.Sprintf("must be a Docker endpoint such as %s, got %q", hostExamples, shown)
	}
	scheme, _, _ := strings.Cut(h, ":")
	switch {
	case u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "ssh":
		return fmt.Sprintf("must be a Docker endpoint such as %s, got %q", hostExamples, shown)
	case scheme != u.Scheme:
		return fmt.Sprintf("write the scheme in lowercase, %s://, as Docker reads only that; got %q", u.Scheme, shown)
	case u.User != nil:
		if _, hasPassword := u.User.Password(); hasPassword && u.Scheme == "ssh" {
			return fmt.Sprintf("holds a password, which ssh endpoints may not: log in with a key (ssh-agent, or IdentityFile in ~/.ssh/config) as ssh://USER@HOST, or use a docker context; got %q", shown)
		}
		if u.Scheme != "ssh" {
			return fmt.Sprintf("holds a user or password, which Docker ignores on %s endpoints: secure a tcp endpoint with TLS (DOCKER_CERT_PATH) or reach the engine over ssh://USER@HOST; got %q", u.Scheme, shown)
		}
	}
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("must not have a query (?...), which Docker does not read; got %q", shown)
	case u.Fragment != "" || strings.Contains(h, "#"):
		return fmt.Sprintf("must not have a fragment (#...), which Docker does not read; got %q", shown)
	}
	if u.Scheme == "unix" {
		if u.Opaque != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Sprintf("must name the socket by its absolute path, unix:///PATH with three slashes, got %q", shown)
		}
		return ""
	}
	if u.Opaque != "" {
		return fmt.Sprintf("must be %s://HOST, got %q", u.Scheme, shown)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("names no host, got %q", shown)
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fmt.Sprintf("port must be 1-65535, got %q", shown)
		}
	}
	if u.Scheme == "tcp" && u.Path != "" && u.Path != "/" {
		return fmt.Sprintf("must not have a path after the host on tcp endpoints, got %q", shown)
	}
	return ""
}
