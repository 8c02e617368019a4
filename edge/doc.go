// Package edge is the proxy that stands in front of an instance's app: the
// edge owns the instance's published port and forwards every request to one
// app container over the instance's network, so that a new app container
// can start beside the old one and take over the traffic once it is ready,
// while the old one finishes what it serves (drains).
//
// It runs as `wbd edge` in a container of the instance's compose project,
// from an image wbd makes of its own static binary (see WriteImage), so a
// host needs nothing but its Docker engine. HTTP/1.1 and HTTP/2 without TLS
// (prior knowledge) are served; upgraded connections (WebSocket) and long
// responses (server-sent events) pass through unbuffered; the client's
// address is appended to X-Forwarded-For.
//
// Where requests go is the edge's only state: its target, a host:port on
// the instance's network, kept in a file in the container (StateDir) so
// that it survives a restart of the edge and can be read through the
// engine's API from anywhere. With no target set, or one that no longer
// resolves, the edge sends requests to its default target, the app's
// container name. wbd changes the target through the control socket, with
// `wbd edge ctl` run in the container (see Switch): the edge checks that
// the new target answers HTTP, sends it every new request, and gives the
// requests still in flight to the old one up to a drain timeout, after
// which it closes them.
package edge
