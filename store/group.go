package store

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Groups are for state that gathers from several nodes until it is
// complete: a group holds one small hash per member, filled field by
// field, and an index of the members by their first write so that the
// ones left waiting too long can be found. Fields and values are opaque to
// the store; smpp/concat keeps the SMS parts it reassembles in one.

// GroupPut writes value under field in the hash of member in group, unless
// the field is there already (stored false: the first value stays), and
// returns every field of the hash after that. The first write of a member
// indexes it at now, to the microsecond. When maxMembers members are
// indexed already and member is not one of them, nothing is written and
// fields is empty: the group is full. It is one script (EXISTS, ZCARD,
// ZADD, HSETNX, HGETALL), so exactly one GroupPut sees a hash reach any
// given size, on any node.
func (s *Store) GroupPut(ctx context.Context, group, member, field string, value []byte, now time.Time, maxMembers int) (fields map[string][]byte, stored bool, err error) {
	const op = "group put"
	if err := checkGroup(op, group); err != nil {
		return nil, false, err
	}
	if maxMembers < 1 {
		return nil, false, invalid(op, "bound %d", maxMembers)
	}
	res, err := s.lua.groupPut.Run(ctx, s.client,
		[]string{s.keys.group(group, member), s.keys.groupIndex(group)},
		member, field, value, now.UnixMicro(), maxMembers).Slice()
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if len(res) != 2 {
		return nil, false, corrupt(op, "script returned %d values", len(res))
	}
	n, _ := res[0].(int64)
	flat, _ := res[1].([]any)
	fields = make(map[string][]byte, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		f, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		fields[f] = []byte(v)
	}
	return fields, n == 1, nil
}

// GroupGet returns the fields of member's hash in group, none when there
// is no such member.
func (s *Store) GroupGet(ctx context.Context, group, member string) (map[string][]byte, error) {
	const op = "group get"
	if err := checkGroup(op, group); err != nil {
		return nil, err
	}
	m, err := s.client.HGetAll(ctx, s.keys.group(group, member)).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	fields := make(map[string][]byte, len(m))
	for f, v := range m {
		fields[f] = []byte(v)
	}
	return fields, nil
}

// GroupDelete deletes the hashes of members in group and their index
// entries, all in one MULTI/EXEC. Deleting an unknown member is no error.
func (s *Store) GroupDelete(ctx context.Context, group string, members ...string) error {
	const op = "group delete"
	if err := checkGroup(op, group); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	hashes := make([]string, len(members))
	indexed := make([]any, len(members))
	for i, m := range members {
		hashes[i], indexed[i] = s.keys.group(group, m), m
	}
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, hashes...)
		pipe.ZRem(ctx, s.keys.groupIndex(group), indexed...)
		return nil
	})
	return wrap(op, err)
}

// GroupBefore lists up to limit members of group first written before
// cutoff, oldest first; limit <= 0 lists them all.
func (s *Store) GroupBefore(ctx context.Context, group string, cutoff time.Time, limit int) ([]string, error) {
	const op = "group before"
	if err := checkGroup(op, group); err != nil {
		return nil, err
	}
	members, err := s.client.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:     s.keys.groupIndex(group),
		ByScore: true,
		Start:   "-inf",
		Stop:    "(" + strconv.FormatInt(cutoff.UnixMicro(), 10),
		Count:   int64(max(limit, 0)),
	}).Result()
	return members, wrap(op, err)
}

// Next increments the sequence name and returns its new value, 1 for a
// new one. The sequence expires ttl after its last use. It is one script
// (INCR, PEXPIRE).
func (s *Store) Next(ctx context.Context, name string, ttl time.Duration) (int64, error) {
	const op = "next"
	if ttl <= 0 {
		return 0, invalid(op, "ttl %v", ttl)
	}
	n, err := s.lua.next.Run(ctx, s.client, []string{s.keys.seq(name)}, ms(ttl)).Int64()
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// checkGroup refuses an empty group name: it would be an empty hash tag,
// which Redis Cluster ignores, scattering the group over slots.
func checkGroup(op, group string) error {
	if group == "" {
		return invalid(op, "empty group")
	}
	return nil
}
