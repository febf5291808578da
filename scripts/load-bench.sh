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
#
# NEW_N=5000 NEW_RATE=500 adds a run where every message starts a
# conversation of its own (-conversations NEW_N): the A2P shape, one
# message per destination, each a session set-up, a lease and a worker
# start; it prints CPU per message as the unpaced run does.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${N:=60000}" "${RATE:=5000}" "${RATE_N:=30000}" "${PROFILE:=0}" "${NEW_N:=0}" "${NEW_RATE:=500}"
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
# measured N [iwf-load flags...] runs iwf-load and prints the CPU per
# message of each process over the run: steadier than the rates on a
# shared machine (contention slows a process more than it makes it work
# more). In the unpaced run the load tool's share includes its baseline.
measured() {
	local n=$1 d0 r0 d1 r1 lu ls
	shift
	d0=$(cpu_us "$IWF_PID") r0=$(cpu_us "$REDIS_PID")
	TIMEFORMAT='%U %S'
	{ time "${load[@]}" -n "$n" "$@" 2>&1 || true; } 2>"$WORK/load.time"
	d1=$(cpu_us "$IWF_PID") r1=$(cpu_us "$REDIS_PID")
	read -r lu ls <"$WORK/load.time"
	awk -v n="$n" -v d=$((d1 - d0)) -v r=$((r1 - r0)) -v lu="$lu" -v ls="$ls" 'BEGIN {
		l = (lu + ls) * 1e6
		printf "cpu/message    daemon %.0f us, redis-server %.0f us, iwf-load %.0f us; total %.0f us\n", d / n, r / n, l / n, (d + r + l) / n
	}'
}
measured "$N" -baseline
if [ -n "${PROF_BG:-}" ]; then wait "$PROF_BG" || true; fi
if [ "$RATE" != 0 ]; then
	echo "--- iwf-load -n $RATE_N -rate $RATE"
	"${load[@]}" -n "$RATE_N" -rate "$RATE" || true
fi
if [ "$NEW_N" != 0 ]; then
	echo "--- iwf-load -n $NEW_N -conversations $NEW_N -rate $NEW_RATE (a new conversation each)"
	measured "$NEW_N" -conversations "$NEW_N" -rate "$NEW_RATE" -receipt-wait 2s
fi
redis-cli -p "$REDIS_PORT" info commandstats | grep -E 'cmdstat_(evalsha|xreadgroup|xack|xdel|multi|exec|set|zadd|xadd|get|pexpire|eval)[:]' || true
echo "work directory: $WORK"
if [ "$PROFILE" != 0 ]; then
	echo "--- CPU (load.cpu.pprof)"; top "$OUT/load.cpu.pprof"
	echo "--- allocations (load.allocs.pprof, alloc_space)"; top -sample_index=alloc_space "$OUT/load.allocs.pprof"
fi
