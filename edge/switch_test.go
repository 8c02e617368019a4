package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func nosave(string) error { return nil }

// After a switch every new request goes to the new app, while one in flight
// on the old app finishes there, within the drain timeout.
func TestSwitchDrainsTheRequestsInFlight(t *testing.T) {
	started, finish := make(chan struct{}), make(chan struct{})
	old := app(t, "old", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-finish
		}
		fmt.Fprint(w, "old")
	})
	next := app(t, "next", nil)
	p := NewProxy(old, "", testLogger(t))
	edge := front(t, p)

	slow := getLater("http://" + edge + "/slow")
	<-started

	var saved []string
	done := make(chan SwitchResult, 1)
	go func() {
		res, err := p.Switch(context.Background(), next, SwitchOptions{Drain: 10 * time.Second, Check: Check, Save: func(s string) error { saved = append(saved, s); return nil }})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	eventually(t, func() bool { tgt, _ := p.Target(); return tgt == next })
	if _, body := get(t, http.DefaultClient, "http://"+edge+"/", nil); body != "next" {
		t.Errorf("a new request after the switch was answered by %q, want next", body)
	}
	select {
	case <-done:
		t.Fatal("Switch returned while a request was still in flight on the old app")
	default:
	}
	close(finish)
	if got := <-slow; got != "200 OK old" {
		t.Errorf("the request in flight at the switch: %s, want 200 from the old app", got)
	}
	res := <-done
	if res.From != old || res.Target != next || res.Drained != 1 || res.Cut != 0 {
		t.Errorf("switch result %+v, want from %s to %s, 1 drained, none cut", res, old, next)
	}
	if len(saved) != 1 || saved[0] != next {
		t.Errorf("kept targets %v, want [%s]", saved, next)
	}
}

// A stream still open at the drain deadline is closed then, not before.
func TestSwitchCutsStreamsAtTheDeadline(t *testing.T) {
	old := app(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			if _, err := fmt.Fprint(w, "data: tick\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	p := NewProxy(old, "", testLogger(t))
	edge := front(t, p)
	res, err := http.Get("http://" + edge + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	ended := make(chan time.Time, 1)
	go func() {
		rd := bufio.NewReader(res.Body)
		for {
			if _, err := rd.ReadString('\n'); err != nil {
				ended <- time.Now()
				return
			}
		}
	}()
	eventually(t, func() bool { return p.Upstreams()[0].Active == 1 })

	const drain = 300 * time.Millisecond
	start := time.Now()
	sw, err := p.Switch(context.Background(), app(t, "next", nil), SwitchOptions{Drain: drain, Save: nosave})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Cut != 1 || sw.Drained != 0 {
		t.Errorf("switch result %+v, want the stream cut", sw)
	}
	select {
	case at := <-ended:
		if d := at.Sub(start); d < drain {
			t.Errorf("the stream ended %s after the switch, before the %s drain deadline", d, drain)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after the drain deadline")
	}
	if n := p.Upstreams(); len(n) != 1 || n[0].Active != 0 {
		t.Errorf("upstreams after the drain: %+v, want the new one alone, idle", n)
	}
}

// An upgraded connection counts as in flight, and is closed at the drain
// deadline too.
func TestSwitchCutsUpgradedConnections(t *testing.T) {
	p := NewProxy(app(t, "", echoUpgrade), "", testLogger(t))
	edge := front(t, p)
	c, rd := upgrade(t, edge)
	defer c.Close()
	eventually(t, func() bool { return p.Upstreams()[0].Active == 1 })
	sw, err := p.Switch(context.Background(), app(t, "next", nil), SwitchOptions{Drain: 100 * time.Millisecond, Save: nosave})
	if err != nil || sw.Cut != 1 {
		t.Fatalf("switch: %+v, %v; want the connection cut", sw, err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rd.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Errorf("read after the drain deadline: %v, want EOF", err)
	}
}

// A target that does not answer HTTP is refused, and the edge keeps its
// target and what it kept.
func TestSwitchRefusesATargetThatDoesNotAnswer(t *testing.T) {
	old := app(t, "old", nil)
	p := NewProxy(old, "", testLogger(t))
	edge := front(t, p)
	saved := 0
	_, err := p.Switch(context.Background(), "127.0.0.1:1", SwitchOptions{Drain: time.Second, Check: Check, Save: func(string) error { saved++; return nil }})
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("switch to a closed port: %v, want a *CheckError", err)
	}
	if tgt, _ := p.Target(); tgt != old || saved != 0 {
		t.Errorf("after the refused switch: target %s, %d saves; want %s, none", tgt, saved, old)
	}
	if _, body := get(t, http.DefaultClient, "http://"+edge+"/", nil); body != "old" {
		t.Errorf("answered by %q after the refused switch, want old", body)
	}

	_, err = p.Switch(context.Background(), app(t, "next", nil), SwitchOptions{Drain: time.Second, Save: func(string) error { return errors.New("disk full") }})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("switch whose target cannot be kept: %v, want the error", err)
	}
	if tgt, _ := p.Target(); tgt != old {
		t.Errorf("after a switch that could not be kept the target is %s, want %s", tgt, old)
	}
}

// Under a steady load, a switch loses no request.
func TestSwitchUnderLoadLosesNothing(t *testing.T) {
	a, b := app(t, "a", nil), app(t, "b", nil)
	p := NewProxy(a, "", testLogger(t))
	edge := front(t, p)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	seen := map[string]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := c.Get("http://" + edge + "/")
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						failures = append(failures, res.Status)
					}
					seen[string(body)]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 20 {
		to := b
		if i%2 == 1 {
			to = a
		}
		if _, err := p.Switch(context.Background(), to, SwitchOptions{Drain: time.Second, Check: Check, Save: nosave}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d failed requests across 20 switches, first: %s", len(failures), failures[0])
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("answers by app: %v, want both", seen)
	}
}

// A switch that keeps the requests in flight returns at once and closes
// none of them: they end on their own, however long they take.
func TestSwitchKeepingTheRequestsInFlight(t *testing.T) {
	started, finish := make(chan struct{}), make(chan struct{})
	up := app(t, "", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-finish
		fmt.Fprint(w, "finished")
	})
	p := NewProxy(up, "", testLogger(t))
	edge := front(t, p)
	got := getLater("http://" + edge + "/")
	<-started
	// The same app by another name.
	other := strings.Replace(up, "127.0.0.1", "localhost", 1)
	sw, err := p.Switch(context.Background(), other, SwitchOptions{Drain: 10 * time.Millisecond, Keep: true, Save: nosave})
	if err != nil || sw.Target != other || sw.Cut != 0 {
		t.Fatalf("switch keeping the requests in flight: %+v, %v", sw, err)
	}
	time.Sleep(50 * time.Millisecond) // past the drain a switch without Keep would have had
	close(finish)
	if g := <-got; g != "200 OK finished" {
		t.Errorf("the request in flight at the switch got %q, want its answer", g)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
