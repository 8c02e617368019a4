package edge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// app is an upstream for the tests: what it answers is its name.
func app(t testing.TB, name string, h http.HandlerFunc) string {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// front serves p on loopback and returns its address.
func front(t testing.TB, p *Proxy) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(p)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func get(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return res, string(body)
}

// The app sees the client's request as sent, with the Host it asked for and
// the client's address appended to X-Forwarded-For.
func TestProxyPassesTheRequestOn(t *testing.T) {
	seen := make(chan *http.Request, 1)
	up := app(t, "a", func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		w.Header().Set("X-App", "a")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "short and stout")
	})
	edge := front(t, NewProxy(up, "", testLogger(t)))
	res, body := get(t, http.DefaultClient, "http://"+edge+"/x?y=1", http.Header{
		"X-Forwarded-For": {"203.0.113.7"},
		"Host":            {"example.org"},
	})
	if res.StatusCode != http.StatusTeapot || body != "short and stout" || res.Header.Get("X-App") != "a" {
		t.Errorf("answer: %s %q %v, want 418 from the app with its header", res.Status, body, res.Header)
	}
	r := <-seen
	for _, c := range []struct{ what, got, want string }{
		{"path", r.URL.RequestURI(), "/x?y=1"},
		{"X-Forwarded-For", r.Header.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"},
		{"X-Forwarded-Proto", r.Header.Get("X-Forwarded-Proto"), "http"},
	} {
		if c.got != c.want {
			t.Errorf("the app saw %s %q, want %q", c.what, c.got, c.want)
		}
	}
}

// A client speaking HTTP/2 without TLS (prior knowledge) is answered in
// HTTP/2; the app gets HTTP/1.1.
func TestProxyServesHTTP2Cleartext(t *testing.T) {
	proto := make(chan string, 1)
	up := app(t, "", func(w http.ResponseWriter, r *http.Request) {
		proto <- r.Proto
		fmt.Fprint(w, "h2c ok")
	})
	edge := front(t, NewProxy(up, "", testLogger(t)))
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	res, body := get(t, &http.Client{Transport: tr}, "http://"+edge+"/", nil)
	if res.ProtoMajor != 2 || body != "h2c ok" {
		t.Errorf("h2c answer: %s %q, want HTTP/2 and the app's answer", res.Proto, body)
	}
	if p := <-proto; p != "HTTP/1.1" {
		t.Errorf("the app saw %s, want HTTP/1.1", p)
	}
}

// Server-sent events reach the client as the app sends them, not when the
// response ends.
func TestProxyStreamsEvents(t *testing.T) {
	release := make(chan struct{})
	up := app(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: two\n\n")
	})
	edge := front(t, NewProxy(up, "", testLogger(t)))
	defer close(release)
	res, err := http.Get("http://" + edge + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(res.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "data: one\n" {
			t.Errorf("first line %q, want the first event", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive while the stream stayed open: the edge buffers it")
	}
}

// An upgraded connection (WebSocket's handshake) passes bytes both ways.
func TestProxyPassesUpgradedConnections(t *testing.T) {
	up := app(t, "", echoUpgrade)
	edge := front(t, NewProxy(up, "", testLogger(t)))
	c, rd := upgrade(t, edge)
	defer c.Close()
	for _, msg := range []string{"hello\n", "again\n"} {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		got, err := rd.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}
}

// echoUpgrade answers an Upgrade: websocket request with 101 and echoes
// lines on the connection.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "want an upgrade", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		brw.WriteString(line)
		brw.Flush()
	}
}

// upgrade opens an upgraded connection through the edge at addr.
func upgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", addr)
	rd := bufio.NewReader(c)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s, want 101", res.Status)
	}
	return c, rd
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// getLater GETs url in the background; the channel gets "STATUS BODY", or
// the error.
func getLater(url string) <-chan string {
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- res.Status + " " + string(b)
	}()
	return got
}

// A request the app does not answer is a 502 that says so.
func TestProxyAnswers502WhenTheAppDoesNot(t *testing.T) {
	closed := closedAddr(t)
	edge := front(t, NewProxy(closed, "", testLogger(t)))
	start := time.Now()
	res, body := get(t, http.DefaultClient, "http://"+edge+"/", nil)
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, closed) {
		t.Errorf("answer %s %q, want 502 naming %s", res.Status, body, closed)
	}
	if waited := time.Since(start); waited < dialRetry {
		t.Errorf("502 after %s: a refused dial is tried again for %s first", waited, dialRetry)
	}
}

func TestCheckSaysWhatIsWrong(t *testing.T) {
	refused := closedAddr(t)
	closer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	go func() {
		for {
			c, err := closer.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"answers", app(t, "ok", nil), ""},
		{"answers 500", app(t, "", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }), ""},
		{"another port", refused, "does the app listen on another port?"},
		{"closes early", closer.Addr().String(), "closed the connection before it answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(context.Background(), tc.addr)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check(%s): %v, want nil: any HTTP answer will do", tc.addr, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.addr)):
				t.Errorf("Check(%s): %v, want an error naming the address and saying %q", tc.addr, err, tc.want)
			}
		})
	}
}
