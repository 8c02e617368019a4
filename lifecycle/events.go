package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Event is the engine's word that a wbd-managed container died, was stopped
// or was removed. It is a hint to look again, never a state to act on.
type Event struct {
	Instance  string // compose's project label
	Service   string // compose's service label
	Container string // container name
	Action    string // die, stop or destroy
	Time      time.Time
}

// eventActions are the container events that can leave an instance short of
// what its file says.
var eventActions = []string{string(events.ActionDie), string(events.ActionStop), string(events.ActionDestroy)}

// Events streams the engine's events about wbd-managed containers (label
// io.wbd.managed=true) dying, stopping or going away, and calls fn with each,
// in the order the engine sends them. It returns when ctx ends (ctx.Err())
// or when the stream breaks, as when the engine stops: the caller subscribes
// again, and reads the engine's state, since events may have been missed.
func (e *Engine) Events(ctx context.Context, fn func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := make(client.Filters).
		Add("type", string(events.ContainerEventType)).
		Add("label", LabelManaged+"=true").
		Add("event", eventActions...)
	res := e.api.Events(ctx, client.EventsListOptions{Filters: f})
	for {
		select {
		case m := <-res.Messages:
			fn(toEvent(m))
		case err := <-res.Err:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil {
				err = errors.New("stream closed")
			}
			return fmt.Errorf("events of %s: %w", e.Host(), err)
		}
	}
}

func toEvent(m events.Message) Event {
	attrs := m.Actor.Attributes
	ev := Event{
		Instance:  attrs[api.ProjectLabel],
		Service:   attrs[api.ServiceLabel],
		Container: strings.TrimPrefix(attrs["name"], "/"),
		Action:    string(m.Action),
	}
	if m.TimeNano != 0 {
		ev.Time = time.Unix(0, m.TimeNano)
	} else {
		ev.Time = time.Unix(m.Time, 0)
	}
	return ev
}
