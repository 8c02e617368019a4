package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors the typed errors below unwrap to, for errors.Is.
var (
	// ErrUnreachable: the Docker endpoint did not answer.
	ErrUnreachable = errors.New("docker engine does not answer")
	// ErrLegacy: containers of the imperative CLI are in the way.
	ErrLegacy = errors.New("legacy containers in the way")
	// ErrNotOwned: a resource of the compose project is not managed by wbd.
	ErrNotOwned = errors.New("not managed by wbd")
	// ErrNotReady: a service did not reach running (and healthy) in time.
	ErrNotReady = errors.New("service not ready")
)

// UnreachableError says which endpoint did not answer.
type UnreachableError struct {
	Host string // as given to Connect; "" for the local default
	Addr string // the address the client dialled
	Err  error
}

func (e *UnreachableError) Error() string {
	host := e.Host
	if host == "" {
		host = "local default (" + e.Addr + ")"
	}
	return fmt.Sprintf("docker host %s does not answer: %v", host, e.Err)
}

func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// LegacyError lists containers the imperative CLI left for an instance.
type LegacyError struct {
	Instance   string
	Containers []Container
}

func (e *LegacyError) Error() string {
	return fmt.Sprintf("instance %s has containers not created by wbd (%s): run `wbd apply --adopt %s` to replace them (data in bind mounts is kept)",
		e.Instance, strings.Join(containerNames(e.Containers), ", "), e.Instance)
}

func (e *LegacyError) Unwrap() error { return ErrLegacy }

// NotOwnedError lists resources of an instance's compose project, or in the
// way of its container names, that wbd does not manage and will not touch.
type NotOwnedError struct {
	Instance  string
	Resources []string // "container NAME", "network NAME"
}

func (e *NotOwnedError) Error() string {
	return fmt.Sprintf("instance %s: %s not managed by wbd (no %s=true label); refusing to touch them",
		e.Instance, strings.Join(e.Resources, ", "), LabelManaged)
}

func (e *NotOwnedError) Unwrap() error { return ErrNotOwned }

// NotReadyError lists the services that did not become ready.
type NotReadyError struct {
	Instance string
	Services []ServiceState
	// Within is set when the services were ready, then stopped within
	// this steady window of starting.
	Within time.Duration
	// Timeout is set when the wait for them ran out: they may still have
	// been starting.
	Timeout time.Duration
}

func (e *NotReadyError) Error() string {
	parts := make([]string, len(e.Services))
	for i, s := range e.Services {
		parts[i] = s.String()
	}
	if e.Within > 0 {
		return fmt.Sprintf("instance %s did not stay up for %s after starting: %s", e.Instance, e.Within, strings.Join(parts, "; "))
	}
	if e.Timeout > 0 {
		return fmt.Sprintf("instance %s not ready within %s (--timeout): %s", e.Instance, e.Timeout, strings.Join(parts, "; "))
	}
	return fmt.Sprintf("instance %s not ready: %s", e.Instance, strings.Join(parts, "; "))
}

func (e *NotReadyError) Unwrap() error { return ErrNotReady }

func containerNames(cs []Container) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}
