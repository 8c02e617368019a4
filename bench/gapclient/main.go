// Command gapclient measures how long an app on this machine goes without
// answering: it requests http://127.0.0.1:PORT/PATH every -every, and counts
// a 200 within -timeout as an answer. It runs until it is sent SIGTERM or
// SIGINT, then until the next answer (at most -settle more), and at most
// -max in all or -n requests; then it prints one line to stdout:
//
//	gap=1.234 failed=1.100 requests=345 failures=55 answered=true
//
// gap is the longest time between two consecutive answers (from the end of
// one to the end of the next), in seconds; failed is the time covered by the
// requests that got no answer (each counts until the next request starts);
// answered is false when it stopped without an answer after the signal.
// Progress goes to stderr: "first answer" once the app answers.
//
// bench/gap.sh runs it around each operation it measures.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 0, "the app's port on 127.0.0.1")
	path := flag.String("path", "/health", "the path requested")
	every := flag.Duration("every", 20*time.Millisecond, "time between requests")
	timeout := flag.Duration("timeout", time.Second, "a request without an answer by then failed")
	settle := flag.Duration("settle", 2*time.Minute, "after the signal, how long to wait for an answer")
	maxFor := flag.Duration("max", 10*time.Minute, "stop after this long in all")
	maxN := flag.Int("n", 100000, "stop after this many requests")
	flag.Parse()
	if *port < 1 || *port > 65535 || *every <= 0 || *timeout <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gapclient -port N [-path /health] [-every 20ms] [-timeout 1s] [-settle 2m] [-max 10m] [-n 100000]")
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	r := run(fmt.Sprintf("http://127.0.0.1:%d%s", *port, *path), *every, *timeout, *settle, *maxFor, *maxN, stop)
	fmt.Printf("gap=%.3f failed=%.3f requests=%d failures=%d answered=%t\n",
		r.gap.Seconds(), r.failed.Seconds(), r.requests, r.failures, r.answered)
}

type result struct {
	gap, failed        time.Duration
	requests, failures int
	answered           bool // the last request, after the signal, was answered
}

func run(url string, every, timeout, settle, maxFor time.Duration, maxN int, stop <-chan os.Signal) result {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	var r result
	var lastAnswer, stopAt time.Time
	end := time.Now().Add(maxFor)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for r.requests < maxN && time.Now().Before(end) {
		start := time.Now()
		ok := answer(client, url)
		r.requests++
		now := time.Now()
		if ok {
			if lastAnswer.IsZero() {
				fmt.Fprintln(os.Stderr, "gapclient: first answer")
			} else {
				r.gap = max(r.gap, now.Sub(lastAnswer))
			}
			lastAnswer = now
		} else {
			r.failures++
		}
		if !stopAt.IsZero() && (ok || now.Sub(stopAt) > settle) {
			r.answered = ok
			if !ok {
				r.failed += now.Sub(start)
				r.gap = max(r.gap, now.Sub(lastAnswer))
			}
			return r
		}
		select {
		case <-stop:
			stopAt = time.Now()
		case <-tick.C:
		}
		if !ok {
			r.failed += time.Since(start)
		}
	}
	return r
}

func answer(c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode == http.StatusOK
}
