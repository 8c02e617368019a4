package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The control API, served on the socket in StateDir to `wbd edge ctl` run
// in the container. Its requests and answers are JSON, and only grow new
// fields: the ctl of one wbd version talks to the edge of another while
// the edge waits for its upgrade.

// SwitchRequest asks the edge to switch.
type SwitchRequest struct {
	To    string   `json:"to"` // host:port; "" for the default target
	Drain Duration `json:"drain"`
	// Check asks the edge to find that To answers HTTP first (see Check).
	Check bool `json:"check"`
	// Keep leaves the requests in flight on the old target to end on
	// their own (see SwitchOptions).
	Keep bool `json:"keep,omitempty"`
}

// Status is what the edge says of itself.
type Status struct {
	Target    string     `json:"target"`
	Default   string     `json:"default"`
	Upstreams []Upstream `json:"upstreams"`
}

// errorBody is the answer to a request the edge refused.
type errorBody struct {
	Error string `json:"error"`
}

func (s *server) control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		t, d := s.proxy.Target()
		reply(w, http.StatusOK, Status{Target: t, Default: d, Upstreams: s.proxy.Upstreams()})
	})
	mux.HandleFunc("POST /v1/switch", func(w http.ResponseWriter, r *http.Request) {
		var req SwitchRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, errorBody{"bad switch request: " + err.Error()})
			return
		}
		o := SwitchOptions{Drain: time.Duration(req.Drain), Keep: req.Keep, Save: s.save}
		if req.Check {
			o.Check = Check
		}
		// Once asked, the edge sees the drain through even if the one who
		// asked goes away (wbd killed): it is the edge's to finish.
		res, err := s.proxy.Switch(context.WithoutCancel(r.Context()), req.To, o)
		if err != nil {
			reply(w, http.StatusConflict, errorBody{err.Error()})
			return
		}
		reply(w, http.StatusOK, res)
	})
	return mux
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Client talks to the control socket of an edge in the same container.
type Client struct {
	hc *http.Client
}

// NewClient returns a client of the control socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Status asks the edge what it does.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Switch asks the edge to switch, and waits for the drain.
func (c *Client) Switch(ctx context.Context, req SwitchRequest) (SwitchResult, error) {
	var res SwitchResult
	err := c.do(ctx, http.MethodPost, "/v1/switch", req, &res)
	return res, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://edge"+path, body)
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("edge control socket: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("edge control socket: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("edge control socket: %s: %s", res.Status, strings.TrimSpace(string(data)))
	}
	return json.Unmarshal(data, out)
}
