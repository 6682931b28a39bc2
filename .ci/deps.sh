#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing: redis-server,
# redis-sentinel, redis-tools, chromium, gcc (for -race). Uses sudo when not root.
# Does nothing when everything is present.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
# go test -race needs cgo, and cgo a C compiler (Go turns cgo off without one).
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# The real-browser test drives Debian's Chromium (set CHROMIUM to use another).
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: ${need[*]} missing and apt-get unavailable; install Redis 7 yourself" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "deps: installing ${need[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
# The packages' own service start is not needed: tests start their servers on free
# loopback ports.
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
