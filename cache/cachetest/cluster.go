package cachetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slots is the number of hash slots of a Redis Cluster.
const slots = 16384

// Cluster is a Redis Cluster of masters without replicas, each a Server of
// its own, for code that must work on a cluster as on one Redis.
type Cluster struct {
	Servers []*Server
	Addrs   []string // the servers' addresses, for redis.ClusterOptions
}

// NewCluster starts n redis-servers in cluster mode, splits the hash slots
// evenly between them and waits until every one reports the cluster ok.
// The servers stop when the test ends.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	cl := &Cluster{}
	var bus0 int // the first server's cluster bus port, which the others meet
	for i := range n {
		s := newServer(t, func(int) []string {
			bus, err := freePort()
			if err != nil {
				t.Fatalf("find a free port: %v", err)
			}
			if i == 0 {
				bus0 = bus
			}
			return []string{"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
				"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}
		})
		cl.Servers = append(cl.Servers, s)
		cl.Addrs = append(cl.Addrs, s.Addr)
	}
	for i, s := range cl.Servers {
		first, last := i*slots/n, (i+1)*slots/n-1
		if _, err := command(s.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)); err != nil {
			t.Fatalf("assign slots to %s: %v", s.Addr, err)
		}
		if i > 0 {
			if _, err := command(s.Addr, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(cl.Servers[0].Port), strconv.Itoa(bus0)); err != nil {
				t.Fatalf("join %s to the cluster: %v", s.Addr, err)
			}
		}
	}
	deadline := time.Now().Add(startTimeout)
	for _, s := range cl.Servers {
		for {
			info, err := command(s.Addr, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok on %s within %s: %q %v", s.Addr, startTimeout, info, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return cl
}
