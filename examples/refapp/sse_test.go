package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// GET /events sends n events, each as it happens, then ends.
func TestEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(events))
	defer srv.Close()
	start := time.Now()
	res, err := http.Get(srv.URL + "/events?n=3&every=50ms")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	var data []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	want := []string{`{"i":1,"n":3,"version":"dev"}`, `{"i":2,"n":3,"version":"dev"}`, `{"i":3,"n":3,"version":"dev"}`}
	if strings.Join(data, "\n") != strings.Join(want, "\n") {
		t.Errorf("events %q, want %q", data, want)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("3 events every 50ms took %s, want at least 100ms", d)
	}
	for _, q := range []string{"n=0", "n=x", "every=1ms", "every=soon"} {
		rec := httptest.NewRecorder()
		events(rec, httptest.NewRequest(http.MethodGet, "/events?"+q, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("/events?%s: %d, want 400", q, rec.Code)
		}
	}
}
