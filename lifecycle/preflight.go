package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"
)

// ErrPortTaken: a host port the project publishes is held by something else.
var ErrPortTaken = errors.New("port already in use")

// PortTakenError names a host port the project would publish and who holds it.
type PortTakenError struct {
	Instance string
	Service  string
	Port     int
	Holder   string // "container NAME", or "a process on this machine"
}

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("instance %s: %s would publish port %d, which %s already holds", e.Instance, e.Service, e.Port, e.Holder)
}

func (e *PortTakenError) Unwrap() error { return ErrPortTaken }

// checkPorts refuses, before any container is touched, a project whose
// published host ports are held by another container on the engine, or,
// on the local engine, by a process of this machine. Ports the instance's
// own containers publish now are its own to keep. except lists containers
// (the legacy ones being adopted) whose ports are about to be freed.
func (e *Engine) checkPorts(ctx context.Context, p *types.Project, except []Container) error {
	cs, err := e.api.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	held := map[int]string{} // host port -> holder
	for _, c := range cs.Items {
		if c.Labels[api.ProjectLabel] == p.Name || slices.ContainsFunc(except, func(l Container) bool { return l.ID == c.ID }) {
			for _, port := range c.Ports {
				held[int(port.PublicPort)] = "" // the instance's own
			}
			continue
		}
		for _, port := range c.Ports {
			if port.PublicPort != 0 {
				held[int(port.PublicPort)] = "container " + toContainer(c).Name
			}
		}
	}
	for _, name := range inStartOrder(p.ServiceNames()) {
		for _, pc := range p.Services[name].Ports {
			port, err := strconv.Atoi(pc.Published)
			if err != nil || port == 0 {
				continue // a range or an ephemeral port: the engine decides
			}
			holder, seen := held[port]
			switch {
			case seen && holder == "":
				continue
			case seen:
			case e.local() && !free(pc.HostIP, port, pc.Protocol):
				holder = "a process on this machine"
			default:
				continue
			}
			return &PortTakenError{Instance: p.Name, Service: name, Port: port, Holder: holder}
		}
	}
	return nil
}

// local reports whether the engine runs on this machine, where its
// published ports can be tried.
func (e *Engine) local() bool {
	return strings.HasPrefix(e.Host(), "unix://")
}

// free reports whether port is free on this machine, as the engine's proxy
// will need it. Only "in use" counts: a port below 1024 that this user may
// not bind is the engine's to bind.
func free(ip string, port int, proto string) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	var (
		c   io.Closer
		err error
	)
	if proto == "udp" {
		c, err = net.ListenPacket("udp", addr)
	} else {
		c, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return !errors.Is(err, syscall.EADDRINUSE)
	}
	c.Close()
	return true
}
