// Command edgeclient measures what the clients of an app see, for
// bench/edge.sh. Three modes:
//
//	edgeclient -port P [-rate 100] [-conns 4] [-path /health]
//
// requests http://127.0.0.1:P/PATH at -rate per second in all, over -conns
// kept-alive connections, until SIGTERM or SIGINT, then until the next
// answer (at most -settle more); then prints one JSON line: requests,
// failed (no answer, or not 200), the latency percentiles of the answered
// ones in milliseconds, and the failures by kind. Progress goes to stderr:
// "first answer" once the app answers.
//
//	edgeclient -compare A,B [-n 20000] [-rounds 10]
//
// requests GET /health on ports A and B of 127.0.0.1 one after the other
// on one kept-alive connection each, in -rounds alternating rounds of -n/
// -rounds requests, and prints the latency percentiles of each and B's
// over A's: the added latency of a proxy on B in front of A.
//
//	edgeclient -upstream
//
// serves GET /health ("ok") on a free loopback port, prints the port and
// runs until signalled: the app of the loopback comparison.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 0, "the app's port on 127.0.0.1")
	path := flag.String("path", "/health", "the path requested")
	rate := flag.Float64("rate", 100, "requests per second, in all")
	conns := flag.Int("conns", 4, "kept-alive connections")
	settle := flag.Duration("settle", 2*time.Minute, "after the signal, how long to wait for an answer")
	compare := flag.String("compare", "", "A,B: compare the latency of ports A and B")
	n := flag.Int("n", 20000, "with -compare: requests per port")
	rounds := flag.Int("rounds", 10, "with -compare: alternating rounds")
	upstream := flag.Bool("upstream", false, "serve GET /health on a free loopback port")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch {
	case *upstream:
		err = serve(ctx)
	case *compare != "":
		err = comparePorts(*compare, *n, *rounds)
	case *port > 0 && *rate > 0 && *conns > 0:
		err = load(ctx, fmt.Sprintf("http://127.0.0.1:%d%s", *port, *path), *rate, *conns, *settle)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgeclient:", err)
		os.Exit(1)
	}
}

// report is what load prints.
type report struct {
	Requests int            `json:"requests"`
	Failed   int            `json:"failed"`
	P50      float64        `json:"p50_ms"`
	P99      float64        `json:"p99_ms"`
	Max      float64        `json:"max_ms"`
	Errors   map[string]int `json:"errors,omitempty"`
}

func load(ctx context.Context, url string, rate float64, conns int, settle time.Duration) error {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	rep := report{Errors: map[string]int{}}
	var answeredSince, stopped time.Time
	var first sync.Once
	done := make(chan struct{})
	var wg sync.WaitGroup
	every := time.Duration(float64(conns) * float64(time.Second) / rate)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * every / time.Duration(conns))
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				start := time.Now()
				err := get(c, url)
				d := time.Since(start)
				mu.Lock()
				rep.Requests++
				if err != nil {
					rep.Failed++
					rep.Errors[kind(err)]++
				} else {
					lat = append(lat, d)
					first.Do(func() { fmt.Fprintln(os.Stderr, "edgeclient: first answer") })
					if !stopped.IsZero() && answeredSince.IsZero() {
						answeredSince = time.Now()
						close(done)
					}
				}
				mu.Unlock()
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
	}
	<-ctx.Done()
	mu.Lock()
	stopped = time.Now()
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(settle):
		close(done)
	}
	wg.Wait()
	slices.Sort(lat)
	rep.P50, rep.P99, rep.Max = ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100))
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func get(c *http.Client, url string) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// kind names a failure in a few words.
func kind(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "status"} {
		if strings.Contains(s, k) {
			if k == "status" {
				return s // which: 502 from the edge, 503 from the app
			}
			return k
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return s
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(min(i, len(sorted))-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// comparePorts times GET /health on two ports in alternating rounds.
func comparePorts(ports string, n, rounds int) error {
	a, b, ok := strings.Cut(ports, ",")
	if !ok {
		return fmt.Errorf("-compare %q: want A,B", ports)
	}
	urls := []string{"http://127.0.0.1:" + a + "/health", "http://127.0.0.1:" + b + "/health"}
	clients := []*http.Client{
		{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
	}
	lat := [2][]time.Duration{}
	per := max(n/rounds, 1)
	for _, side := range []int{0, 1} { // warm both
		for range 200 {
			if err := get(clients[side], urls[side]); err != nil {
				return err
			}
		}
	}
	for r := range rounds {
		for _, side := range []int{r % 2, 1 - r%2} {
			for range per {
				start := time.Now()
				if err := get(clients[side], urls[side]); err != nil {
					return err
				}
				lat[side] = append(lat[side], time.Since(start))
			}
		}
	}
	out := map[string]any{}
	for side, name := range []string{"a", "b"} {
		slices.Sort(lat[side])
		out[name] = map[string]float64{"p50_ms": ms(pct(lat[side], 50)), "p99_ms": ms(pct(lat[side], 99))}
	}
	out["added_p50_ms"] = ms(pct(lat[1], 50) - pct(lat[0], 50))
	out["added_p99_ms"] = ms(pct(lat[1], 99) - pct(lat[0], 99))
	out["requests"] = strconv.Itoa(len(lat[0])) + " a side"
	return json.NewEncoder(os.Stdout).Encode(out)
}

// serve answers GET /health on a free loopback port until ctx ends.
func serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
