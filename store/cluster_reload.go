package store

import (
	"context"
	"net"

	"github.com/redis/go-redis/v9"
)

// reloadOnFailure makes a cluster client read the slot map again as soon
// as a command cannot reach its node. go-redis reloads it on MOVED and
// READONLY replies and otherwise once a minute: after a master is
// SIGKILLed and its replica promoted nobody answers MOVED (the old
// master is gone), so without this every command of the dead master's
// slots fails for up to a minute after the failover is over. The reload
// is lazy and coalesced (one at a time, 200 ms apart), so a burst of
// failures costs one CLUSTER SLOTS.
type reloadOnFailure struct{ c *redis.ClusterClient }

// DialHook implements redis.Hook.
func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil && unreachable(err) {
			h.c.ReloadState(ctx)
		}
		return conn, err
	}
}

// ProcessHook implements redis.Hook.
func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && unreachable(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil && unreachable(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}
