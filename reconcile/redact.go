package reconcile

import "regexp"

// userinfo is the user[:password]@ of a URL's authority: greedy up to the
// last "@" before the path, so that an "@" in a password does not leave
// its tail behind.
var userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s"'<>]*@`)

// RedactHost removes the userinfo (user and password) from a Docker
// endpoint, or from every endpoint in a message, before it is printed,
// logged or written to the status file: a DOCKER_HOST such as
// tcp://user:password@box may carry credentials, and the Docker client's
// errors quote the address they dialled.
func RedactHost(s string) string {
	return userinfo.ReplaceAllString(s, "$1")
}

// redactStatus removes userinfo from every host and message of s: the
// status file is readable by every user of the machine.
func redactStatus(s *Status) {
	s.Config.Error = RedactHost(s.Config.Error)
	for i := range s.Hosts {
		h := &s.Hosts[i]
		h.Host, h.Addr, h.Error = RedactHost(h.Host), RedactHost(h.Addr), RedactHost(h.Error)
	}
	for i := range s.Instances {
		in := &s.Instances[i]
		in.Host, in.Detail, in.LastError = RedactHost(in.Host), RedactHost(in.Detail), RedactHost(in.LastError)
	}
}
