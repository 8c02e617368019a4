package statuspage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wbd-dev/wbd/events"
	"github.com/wbd-dev/wbd/reconcile"
)

// BenchmarkPage renders the page of 100 instances and their last 20 events
// (read from a log of 1000), as a browser refreshing it costs the daemon.
func BenchmarkPage(b *testing.B) {
	root := b.TempDir()
	log := events.Open(root, events.DaemonActor(), events.Options{})
	for i := range 1000 {
		log.Record(events.Event{Instance: fmt.Sprintf("i%03d", i%100), Action: events.Apply, From: i, To: i + 1, Result: events.OK, Duration: 4.2, Detail: "app recreated"})
	}
	now := time.Now()
	st := &reconcile.Status{Root: root, File: "/etc/wbd/instances.yaml", Config: reconcile.ConfigStatus{Loaded: now}}
	for i := range 100 {
		st.Instances = append(st.Instances, reconcile.InstanceStatus{Instance: fmt.Sprintf("i%03d", i), InFile: true, InSync: true,
			Ready: true, Result: reconcile.ResultInSync, Revision: 7, LastReconcile: &now, Detail: "matches the file"})
	}
	h := Handler(func() *reconcile.Status { return st }, Options{})
	for _, path := range []string{"/", "/status.json"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
