package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wbd-dev/wbd/spec"
)

// text is the message a person reads.
func text(m Message) string {
	var b strings.Builder
	switch m.State {
	case Ready:
		fmt.Fprintf(&b, "wbd: %s is ready", m.Instance)
		if m.Revision > 0 {
			fmt.Fprintf(&b, " at revision %d", m.Revision)
		}
	case Recovered:
		fmt.Fprintf(&b, "wbd: %s recovered", m.Instance)
		if m.Revision > 0 {
			fmt.Fprintf(&b, ", runs revision %d", m.Revision)
		}
	case Failed:
		fmt.Fprintf(&b, "wbd: %s failed", m.Instance)
	case RolledBack:
		fmt.Fprintf(&b, "wbd: %s: a change failed and was rolled back", m.Instance)
		if m.Revision > 0 {
			fmt.Fprintf(&b, "; it runs revision %d again", m.Revision)
		}
	}
	if m.Host != "" && m.Host != spec.LocalName {
		fmt.Fprintf(&b, " (host %s)", m.Host) // most run on one host: the text names the others only
	}
	if m.Detail != "" {
		fmt.Fprintf(&b, ": %s", m.Detail)
	}
	if m.Suppressed > 0 {
		fmt.Fprintf(&b, " (%d earlier changes not sent: it changes state often)", m.Suppressed)
	}
	return b.String()
}

// deliver posts m, trying again after a failure that may pass.
func (n *Notifier) deliver(ctx context.Context, m Message) {
	body, err := json.Marshal(m)
	if err != nil {
		n.log.Error("notification not encoded", keyInstance, m.Instance, keyError, err)
		return
	}
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		err, again := n.post(ctx, body)
		if err == nil {
			n.log.Debug("notification sent", keyInstance, m.Instance, keyState, m.State)
			return
		}
		if !again || attempt >= n.opts.Attempts || ctx.Err() != nil {
			n.log.Warn("notification not delivered", keyInstance, m.Instance, keyState, m.State, keyAttempts, attempt, keyError, err)
			return
		}
		n.log.Debug("notification failed; trying again", keyInstance, m.Instance, keyAttempt, attempt, keyError, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.log.Warn("notification not delivered: stopping", keyInstance, m.Instance, keyState, m.State)
			return
		case <-t.C:
		}
		wait *= 2
	}
}

// post sends body once; again says whether trying again may help.
func (n *Notifier) post(ctx context.Context, body []byte) (err error, again bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err), false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wbd")
	res, err := n.opts.Client.Do(req)
	if err != nil {
		// The URL, a secret, is in the client's error: leave it out.
		return fmt.Errorf("post: %s", scrub(err.Error(), n.url)), true
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 == 2 {
		return nil, false
	}
	return fmt.Errorf("post: %s", res.Status), res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests
}

func scrub(msg, u string) string {
	return strings.ReplaceAll(msg, u, redactURL(u))
}
