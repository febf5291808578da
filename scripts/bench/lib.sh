# shellcheck shell=bash
# Shared by scripts/sip-ingest-bench.sh and scripts/load-bench.sh: a real
# redis-server with the production persistence (AOF, fsync every second),
# the daemon built once (no compiler in the measured window) and started
# on its own ports with an opt-in pprof token, and cleanup of exactly the
# processes started here.

: "${REDIS_PORT:=16391}" "${IWF_SIP:=15060}" "${STATUS_PORT:=18080}" "${SMPP_PORT:=12775}"
: "${MSRP_PORT:=12855}" "${RCS_PORT:=15070}"
PPROF_TOKEN=bench-pprof-token-0123456789

WORK=$(mktemp -d /tmp/iwf-bench.XXXXXX)
PIDS=()
PROF_PIDS=()
ROOT=$(pwd)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# build_iwf builds the daemon (and iwf-load) into $WORK.
build_iwf() {
	go build -o "$WORK/iwf" ./cmd/iwf
	go build -o "$WORK/iwf-load" ./cmd/iwf-load
}

# start_redis runs redis-server with appendonly yes, appendfsync everysec;
# REDIS_ARGS adds arguments (e.g. "--auto-aof-rewrite-min-size 1gb").
start_redis() {
	# shellcheck disable=SC2086 # REDIS_ARGS is a list of arguments
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes \
		--appendfsync everysec --save "" --daemonize no --logfile "$WORK/redis.log" ${REDIS_ARGS:-} &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	local i
	for i in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "redis-server did not start: $WORK/redis.log" >&2
	return 1
}

# write_config writes the daemon's configuration: the demo partner over
# SMPP (for iwf-load) and SIP (SIPp from 127.0.0.2), every queued message
# kept (queue_max), the RCS side on $RCS_PORT.
write_config() {
	cat >"$WORK/iwf.yaml" <<YAML
log_level: warn
node: bench
store: {addr: "127.0.0.1:$REDIS_PORT"}
status: {listen: "127.0.0.1:$STATUS_PORT", pprof_token: "$PPROF_TOKEN"}
msrp: {listen: "127.0.0.1:$MSRP_PORT", host: 127.0.0.1}
sip:
  listen:
    - {transport: udp, address: "127.0.0.1:$IWF_SIP"}
    - {transport: tcp, address: "127.0.0.1:$IWF_SIP"}
smpp:
  server: {listen: "127.0.0.1:$SMPP_PORT", system_id: iwf}
rcs:
  trunk: {next_hop: "sip:127.0.0.1:$RCS_PORT;transport=tcp"}
  pager: {allowed_sources: [127.0.0.1]}
partners:
  - name: demo
    routing: {numbers: ["+"]}
    deliver_via: smpp
    smpp:
      server: {system_id: demo, password: demo, max_binds: 4, window: 100}
    sip:
      next_hop: sip:127.0.0.1:5080
      allowed_sources: [127.0.0.0/8]
    session:
      promotion: always
      queue_max: 1000000
YAML
	"$WORK/iwf" -check-config "$WORK/iwf.yaml" >/dev/null
}

# start_iwf runs the daemon and waits for /readyz.
start_iwf() {
	"$WORK/iwf" -config "$WORK/iwf.yaml" 2>"$WORK/iwf.log" &
	IWF_PID=$!
	PIDS+=("$IWF_PID")
	local i
	for i in $(seq 300); do
		curl -fs "http://127.0.0.1:$STATUS_PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "iwf did not become ready: $WORK/iwf.log" >&2
	return 1
}

# profile NAME SECONDS samples, through /debug/pprof, a CPU profile and
# the allocations made (a delta profile) over the next SECONDS (under 30)
# into $OUT/NAME.cpu.pprof and $OUT/NAME.allocs.pprof, in the background.
profile() {
	local name=$1 sec=$2 auth="Authorization: Bearer $PPROF_TOKEN" base="http://127.0.0.1:$STATUS_PORT/debug/pprof"
	curl -fs -H "$auth" -o "$OUT/$name.cpu.pprof" "$base/profile?seconds=$sec" &
	PROF_PIDS+=("$!")
	curl -fs -H "$auth" -o "$OUT/$name.allocs.pprof" "$base/allocs?seconds=$sec" &
	PROF_PIDS+=("$!")
}

# wait_profiles waits for the profiles being taken.
wait_profiles() {
	local p
	for p in "${PROF_PIDS[@]}"; do wait "$p" || echo "profile download $p failed" >&2; done
	PROF_PIDS=()
}

# top FILE prints the top entries of a profile.
top() {
	go tool pprof -top -nodecount="${TOPN:-25}" "$@" 2>/dev/null | sed -n '1,40p'
}

# cpu_us PID prints the CPU time (user + system) the process has used so
# far, in microseconds, from /proc/PID/stat (fields 14 and 15, counted
# after the command name, which may hold spaces).
cpu_us() {
	local stat fields
	stat=$(cat "/proc/$1/stat")
	read -r -a fields <<<"${stat##*) }"
	echo $(((fields[11] + fields[12]) * 1000000 / $(getconf CLK_TCK)))
}
