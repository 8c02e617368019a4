package reconcile

import (
	"strings"

	"github.com/wbd-dev/wbd/metrics"
)

// Label is r as a metric's label value: in_sync, rolled_back...
func (r Result) Label() string { return strings.ReplaceAll(string(r), "-", "_") }

// Metrics is s as the metrics' gauges show it: the instances of the file
// in force, and the engines the daemon tried.
func (s *Status) Metrics() metrics.View {
	v := metrics.View{ConfigValid: !s.Config.Loaded.IsZero() && s.Config.Error == "", Loaded: s.Config.Loaded}
	for _, in := range s.Instances {
		if !in.InFile {
			continue
		}
		v.Instances = append(v.Instances, metrics.Instance{Name: in.Instance, Host: hostName(in.Host),
			Revision: in.Revision, Ready: in.Ready, InSync: in.InSync})
	}
	for _, h := range s.Hosts {
		if h.Known {
			v.Hosts = append(v.Hosts, metrics.Host{Host: hostName(h.Host), Up: h.Up})
		}
	}
	return v
}
