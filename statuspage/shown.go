package statuspage

import (
	"slices"

	"github.com/wbd-dev/wbd/reconcile"
	"github.com/wbd-dev/wbd/spec"
)

// Shown is s as an operator reads it, on the page, in /status.json and in
// wbd status: every engine named as the metrics name it (spec.HostName,
// "local" for the default one) where the status file writes the default
// as "". s is not changed.
func Shown(s *reconcile.Status) *reconcile.Status {
	if s == nil {
		return nil
	}
	c := *s
	c.Hosts = slices.Clone(s.Hosts)
	for i := range c.Hosts {
		c.Hosts[i].Host = spec.HostName(c.Hosts[i].Host)
	}
	c.Instances = slices.Clone(s.Instances)
	for i := range c.Instances {
		c.Instances[i].Host = spec.HostName(c.Instances[i].Host)
	}
	return &c
}
