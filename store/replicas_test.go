package store

import (
	"errors"
	"testing"
	"time"

	"iwf/internal/testutil"
)

// With min_replicas_ack an Enqueue succeeds once enough replicas hold
// the entry, and reports ErrUnavailable when fewer do, with the entry on
// the master: the retry is a duplicate that waits again. The cluster and
// the sentinel set have one replica per master.
func TestMinReplicasAck(t *testing.T) {
	for _, mode := range []string{ModeCluster, ModeSentinel} {
		t.Run(mode, func(t *testing.T) {
			ctx := testutil.Context(t)
			cfg := topology(t, mode)
			cfg.MinReplicasAck = 1
			s := open(t, cfg)
			for _, c := range []string{"a", "b", "c", "d"} { // on several masters of the cluster
				if dup, err := s.Enqueue(ctx, c, "m1", []byte("x"), time.Hour, 10); err != nil || dup {
					t.Fatalf("Enqueue with one replica asked: dup %v, %v", dup, err)
				}
			}
			cfg.MinReplicasAck, cfg.MinReplicasTimeout = 2, 50*time.Millisecond
			two := open(t, cfg)
			_, err := two.Enqueue(ctx, "a", "m2", []byte("x"), time.Hour, 10)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Enqueue with two replicas asked of one: %v, want ErrUnavailable", err)
			}
			if n, _ := s.QueueLen(ctx, "a"); n != 2 {
				t.Fatalf("queue length %d, want 2: the entry is on the master", n)
			}
			if dup, err := s.Enqueue(ctx, "a", "m2", []byte("x"), time.Hour, 10); err != nil || !dup {
				t.Fatalf("retry: dup %v, %v; want a duplicate", dup, err)
			}
			if _, err := two.Enqueue(ctx, "a", "m2", []byte("x"), time.Hour, 10); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("duplicate with two replicas asked of one: %v, want ErrUnavailable", err)
			}
		})
	}
}
