package lifecycle

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// ComposeLogs sends what the compose library logs to log. Compose writes its
// warnings (an orphan container, a network it did not create, a missing
// secret file) through logrus's global logger, as text on stderr; a daemon
// logging JSON would otherwise get lines a log shipper cannot read. It
// replaces logrus's global output and hooks, so call it once, from main.
func ComposeLogs(log *slog.Logger) {
	std := logrus.StandardLogger()
	std.SetOutput(io.Discard)
	std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(slogHook{log: log.With("component", "compose")})
}

// slogHook forwards logrus entries to a slog.Logger.
type slogHook struct{ log *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	lvl := slog.LevelInfo
	switch {
	case e.Level <= logrus.ErrorLevel:
		lvl = slog.LevelError
	case e.Level == logrus.WarnLevel:
		lvl = slog.LevelWarn
	case e.Level >= logrus.DebugLevel:
		lvl = slog.LevelDebug
	}
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	attrs := make([]slog.Attr, 0, len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, slog.Any(k, v))
	}
	h.log.LogAttrs(ctx, lvl, e.Message, attrs...)
	return nil
}
