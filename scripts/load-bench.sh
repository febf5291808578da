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
# CPU per message of each process over the unpaced run: steadier than
# the rates on a shared machine (contention slows a process more than it
# makes it work more). The load tool's share includes its baseline run.
d0=$(cpu_us "$IWF_PID") r0=$(cpu_us "$REDIS_PID")
TIMEFORMAT='%U %S'
{ time "${load[@]}" -n "$N" -baseline 2>&1 || true; } 2>"$WORK/load.time"
d1=$(cpu_us "$IWF_PID") r1=$(cpu_us "$REDIS_PID")
read -r lu ls <"$WORK/load.time"
awk -v n="$N" -v d=$((d1 - d0)) -v r=$((r1 - r0)) -v lu="$lu" -v ls="$ls" 'BEGIN {
	l = (lu + ls) * 1e6
	printf "cpu/message    daemon %.0f us, redis-server %.0f us, iwf-load %.0f us (with its baseline); total %.0f us\n", d / n, r / n, l / n, (d + r + l) / n
}'
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
