package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkScrape is one scrape of a daemon with 100 instances, each
// reconciled and rolled out a few times.
func BenchmarkScrape(b *testing.B) {
	v := View{ConfigValid: true, Loaded: time.Now(), Hosts: []Host{{Host: "local", Up: true}}}
	for i := range 100 {
		v.Instances = append(v.Instances, Instance{Name: fmt.Sprintf("i%03d", i), Host: "local", Revision: 7, Ready: true, InSync: true})
	}
	m := New(func() View { return v })
	for _, in := range v.Instances {
		for _, res := range []string{"in_sync", "applied", "failed"} {
			m.Reconciled(in.Name, res, time.Second)
		}
	}
	h := m.Handler()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
