#!/usr/bin/env bash
# load-bench: end to end under cmd/iwf-load (SMPP submits in, MSRP out,
# receipts back) against the daemon on a real redis-server (AOF, fsync
# every second), with the same client against iwf-load's in-process test
# SMSC as the same-run baseline (-baseline), then a paced run for latency.
#
#   scripts/load-bench.sh                          # N=60000, then -rate 5000
#   N=30000 RATE=0 PROFILE=20 OUT=/tmp/prof scripts/load-bench.sh
#
# PROFILE=S takes S seconds (under 30) of CPU and allocation profiles of
# the daemon through /debug/pprof during the unpaced run into $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${N:=60000}" "${RATE:=5000}" "${RATE_N:=30000}" "${PROFILE:=0}"
# shellcheck source=bench/lib.sh
. scripts/bench/lib.sh
: "${OUT:=$WORK}"
mkdir -p "$OUT"

build_iwf
start_redis
write_config
start_iwf
load=("$WORK/iwf-load" -smpp "127.0.0.1:$SMPP_PORT" -rcs "127.0.0.1:$RCS_PORT" -timeout 300s)

echo "$(nproc) CPUs, $(uname -r); daemon, redis-server and iwf-load share them"
echo "--- iwf-load -n $N -baseline"
if [ "$PROFILE" != 0 ]; then
	# Past the baseline (which runs first, in iwf-load) and the binds.
	(sleep 3 && profile load "$PROFILE" && wait_profiles) &
	PROF_BG=$!
fi
"${load[@]}" -n "$N" -baseline || true
if [ -n "${PROF_BG:-}" ]; then wait "$PROF_BG" || true; fi
if [ "$RATE" != 0 ]; then
	echo "--- iwf-load -n $RATE_N -rate $RATE"
	"${load[@]}" -n "$RATE_N" -rate "$RATE" || true
fi
redis-cli -p "$REDIS_PORT" info commandstats | grep -E 'cmdstat_(evalsha|xreadgroup|xack|xdel|multi|exec|set|zadd|xadd|get|pexpire|eval)[:]' || true
echo "work directory: $WORK"
if [ "$PROFILE" != 0 ]; then
	echo "--- CPU (load.cpu.pprof)"; top "$OUT/load.cpu.pprof"
	echo "--- allocations (load.allocs.pprof, alloc_space)"; top -sample_index=alloc_space "$OUT/load.allocs.pprof"
fi
