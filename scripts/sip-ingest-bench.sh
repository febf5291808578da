#!/usr/bin/env bash
# sip-ingest-bench: SIP MESSAGE -> 202 under SIPp, the IWF against Kamailio
# answering 202 statelessly (scripts/bench/kamailio.cfg), on this machine
# in the same run: rounds alternate Kamailio and the IWF under the same
# SIPp load (scripts/bench/message.xml, 100 recipients from an injection
# file) and print each rate and the ratio IWF / Kamailio.
#
# The IWF runs with a real redis-server (AOF, fsync every second) and
# answers 202 only once the message is persisted; its RCS side is absent,
# so the run measures ingest alone (the queued messages wait for a session
# that fails to open and is retried with back-off).
#
#   scripts/sip-ingest-bench.sh                 # N=30000 RATE=60000 LIMIT=1000 ROUNDS=2
#   N=60000 ROUNDS=3 PROFILE=20 OUT=/tmp/prof scripts/sip-ingest-bench.sh
#
# PROFILE=S takes S seconds of CPU and allocation profiles of the IWF
# during its first round into $OUT (default the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${N:=30000}" "${RATE:=60000}" "${LIMIT:=1000}" "${ROUNDS:=2}" "${KAM_PORT:=15080}" "${SIPP_PORT:=15090}" "${PROFILE:=0}"
# shellcheck source=bench/lib.sh
. scripts/bench/lib.sh
: "${OUT:=$WORK}"
mkdir -p "$OUT"

for bin in sipp kamailio redis-server redis-cli curl; do
	command -v "$bin" >/dev/null || { echo "missing $bin (scripts/deps.sh; kamailio: apt-get install kamailio)" >&2; exit 1; }
done

build_iwf
start_redis
write_config
start_iwf
kamailio -f scripts/bench/kamailio.cfg -l "udp:127.0.0.1:$KAM_PORT" -DD -E -w "$WORK" -Y "$WORK" \
	-P "$WORK/kamailio.pid" >"$WORK/kamailio.log" 2>&1 &
PIDS+=("$!")

# 100 recipients, taken in turn.
{
	echo SEQUENTIAL
	for i in $(seq 100 199); do echo "+447700900$i;"; done
} >"$WORK/recipients.csv"

# sipp_run TARGET_PORT: prints the MESSAGEs answered 202 per second.
sipp_run() {
	local port=$1 dir
	dir=$(mktemp -d "$WORK/sipp.XXXX")
	local t0 t1
	t0=$(date +%s.%N)
	(cd "$dir" && sipp -sf "$ROOT/scripts/bench/message.xml" -inf "$WORK/recipients.csv" \
		-i 127.0.0.2 -p "$SIPP_PORT" -t u1 -r "$RATE" -l "$LIMIT" -m "$N" -nostdin -skip_rlimit \
		-timeout 600s -timeout_error -recv_timeout 30000 -trace_screen \
		"127.0.0.1:$port" >/dev/null 2>"$dir/stderr") || true
	t1=$(date +%s.%N)
	local ok failed
	ok=$(grep -h "Successful call" "$dir"/*_screen.log | awk -F'|' '{gsub(/ /,"",$3); print $3}' | tail -1)
	failed=$(grep -h "Failed call" "$dir"/*_screen.log | awk -F'|' '{gsub(/ /,"",$3); print $3}' | tail -1)
	awk -v ok="${ok:-0}" -v failed="${failed:-0}" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.0f %d %d %.2f\n", ok / (t1 - t0), ok, failed, t1 - t0 }'
}

echo "N=$N RATE=$RATE LIMIT=$LIMIT ROUNDS=$ROUNDS, $(nproc) CPUs, $(uname -r)"
printf '%-6s %-9s %8s %8s %7s %8s\n' round target msg/s ok failed seconds
ratios=()
for r in $(seq "$ROUNDS"); do
	read -r kam kok kfail ksec < <(sipp_run "$KAM_PORT")
	printf '%-6s %-9s %8s %8s %7s %8s\n' "$r" kamailio "$kam" "$kok" "$kfail" "$ksec"
	if [ "$r" = 1 ] && [ "$PROFILE" != 0 ]; then profile sip "$PROFILE"; fi
	read -r iwf iok ifail isec < <(sipp_run "$IWF_SIP")
	printf '%-6s %-9s %8s %8s %7s %8s\n' "$r" iwf "$iwf" "$iok" "$ifail" "$isec"
	ratios+=("$(awk -v a="$iwf" -v b="$kam" 'BEGIN { printf "%.2f", a / b }')")
done
wait_profiles
echo "ratio iwf/kamailio per round: ${ratios[*]}"
stored=$(redis-cli -p "$REDIS_PORT" dbsize)
echo "redis keys: $stored; work directory: $WORK"
if [ "$PROFILE" != 0 ]; then
	echo "--- CPU (sip.cpu.pprof)"; top "$OUT/sip.cpu.pprof"
	echo "--- allocations (sip.allocs.pprof, alloc_space)"; top -sample_index=alloc_space "$OUT/sip.allocs.pprof"
fi
