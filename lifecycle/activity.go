package lifecycle

import (
	"github.com/docker/compose/v5/pkg/api"
)

// Progress is one line of an operation's progress: a container or image
// changing state ("Container testing-app", "Started"), or, with Layer, a
// step of an image's pull, which comes often while a pull moves on.
type Progress struct {
	Resource string
	Text     string
	Layer    bool
}

// teeEvents hands every progress event to fn as well as to the display.
type teeEvents struct {
	api.EventProcessor
	fn func(Progress)
}

func (t teeEvents) On(events ...api.Resource) {
	t.EventProcessor.On(events...)
	for _, e := range events {
		t.fn(Progress{Resource: e.ID, Text: e.Text, Layer: e.ParentID != ""})
	}
}

// withActivity is events, also told to fn when fn is set.
func withActivity(events api.EventProcessor, fn func(Progress)) api.EventProcessor {
	if fn == nil {
		return events
	}
	return teeEvents{events, fn}
}
