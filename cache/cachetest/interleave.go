package cachetest

import (
	"testing"
	"time"
)

// Interleaved benchmarks a against peer in one loop, the two in turn in
// every op, so that a machine busy with other work slows both alike, and
// reports each one's time per op as the metrics "NAME-ns/op" and their
// ratio as "NAME/PEER". Comparing two benchmarks run one after the other
// would measure the machine's load as much as the code.
func Interleaved(b *testing.B, name string, a func(*testing.B), peerName string, peer func(*testing.B)) {
	b.Helper()
	var tA, tPeer time.Duration
	for b.Loop() {
		t0 := time.Now()
		a(b)
		t1 := time.Now()
		peer(b)
		tA, tPeer = tA+t1.Sub(t0), tPeer+time.Since(t1)
	}
	b.ReportMetric(float64(tA.Nanoseconds())/float64(b.N), name+"-ns/op")
	b.ReportMetric(float64(tPeer.Nanoseconds())/float64(b.N), peerName+"-ns/op")
	b.ReportMetric(float64(tA)/float64(tPeer), name+"/"+peerName)
}
