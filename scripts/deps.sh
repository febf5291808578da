#!/usr/bin/env bash
# Installs what the tests need when it is missing: redis-server (real Redis in
# integration tests; its --sentinel mode runs the Sentinel tests' sentinels),
# redis-cli (package redis-tools: redis-cli --cluster create builds the test
# clusters), sipp (an independent SIP implementation, package sip-tester) and
# chromium (the status page's browser test drives it headless through
# chromedp). Needs root (or sudo) on a clean Debian machine; does nothing when
# all are already on PATH.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
