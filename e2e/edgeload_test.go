package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// load is the client of the edge's stories: GET /health at a steady rate
// over kept-alive HTTP/1.1 connections, HTTP/2 without TLS and a new
// connection per request, and server-sent-event streams opened again as
// each ends; every answer is kept with when it came.
type load struct {
	base   string
	stream string // the path of a stream
	events int    // events a stream sends when it is not cut

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	answers []answer
	streams []stream
}

// answer is one GET /health as the client saw it.
type answer struct {
	at      time.Time
	via     string
	status  int
	version string
	err     string
}

func (a answer) failed() bool { return a.err != "" || a.status != http.StatusOK }

func (a answer) String() string {
	if a.err != "" {
		return fmt.Sprintf("%s %s: %s", a.at.Format("15:04:05.000"), a.via, a.err)
	}
	return fmt.Sprintf("%s %s: %d version %q", a.at.Format("15:04:05.000"), a.via, a.status, a.version)
}

// stream is one server-sent-event stream as the client saw it.
type stream struct {
	start, end time.Time
	events     int
	versions   map[string]bool
	err        string // how it ended when it did not finish
}

func (s stream) finished(n int) bool { return s.err == "" && s.events == n }

// Rates of the load: each worker requests every loadEvery, or as soon as
// its last request is answered when that takes longer: 133 a second at
// most, more than 50 on a busy machine.
const (
	loadEvery   = 60 * time.Millisecond
	loadWorkers = 8 // 5 kept-alive HTTP/1.1, 2 HTTP/2, 1 new connection each time
)

// startLoad starts the client on the app published on port, with streams
// server-sent-event streams of events events, every every.
func startLoad(t *testing.T, port, streams, events int, every time.Duration) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{
		base:   fmt.Sprintf("http://127.0.0.1:%d", port),
		stream: fmt.Sprintf("/events?n=%d&every=%s", events, every),
		events: events,
		ctx:    ctx, cancel: cancel,
	}
	kept := &http.Transport{MaxIdleConnsPerHost: 8}
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	fresh := &http.Transport{DisableKeepAlives: true}
	for i, w := range []struct {
		via string
		tr  *http.Transport
	}{{"http/1.1", kept}, {"http/1.1", kept}, {"http/1.1", kept}, {"http/1.1", kept}, {"http/1.1", kept}, {"h2c", h2c}, {"h2c", h2c}, {"new conn", fresh}} {
		l.wg.Add(1)
		go l.requests(w.via, &http.Client{Transport: w.tr, Timeout: 10 * time.Second}, time.Duration(i)*loadEvery/loadWorkers)
	}
	sc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
	for range streams {
		l.wg.Add(1)
		go l.streamLoop(sc)
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) requests(via string, c *http.Client, offset time.Duration) {
	defer l.wg.Done()
	time.Sleep(offset)
	tick := time.NewTicker(loadEvery)
	defer tick.Stop()
	for {
		a := answer{via: via}
		req, _ := http.NewRequestWithContext(l.ctx, http.MethodGet, l.base+"/health", nil)
		res, err := c.Do(req)
		if err == nil {
			var h map[string]string
			body, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			a.status = res.StatusCode
			if rerr != nil {
				a.err = rerr.Error()
			} else if json.Unmarshal(body, &h) == nil {
				a.version = h["version"]
			}
		} else {
			a.err = err.Error()
		}
		a.at = time.Now()
		if l.ctx.Err() != nil {
			return // the answer to a request cut by the stop counts for nothing
		}
		l.mu.Lock()
		l.answers = append(l.answers, a)
		l.mu.Unlock()
		select {
		case <-l.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (l *load) streamLoop(c *http.Client) {
	defer l.wg.Done()
	for l.ctx.Err() == nil {
		s := l.oneStream(c)
		if l.ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.streams = append(l.streams, s)
		l.mu.Unlock()
		if s.err != "" {
			time.Sleep(50 * time.Millisecond) // as EventSource waits before it reconnects
		}
	}
}

func (l *load) oneStream(c *http.Client) (s stream) {
	s = stream{start: time.Now(), versions: map[string]bool{}}
	defer func() { s.end = time.Now() }()
	req, _ := http.NewRequestWithContext(l.ctx, http.MethodGet, l.base+l.stream, nil)
	res, err := c.Do(req)
	if err != nil {
		s.err = err.Error()
		return s
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		s.err = res.Status
		return s
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e struct{ Version string }
		if json.Unmarshal([]byte(data), &e) == nil {
			s.versions[e.Version] = true
		}
		s.events++
	}
	if err := sc.Err(); err != nil {
		s.err = err.Error()
	} else if s.events != l.events {
		s.err = fmt.Sprintf("ended after %d of %d events", s.events, l.events)
	}
	return s
}

// stop ends the client and waits for it.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// snapshot returns what the client saw so far.
func (l *load) snapshot() ([]answer, []stream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]answer(nil), l.answers...), append([]stream(nil), l.streams...)
}

// failures are the answers between from and to that failed.
func (l *load) failures(from, to time.Time) []answer {
	answers, _ := l.snapshot()
	var out []answer
	for _, a := range answers {
		if !a.at.Before(from) && !a.at.After(to) && a.failed() {
			out = append(out, a)
		}
	}
	return out
}

// first is the first answer after from that version gave; zero if none.
func (l *load) first(version string, from time.Time) answer {
	answers, _ := l.snapshot()
	for _, a := range answers {
		if a.at.After(from) && !a.failed() && a.version == version {
			return a
		}
	}
	return answer{}
}

// waitFor waits until an answer after from gave version.
func (l *load) waitFor(t *testing.T, version string, from time.Time, timeout time.Duration) answer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if a := l.first(version, from); !a.at.IsZero() {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer of version %s within %s", version, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireNoFailures fails the test with the answers between from and to
// that failed, if any.
func requireNoFailures(t *testing.T, l *load, what string, from, to time.Time) {
	t.Helper()
	if f := l.failures(from, to); len(f) > 0 {
		t.Errorf("%s: %d failed requests, want none; the first:\n%s", what, len(f), joinAnswers(f, 10))
	}
}

func joinAnswers(as []answer, n int) string {
	var b strings.Builder
	for i, a := range as {
		if i == n {
			fmt.Fprintf(&b, "... and %d more\n", len(as)-n)
			break
		}
		b.WriteString(a.String() + "\n")
	}
	return b.String()
}

// timedLine is a line wbd wrote, with when it came.
type timedLine struct {
	at   time.Time
	text string
}

// lineClock keeps the lines written to it with when each came.
type lineClock struct {
	mu    sync.Mutex
	part  []byte
	lines []timedLine
}

func (c *lineClock) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.part = append(c.part, p...)
	for {
		i := bytes.IndexByte(c.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		c.lines = append(c.lines, timedLine{time.Now(), string(c.part[:i])})
		c.part = c.part[i+1:]
	}
}

// wbdTimed is operator.wbd, keeping when each line of stderr came: the
// progress lines say when a new app container turned ready.
func (o *operator) wbdTimed(args ...string) (result, []timedLine) {
	o.t.Helper()
	c := &lineClock{}
	r := o.wbdTee(c, args...)
	return r, c.lines
}

// lineAt is when the first line matching match came; zero without one.
func lineAt(lines []timedLine, match func(string) bool) time.Time {
	for _, l := range lines {
		if match(l.text) {
			return l.at
		}
	}
	return time.Time{}
}
