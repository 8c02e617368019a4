package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// checkTimeout bounds Check's wait for an answer.
const checkTimeout = 5 * time.Second

// Check reports whether the app at addr (host:port) answers HTTP: a HEAD /
// on a connection of its own gets a response, whatever its status. The
// app's healthcheck runs in its own container; this finds what it cannot:
// an app that listens on another port than the one the edge sends to, or
// one that closes connections before it answers. A refused connection is
// tried again for a second, as the app may only be opening its port.
func Check(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: checkTimeout}).DialContext}
	defer tr.CloseIdleConnections()
	deadline := time.Now().Add(dialRetry)
	for {
		err := head(ctx, tr, addr)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return &CheckError{Addr: addr, Err: err}
		}
		select {
		case <-ctx.Done():
			return &CheckError{Addr: addr, Err: err}
		case <-time.After(dialPause):
		}
	}
}

func head(ctx context.Context, tr http.RoundTripper, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "wbd-edge-check")
	res, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

// CheckError says why the app at Addr does not answer HTTP, in the words
// of what is likely wrong.
type CheckError struct {
	Addr string
	Err  error
}

func (e *CheckError) Error() string {
	var why string
	var dns *net.DNSError
	_, port, _ := net.SplitHostPort(e.Addr)
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		why = "nothing listens on port " + port + " there (connection refused): does the app listen on another port?"
	case errors.Is(e.Err, io.EOF), errors.Is(e.Err, io.ErrUnexpectedEOF), errors.Is(e.Err, syscall.ECONNRESET),
		// net/http's word when the close comes before the request is
		// written; its error is not exported.
		strings.Contains(e.Err.Error(), "server closed idle connection"):
		why = "the app closed the connection before it answered"
	case errors.As(e.Err, &dns):
		why = "its name does not resolve on the instance's network"
	case errors.Is(e.Err, context.DeadlineExceeded):
		why = fmt.Sprintf("no answer within %s", checkTimeout)
	default:
		why = "no HTTP answer"
	}
	return fmt.Sprintf("%s does not answer HTTP: %s (%v)", e.Addr, why, e.Err)
}

func (e *CheckError) Unwrap() error { return e.Err }
