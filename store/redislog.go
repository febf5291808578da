package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// RedisLogger carries go-redis's own messages (a sentinel that does not
// answer, a new master after a failover, a cluster reload, a pool
// problem) into the daemon's slog, in its format, instead of the standard
// library's logger on stderr that go-redis uses by default. It satisfies
// the interface redis.SetLogger takes. go-redis gives its lines no level,
// and most are about a server it could not use: each is a warning.
type RedisLogger struct {
	log *slog.Logger
}

// NewRedisLogger returns a RedisLogger writing to log with
// component=go-redis, apart from the store's own component=store lines.
// A nil log discards.
func NewRedisLogger(log *slog.Logger) *RedisLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisLogger{log: log.With("component", "go-redis")}
}

// Printf logs one go-redis message at warn level. The message is
// formatted only when warn is enabled; the trailing newline some carry
// (a stack after a recovered panic) is dropped, as slog ends records
// itself.
func (l *RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if !l.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	l.log.Log(ctx, slog.LevelWarn, strings.TrimRight(fmt.Sprintf(format, v...), "\n"))
}
