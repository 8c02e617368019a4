package edge

import (
	"context"
	"fmt"
	"time"
)

// SwitchResult is what a Switch did.
type SwitchResult struct {
	Target string `json:"target"`
	From   string `json:"from,omitempty"` // "" when the target did not change
	// Drained counts the requests in flight on the upstreams left that
	// finished within the drain timeout; Cut those still in flight then,
	// which were closed.
	Drained int      `json:"drained"`
	Cut     int      `json:"cut"`
	Waited  Duration `json:"waited"`
}

// SwitchOptions says how Switch goes.
type SwitchOptions struct {
	// Drain is how long the requests in flight on the upstreams left get
	// before they are closed.
	Drain time.Duration
	// Keep leaves them to end on their own, with no deadline, and Switch
	// returns at once: for a switch between two names of one app
	// container, such as its ID and its name once a rollout is done.
	Keep bool
	// Check, when not nil, must find that the new target answers.
	Check func(ctx context.Context, addr string) error
	// Save keeps the new target before any request goes there.
	Save func(target string) error
}

// Switch makes to (host:port; "" for the default target) the target of
// every new request, once o.Check, when set, finds that it answers. It then
// waits until the requests still in flight on every other upstream have
// ended, or o.Drain has passed, when it closes those left, and returns.
// Switching to the current target only waits for the others. An error from
// Check or Save leaves the target as it was.
func (p *Proxy) Switch(ctx context.Context, to string, o SwitchOptions) (SwitchResult, error) {
	p.switching.Lock()
	defer p.switching.Unlock()
	if to == "" {
		to = p.def
	}
	if o.Check != nil {
		if err := o.Check(ctx, to); err != nil {
			return SwitchResult{}, err
		}
	}
	p.mu.Lock()
	from := p.cur
	res := SwitchResult{Target: to}
	if from.addr != to {
		if err := o.Save(to); err != nil {
			p.mu.Unlock()
			return SwitchResult{}, fmt.Errorf("keep the target %s: %w", to, err)
		}
		res.From = from.addr
		p.cur = p.takeDraining(to)
		p.draining[from] = true
	}
	before := p.inFlight()
	p.mu.Unlock()
	if res.From != "" {
		p.log.Info("switched", "target", to, "from", res.From, "in_flight", before, "drain", o.Drain.String(), "keep", o.Keep)
	}
	if o.Keep {
		return res, nil
	}
	start := time.Now()
	left := p.drain(ctx, o.Drain)
	res.Waited = Duration(time.Since(start).Round(time.Millisecond))
	res.Cut = left
	res.Drained = max(before-left, 0)
	if before > 0 {
		p.log.Info("drained", "target", to, "finished", res.Drained, "cut", res.Cut, "waited", res.Waited.String())
	}
	return res, nil
}

// takeDraining returns the upstream for addr: one still draining, which
// becomes current again with its connections, or a new one. mu is held.
func (p *Proxy) takeDraining(addr string) *upstream {
	for u := range p.draining {
		if u.addr == addr && u.cut.Err() == nil {
			delete(p.draining, u)
			return u
		}
	}
	return newUpstream(addr, p.def)
}

// inFlight counts the requests on the draining upstreams. mu is held.
func (p *Proxy) inFlight() int {
	n := 0
	for u := range p.draining {
		n += u.active
	}
	return n
}

// drain waits until no draining upstream has a request in flight, or
// timeout has passed or ctx ended, then cuts those left and forgets every
// draining upstream. It returns how many requests it cut.
func (p *Proxy) drain(ctx context.Context, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	wake := func() {
		p.mu.Lock()
		p.idle.Broadcast()
		p.mu.Unlock()
	}
	timer := time.AfterFunc(timeout, wake)
	defer timer.Stop()
	stop := context.AfterFunc(ctx, wake)
	defer stop()

	p.mu.Lock()
	for p.inFlight() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		p.idle.Wait()
	}
	left := p.inFlight()
	done := make([]*upstream, 0, len(p.draining))
	for u := range p.draining {
		done = append(done, u)
		delete(p.draining, u)
	}
	p.mu.Unlock()
	for _, u := range done {
		u.cancel()
		u.transport.CloseIdleConnections()
	}
	if left > 0 {
		p.settle(done, time.Second)
	}
	return left
}

// settle gives the requests just cut on us a moment to end, so that a
// caller told they were cut finds them gone.
func (p *Proxy) settle(us []*upstream, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		n := 0
		for _, u := range us {
			n += u.active
		}
		p.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
