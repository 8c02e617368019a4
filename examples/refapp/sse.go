package main

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Limits of GET /events.
const (
	maxEvents     = 100000
	minEventEvery = 10 * time.Millisecond
)

// events streams server-sent events: n of them (?n=, 10), one every
// ?every= (1s), each naming the build's version, then ends. A long response
// that passes through whatever stands in front of the app, for the tests
// of rollouts that must let streams end or close them at a deadline.
func events(w http.ResponseWriter, r *http.Request) {
	n, every := 10, time.Second
	if v := r.URL.Query().Get("n"); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil || i < 1 || i > maxEvents {
			http.Error(w, fmt.Sprintf("n: want 1-%d, got %q", maxEvents, v), http.StatusBadRequest)
			return
		}
		n = i
	}
	if v := r.URL.Query().Get("every"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < minEventEvery {
			http.Error(w, fmt.Sprintf("every: want a duration of at least %s, got %q", minEventEvery, v), http.StatusBadRequest)
			return
		}
		every = d
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		if _, err := fmt.Fprintf(w, "id: %d\ndata: {\"i\":%d,\"n\":%d,\"version\":%q}\n\n", i, i, n, version); err != nil {
			return
		}
		if err := rc.Flush(); err != nil || i == n {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
